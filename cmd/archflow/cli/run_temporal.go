package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/batch"
	"github.com/archflow/archflow/engine/durable"
	"github.com/archflow/archflow/engine/yamldoc"
)

// temporalFlags are the flags of run --engine temporal, and of worker and cancel.
type temporalFlags struct {
	engine    string
	address   string
	namespace string
	taskQueue string
	idFrom    string
	detach    bool
	dur       *durableSeam // the engine, or the hand-off to the companion binary
}

func addConnectFlags(cmd *cobra.Command, tf *temporalFlags, queue bool) {
	f := cmd.Flags()
	f.StringVar(&tf.address, "temporal", "", "Temporal server address (default $TEMPORAL_ADDRESS, else "+durable.DefaultAddress+")")
	f.StringVar(&tf.namespace, "namespace", durable.DefaultNamespace, "Temporal namespace")
	if queue {
		f.StringVar(&tf.taskQueue, "task-queue", durable.DefaultTaskQueue, "Temporal task queue")
	}
}

func addTemporalRunFlags(cmd *cobra.Command, tf *temporalFlags) {
	f := cmd.Flags()
	f.StringVar(&tf.engine, "engine", "local", "local (in this process) or temporal (durable, on a Temporal server's workers)")
	addConnectFlags(cmd, tf, true)
	f.StringVar(&tf.idFrom, "id-from", "", "with --engine temporal: the workflow id is <flow>/<value of VAR>, so a run again attaches")
	f.BoolVar(&tf.detach, "detach", false, "with --engine temporal: start the instances and return without waiting")
}

// whereItBelongs says, for each run flag that means nothing with --engine temporal, where it goes.
var whereItBelongs = map[string]string{
	"clock":    "waits on Temporal are durable timers; virtual time is `archflow test --engine temporal`",
	"mock":     "scripted HTTP on Temporal is `archflow test --engine temporal`",
	"trace":    "requests are made by the workers: use `archflow worker --trace DIR`",
	"record":   "requests are made by the workers: use `archflow worker --record DIR`",
	"env-file": "env() and secret() are read by the workers: use `archflow worker --env-file FILE`",
}

// server is where tf says Temporal is.
func (tf *temporalFlags) server() durable.Server {
	return durable.Server{Address: tf.address, Namespace: tf.namespace, TaskQueue: tf.taskQueue}
}

// unreachable turns the error of a server that cannot be dialled into exit code 3.
func unreachable(err error) (error, bool) {
	var u *durable.Unreachable
	if errors.As(err, &u) {
		return exitWith(exitInternal, "%v", u), true
	}
	return err, false
}

func runOnTemporal(cmd *cobra.Command, reg *engine.Registry, path string, rf *runFlags) error {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	tf := &rf.temporal
	if tf.engine != "temporal" {
		return exitWith(exitInvalid, "--engine must be local or temporal, not %q", tf.engine)
	}
	// before anything is read: without the engine linked in, the companion reads it all
	eng, err := tf.dur.get()
	if err != nil {
		return err
	}
	for _, name := range []string{"clock", "mock", "trace", "record", "env-file"} {
		if fl := cmd.Flags().Lookup(name); fl != nil && fl.Changed {
			return exitWith(exitInvalid, "--%s cannot be used with --engine temporal: %s", name, whereItBelongs[name])
		}
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return exitWith(exitInvalid, "%s: %v", path, err)
	}
	flow, err := reg.Load(path, src)
	if err != nil {
		return err
	}
	batch, err := collectInputs(flow, rf)
	if err != nil {
		return err
	}
	keys, err := workflowKeys(flow, batch, rf)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	p := newPrinter(stdout, stderr, rf.output, len(batch))
	notStarted, startErr := eng.RunBatch(ctx, tf.server(), durable.Batch{Flow: flow, Source: src, MaxSteps: rf.maxSteps,
		Inputs: batch, Concurrency: rf.concurrency, Keys: keys, Detach: tf.detach}, p.report)
	if err, ok := unreachable(startErr); ok {
		return err
	}
	code := p.finish(len(batch), nil, "")
	switch {
	case tf.detach: // every instance reads running: that is the point
		code = exitOK
	case p.counts["running"] > 0:
		code = exitInternal // Ctrl-C while waiting: the instances go on (SPEC §10)
	}
	if startErr != nil {
		fmt.Fprintf(stderr, "archflow: starting on Temporal: %v\n", startErr)
	}
	if notStarted > 0 {
		code = exitInternal
		fmt.Fprintf(stderr, "archflow: %d of %d instances not started\n", notStarted, len(batch))
	}
	if code != exitOK {
		return &exitError{code: code}
	}
	return nil
}

// workflowKeys gives each instance its --id-from key ("" without the flag); an empty or
// duplicate key within the batch is invalid input.
func workflowKeys(flow *engine.Flow, batch []map[string]any, rf *runFlags) ([]string, error) {
	keys := make([]string, len(batch))
	name := rf.temporal.idFrom
	if name == "" {
		return keys, nil
	}
	if flow.Var(name) == nil {
		return nil, exitWith(exitInvalid, "--id-from %s: the flow declares no variable %s", name, name)
	}
	seen := map[string]int{}
	var errs yamldoc.ErrorList
	for i, in := range batch {
		pos := yamldoc.Pos{File: "--input"}
		if rf.inputsFile != "" {
			pos = yamldoc.Pos{File: rf.inputsFile, Line: i + 1, Col: 1}
			if strings.HasSuffix(strings.ToLower(rf.inputsFile), ".csv") {
				pos.Line++
			}
		}
		v := in[name]
		k := ""
		if v != nil {
			k = engine.ToString(v)
		}
		switch {
		case k == "":
			errs = append(errs, &yamldoc.Error{Pos: pos, Severity: yamldoc.SevError, Msg: fmt.Sprintf("--id-from %s: the value is empty", name)})
		case seen[k] > 0:
			errs = append(errs, &yamldoc.Error{Pos: pos, Severity: yamldoc.SevError, Msg: fmt.Sprintf("--id-from %s: %q is also the key of line %d", name, k, seen[k])})
		default:
			seen[k] = max(pos.Line, 1)
		}
		keys[i] = k
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return keys, nil
}

// collectInputs reads every input of the run (Temporal starts them all before waiting).
func collectInputs(flow *engine.Flow, rf *runFlags) ([]map[string]any, error) {
	in, err := batch.NewInputs(flow, rf.inputs, rf.inputsFile, rf.ignoreExtra)
	if err != nil {
		return nil, err
	}
	if _, err := in.Check(); err != nil {
		return nil, err
	}
	var out []map[string]any
	err = in.Each(func(_ int, inputs map[string]any, err error) error {
		out = append(out, inputs)
		return err
	})
	return out, err
}
