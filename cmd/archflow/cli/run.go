package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/batch"
	"github.com/archflow/archflow/engine/clock"
	"github.com/archflow/archflow/engine/trace"
	"github.com/archflow/archflow/engine/transport"
	"github.com/archflow/archflow/engine/yamldoc"
)

type runFlags struct {
	inputs      []string
	inputsFile  string
	concurrency int
	clock       string
	trace       string
	envFile     string
	maxSteps    int
	output      string
	mock        string
	ignoreExtra bool
	temporal    temporalFlags // --engine temporal (run_temporal.go)
	record      string
}

func newRunCmd(reg *engine.Registry, dur *durableSeam) *cobra.Command {
	rf := runFlags{temporal: temporalFlags{dur: dur}}
	cmd := &cobra.Command{
		Use:   "run FLOW",
		Short: "Run a flow: one instance, or one per line of an inputs file",
		Long: `Run a flow against real APIs (or scripted responses with --mock).

Exit codes: 0 every instance ended success; 1 some ended otherwise (error included);
2 invalid flow or input, nothing run; 3 interrupted or internal error.`,
		Example: `  # one instance against the scripted ERP of the example, waits taking no wall time
  archflow run flows/self-healing.yaml --input order_id=A-1 --input amount=42 --mock flows/self-healing.mock.yaml --clock virtual

  # a batch of instances, 8 at a time, results as JSON Lines, a trace for graph --trace
  archflow run flows/self-healing.yaml --inputs orders.jsonl --concurrency 8 --output json --trace trace.jsonl --mock flows/self-healing.mock.yaml --clock virtual

  # record the instance (its requests, responses, uuids and notifications, secrets redacted) to replay it later
  archflow run flows/self-healing.yaml --input order_id=A-1 --mock flows/self-healing.mock.yaml --clock virtual --record order.cassette.yaml

  # against the real API: drop --mock and say where it is
  ERP_URL=https://erp.example.com archflow run flows/self-healing.yaml --input order_id=A-1`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runFlow(cmd, reg, args[0], &rf)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&rf.inputs, "input", nil, "an input as name=value (repeatable)")
	f.StringVar(&rf.inputsFile, "inputs", "", "run one instance per line of a .jsonl or .csv file")
	f.IntVar(&rf.concurrency, "concurrency", 4, "instances run at once in a batch")
	f.StringVar(&rf.clock, "clock", "real", "real or virtual (waits complete at once)")
	f.StringVar(&rf.trace, "trace", "", "write a JSON Lines trace of every step to FILE")
	f.StringVar(&rf.envFile, "env-file", "", "read env() and secret() values from a KEY=VALUE file")
	f.IntVar(&rf.maxSteps, "max-steps", engine.DefaultMaxSteps, "node executions allowed per instance")
	f.StringVar(&rf.output, "output", "text", "text or json (one result per line)")
	f.StringVar(&rf.mock, "mock", "", "answer HTTP from scripted responses in FILE (as a test case's http:)")
	f.StringVar(&rf.record, "record", "", "write a cassette per instance: a FILE for one instance, a DIR (<instance id>.cassette.yaml) for a batch")
	f.BoolVar(&rf.ignoreExtra, "ignore-extra-columns", false, "skip columns (or JSON keys) of --inputs that are not inputs of the flow")
	addTemporalRunFlags(cmd, &rf.temporal)
	return cmd
}

func runFlow(cmd *cobra.Command, reg *engine.Registry, path string, rf *runFlags) error {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if err := rf.check(); err != nil {
		return err
	}
	if rf.temporal.engine != "local" {
		return runOnTemporal(cmd, reg, path, rf)
	}
	flow, err := reg.LoadFile(path)
	if err != nil {
		return err
	}
	lookup, err := envLookup(flow, rf.envFile)
	if err != nil {
		return err
	}
	inputs, err := batch.NewInputs(flow, rf.inputs, rf.inputsFile, rf.ignoreExtra)
	if err != nil {
		return err
	}
	total, err := inputs.Check()
	if err != nil {
		return err
	}
	bo, closeTrace, err := rf.batchOptions(flow, reg, lookup, total, stdout, stderr)
	if err != nil {
		return err
	}
	perInstance, recordFailures, err := recordHook(rf.record, rf.inputsFile == "", bo.Instance.Tracer != nil, stderr)
	if err != nil {
		return err
	}
	bo.PerInstance = perInstance
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	p := newPrinter(stdout, stderr, rf.output, total)
	bo.Report, bo.Encode = p.reportLine, p.encode
	defer batchGC(total)()
	err = batch.Run(ctx, flow, inputs, total, bo)
	if cerr := closeTrace(); cerr != nil {
		fmt.Fprintf(stderr, "archflow: writing trace: %v\n", cerr)
	}
	code := p.finish(total, err, rf.inputsFile)
	if code == exitOK && recordFailures != nil && recordFailures() > 0 {
		code = exitInternal // a cassette that could not be written is run data lost
	}
	if code != exitOK {
		return &exitError{code: code}
	}
	return nil
}

