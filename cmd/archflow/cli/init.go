package cli

import (
	"embed"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/spf13/cobra"
)

// starter holds the files `archflow init` writes. A test runs validate and test on them as
// written, so the starter can never be a broken example.
//
//go:embed starter/flow.yaml starter/flow.test.yaml starter/flow.mock.yaml
var starter embed.FS

var starterFiles = []string{"flow.yaml", "flow.test.yaml", "flow.mock.yaml"}

func newInitCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "init [DIR]",
		Short: "Write a starter flow, its test file and a mock into DIR (default: the current directory)",
		Long: `Write flow.yaml (a data action with retries and a dead-letter channel), flow.test.yaml
(its test cases, 100% coverage) and flow.mock.yaml (scripted answers for run --mock) into DIR,
created if needed. The flow is named after DIR. Nothing is overwritten.

Exit codes: 0 written; 2 a file already exists (nothing written).`,
		Example: `  archflow init orders && cd orders
  archflow validate . && archflow test . --coverage
  archflow run flow.yaml --input record_id=R-1 --mock flow.mock.yaml --clock virtual`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			return writeStarter(cmd, dir)
		},
	}
}

var notNameChar = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[^A-Za-z0-9_-]+`) })

// starterName is the flow name for DIR: its base name, with what a flow name cannot hold dropped.
func starterName(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "starter"
	}
	name := strings.Trim(notNameChar().ReplaceAllString(filepath.Base(abs), "-"), "-")
	if name == "" {
		return "starter"
	}
	return name
}

func writeStarter(cmd *cobra.Command, dir string) error {
	var exists []string
	for _, f := range starterFiles {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			exists = append(exists, filepath.Join(dir, f))
		}
	}
	if len(exists) > 0 {
		return exitWith(exitInvalid, "init: %s already exist(s); nothing was written (choose another directory)", strings.Join(exists, ", "))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return exitWith(exitInvalid, "init: %v", err)
	}
	name := starterName(dir)
	for _, f := range starterFiles {
		data, err := starter.ReadFile("starter/" + f)
		if err != nil {
			return exitWith(exitInternal, "init: %v", err)
		}
		text := strings.ReplaceAll(string(data), "FLOWNAME", name)
		if err := os.WriteFile(filepath.Join(dir, f), []byte(text), 0o644); err != nil {
			return exitWith(exitInvalid, "init: %v", err)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", filepath.Join(dir, f))
	}
	fmt.Fprintf(cmd.OutOrStdout(), "next: archflow test %s --coverage\n", dir)
	return nil
}
