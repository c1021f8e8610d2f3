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
	root := newBareRoot()
	for _, c := range commands {
		root.AddCommand(c.build(reg, dur))
	}
	completeFlagValues(root)
	return root
}

// newBareRoot is the root command without its subcommands.
func newBareRoot() *cobra.Command {
	return &cobra.Command{
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
}

type subcommand struct {
	name  string
	build func(*engine.Registry, *durableSeam) *cobra.Command
}

// commands are the subcommands, by the name a command line gives first.
var commands = []subcommand{
	{"run", newRunCmd},
	{"validate", func(reg *engine.Registry, _ *durableSeam) *cobra.Command { return newValidateCmd(reg) }},
	{"test", newTestCmd},
	{"schema", func(reg *engine.Registry, _ *durableSeam) *cobra.Command { return newSchemaCmd(reg) }},
	{"graph", func(reg *engine.Registry, _ *durableSeam) *cobra.Command { return newGraphCmd(reg) }},
	{"init", func(*engine.Registry, *durableSeam) *cobra.Command { return newInitCmd() }},
	{"import", func(reg *engine.Registry, _ *durableSeam) *cobra.Command { return newImportCmd(reg) }},
	{"replay", func(reg *engine.Registry, _ *durableSeam) *cobra.Command { return newReplayCmd(reg) }},
	{"worker", newWorkerCmd},
	{"cancel", func(_ *engine.Registry, dur *durableSeam) *cobra.Command { return newCancelCmd(dur) }},
}

// newCommandLine builds what args need: for a command line that names a subcommand first
// (`archflow validate x.yaml`), the root with that subcommand only. Building the whole tree,
// with cobra's completion command and the flag-value completions, was a tenth of what a
// `validate` spends in main. Help, completion and anything else get the whole tree.
func newCommandLine(reg *engine.Registry, dur *durableSeam, args []string) *cobra.Command {
	if len(args) > 0 {
		for _, c := range commands {
			if c.name == args[0] {
				root := newBareRoot()
				root.AddCommand(c.build(reg, dur))
				root.CompletionOptions.DisableDefaultCmd = true
				return root
			}
		}
	}
	return newRootCmd(reg, dur)
}

// Execute runs the command line args with the components of reg and returns the exit code. eng
// runs flows on Temporal; with none (the archflow binary), the commands that need Temporal hand
// the whole command line to the archflow-temporal binary.
func Execute(reg *engine.Registry, eng durable.Engine, args []string, stdout, stderr io.Writer) int {
	return runCommand(newCommandLine(reg, &durableSeam{engine: eng, args: args}, args), args, stdout, stderr)
}

// runCommand runs args on root and returns the exit code.
func runCommand(root *cobra.Command, args []string, stdout, stderr io.Writer) int {
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
