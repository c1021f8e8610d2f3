package cli

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/archy"
	"github.com/archflow/archflow/engine/yamldoc"
)

func newImportCmd(reg *engine.Registry) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Translate flows from other tools into archflow flows",
	}
	cmd.AddCommand(newImportArchyCmd(reg))
	return cmd
}

func newImportArchyCmd(reg *engine.Registry) *cobra.Command {
	var dirs, sets []string
	var options, out string
	cmd := &cobra.Command{
		Use:   "archy FILE",
		Short: "Translate a Genesys Cloud Architect workflow (Archy YAML) into an archflow flow",
		Long: `Translate an Architect workflow exported with Archy into an archflow flow that validate,
test and graph accept. callData actions are matched by name to the Genesys data action exports
(*.json) in the --data-actions directories; a data action with no export becomes an action whose
URL comes from the environment. Archy's {{name}} substitutions come from --set and --options.

Exit codes: 0 written; 2 something could not be translated (every place is listed).`,
		Example: `  archy export --flowName "Callback" --flowType workflow --exportType yaml --outputDir exports/
  archflow import archy exports/Callback_v2-0.yaml --data-actions exports/actions \
      --set division=Home -o flows/callback.yaml
  archflow validate flows/callback.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			src := archy.Sources{OptionsFile: options, Sets: sets, DataActionDirs: dirs}
			return importArchy(cmd.OutOrStdout(), cmd.ErrOrStderr(), reg, args[0], src, out)
		},
	}
	cmd.Flags().StringArrayVar(&dirs, "data-actions", nil, "directory of Genesys data action exports (*.json); repeatable")
	cmd.Flags().StringArrayVar(&sets, "set", nil, "Archy substitution NAME=VALUE for {{NAME}}; repeatable")
	cmd.Flags().StringVar(&options, "options", "", "Archy options file whose substitutions: fill {{NAME}}")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the flow here (default: standard output)")
	return cmd
}

// importArchy translates file, reports every problem, warning and note, checks that the result
// compiles, and writes it to out (standard output when empty).
func importArchy(stdout, stderr io.Writer, reg *engine.Registry, file string, src archy.Sources, out string) error {
	res, problems, err := archy.ImportFile(file, src)
	if err != nil {
		return exitWith(exitInvalid, "%v", err)
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(stderr, strings.Replace(p, ": ", ": error: ", 1))
		}
		fmt.Fprintf(stderr, "%d place(s) could not be translated; nothing written\n", len(problems))
		return &exitError{code: exitInvalid}
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(stderr, "%s:%d:%d: warning: %s\n", w.File, w.Line, w.Col, w.Msg)
	}
	for _, n := range res.Notes {
		fmt.Fprintf(stderr, "note: %s\n", n)
	}
	name := out
	if name == "" {
		name = "imported.yaml"
	}
	// the translation must be a valid flow: say so now rather than at the first run
	if _, err := reg.Load(name, res.YAML); err != nil {
		if l, ok := yamldoc.AsList(err); ok {
			for _, e := range l.Errors() {
				fmt.Fprintln(stderr, e.Error())
			}
		}
		if out != "" {
			_ = os.WriteFile(out, res.YAML, 0o666)
		}
		return exitWith(exitInvalid, "the translation of %s does not compile (a bug in import: please report it)", file)
	}
	if out == "" {
		_, err := stdout.Write(res.YAML)
		return err
	}
	if err := os.WriteFile(out, res.YAML, 0o666); err != nil {
		return exitWith(exitInvalid, "%v", err)
	}
	fmt.Fprintf(stderr, "wrote %s\n", out)
	return nil
}