func (rf *runFlags) check() error {
	if rf.output != "text" && rf.output != "json" {
		return exitWith(exitInvalid, "--output must be text or json, not %q", rf.output)
	}
	if rf.clock != "real" && rf.clock != "virtual" {
		return exitWith(exitInvalid, "--clock must be real or virtual, not %q", rf.clock)
	}
	if rf.concurrency < 1 {
		return exitWith(exitInvalid, "--concurrency must be at least 1")
	}
	return nil
}

// envLookup reads --env-file and checks that the flow's literal env()/secret() names are set.
func envLookup(flow *engine.Flow, envFile string) (func(string) (string, bool), error) {
	var vals map[string]string
	if envFile != "" {
		var err error
		if vals, err = engine.ReadEnvFile(envFile); err != nil {
			return nil, yamldoc.ErrorList{asError(err)}
		}
	}
	lookup := engine.EnvChain(vals)
	if errs := flow.CheckEnv(lookup); len(errs) > 0 {
		return nil, errs
	}
	return lookup, nil
}

// batchOptions turns the flags into the seams of the run: one real transport shared by every
// instance (connections are reused), the clock, --mock's transports, the tracers. closeTrace
// flushes and closes the --trace file.
func (rf *runFlags) batchOptions(flow *engine.Flow, reg *engine.Registry, lookup func(string) (string, bool), total int,
	stdout, stderr io.Writer) (bo batch.Options, closeTrace func() error, err error) {
	// one for every instance, its idle pool as large as the batch's concurrency: connections are
	// reused, not opened per request
	httpTransport := transport.NewHTTPTransport(transport.WithMaxIdlePerHost(rf.concurrency))
	bo = batch.Options{Concurrency: rf.concurrency, Instance: engine.Options{Env: lookup, MaxSteps: rf.maxSteps,
		Transport: httpTransport, Stderr: engine.SyncWriter(stderr)}}
	if rf.clock == "virtual" {
		bo.Instance.Clock = func() clock.Clock { return clock.NewVirtualClock(time.Now().UTC()) }
	}
	if rf.mock != "" {
		if bo.Transport, err = mockTransports(rf.mock, flow, httpTransport); err != nil {
			if l, ok := yamldoc.AsList(err); ok {
				return bo, nil, l
			}
			return bo, nil, exitWith(exitInvalid, "%v", err)
		}
	}
	closeTrace = func() error { return nil }
	var tracers multiTracer
	if rf.trace != "" {
		traceFile, err := createPrivate(rf.trace)
		if err != nil {
			return bo, nil, exitWith(exitInvalid, "%v", err)
		}
		jsonl := trace.NewJSONLTracer(traceFile)
		tracers = append(tracers, jsonl)
		closeTrace = func() error { return errors.Join(jsonl.Flush(), traceFile.Close()) }
	}
	if total == 1 && rf.output == "text" {
		tracers = append(tracers, newTextTracer(stdout, useColor(stdout), reg))
	}
	if len(tracers) > 0 {
		bo.Instance.Tracer = tracers
	}
	return bo, closeTrace, nil
}

func asError(err error) *yamldoc.Error {
	if e, ok := err.(*yamldoc.Error); ok {
		return e
	}
	return &yamldoc.Error{Severity: yamldoc.SevError, Msg: err.Error()}
}

type multiTracer []trace.Tracer

func (m multiTracer) Event(e *trace.Event) {
	for _, t := range m {
		t.Event(e)
	}
}
