// Package cli is archflow's command line: cobra commands that parse flags and call packages
// engine and engine/tester. Two binaries run it: archflow, without the Temporal SDK, and
// archflow-temporal, with it (see durable.go).
package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/durable"
	"github.com/archflow/archflow/engine/yamldoc"
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

// newRootCmd builds the command tree; every command compiles flows with reg, and runs them on
// Temporal through dur.
func newRootCmd(reg *engine.Registry, dur *durableSeam) *cobra.Command {
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
	root.AddCommand(newRunCmd(reg, dur), newValidateCmd(reg), newTestCmd(reg, dur), newSchemaCmd(reg), newGraphCmd(reg), newInitCmd(), newImportCmd(reg), newReplayCmd(reg))
	root.AddCommand(newWorkerCmd(reg, dur), newCancelCmd(dur))
	completeFlagValues(root)
	return root
}

// Execute runs the command line args with the components of reg and returns the exit code. eng
// runs flows on Temporal; with none (the archflow binary), the commands that need Temporal hand
// the whole command line to the archflow-temporal binary.
func Execute(reg *engine.Registry, eng durable.Engine, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(reg, &durableSeam{engine: eng, args: args})
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
