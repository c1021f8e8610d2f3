// Command archflow runs, validates and tests Architect-style YAML flows. The commands are thin:
// they parse flags and call packages engine and engine/tester.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/yamldoc"
	"github.com/archflow/archflow/nodes"
)

// Exit codes of SPEC §8.
const (
	exitOK       = 0
	exitFailed   = 1
	exitInvalid  = 2
	exitInternal = 3
)

// exitError carries an exit code; its message (if any) has already been printed.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func exitWith(code int, format string, args ...any) error {
	return &exitError{code: code, msg: fmt.Sprintf(format, args...)}
}

// newRootCmd builds the command tree; every command compiles flows with reg.
func newRootCmd(reg *engine.Registry) *cobra.Command {
	root := &cobra.Command{
		Use:   "archflow",
		Short: "Run, validate and test Architect-style YAML flows",
		Long: `archflow runs declarative YAML flows the way Genesys Cloud Architect runs its flows:
nodes joined by edges, typed instance variables, decisions in expr. Its main job is
self-healing integrations: call an HTTP data action, retry transient failures with
backoff that honours Retry-After, and escalate permanent ones with a correlation id.`,
		Example: `  archflow init my-flow          # a starter flow, its test file and a mock
  archflow run flows/self-healing.yaml --input order_id=A-1 --mock flows/self-healing.mock.yaml --clock virtual
  archflow validate flows/
  archflow test flows/`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newRunCmd(reg), newValidateCmd(reg), newTestCmd(reg), newSchemaCmd(reg), newGraphCmd(reg), newInitCmd(), newImportCmd(reg), newReplayCmd(reg))
	root.AddCommand(newWorkerCmd(reg), newCancelCmd())
	completeFlagValues(root)
	return root
}

func main() {
	os.Exit(execute(nodes.Builtins(), os.Args[1:], os.Stdout, os.Stderr))
}

// execute runs the command line with the components of reg and returns the exit code.
func execute(reg *engine.Registry, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(reg)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(stderr, "archflow: "+ee.msg)
		}
		return ee.code
	}
	if l, ok := yamldoc.AsList(err); ok {
		for _, e := range l {
			fmt.Fprintln(stderr, e.Error())
		}
		return exitInvalid
	}
	// cobra's own errors: unknown flags, wrong argument counts
	fmt.Fprintln(stderr, "archflow: "+err.Error())
	return exitInvalid
}
