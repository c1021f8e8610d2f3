package cli

import (
	"github.com/spf13/cobra"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/schema"
)

func newSchemaCmd(reg *engine.Registry) *cobra.Command {
	return &cobra.Command{
		Use:   "schema [flow|test]",
		Short: "Print the JSON Schema of flow files (default) or test files",
		Long: `Print the JSON Schema (draft 2020-12) of flow files, or of *.test.yaml files with
"test". Editors that speak the YAML language server use it for completion, hover help
and errors as you type.

Exit codes: 0 printed; 2 an unknown schema name.`,
		Example: `  archflow schema > flow.schema.json
  archflow schema test > test.schema.json

  # then, on the first line of a flow file:
  # yaml-language-server: $schema=flow.schema.json`,
		Args:      cobra.MaximumNArgs(1),
		ValidArgs: schema.Kinds,
		RunE: func(cmd *cobra.Command, args []string) error {
			kind := schema.KindFlow
			if len(args) == 1 {
				kind = args[0]
			}
			data, err := schema.Get(reg, kind)
			if err != nil {
				return exitWith(exitInvalid, "%v", err)
			}
			_, err = cmd.OutOrStdout().Write(data)
			return err
		},
	}
}
