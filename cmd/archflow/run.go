package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/archflow/archflow/engine"
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
}

func newRunCmd(reg *engine.Registry) *cobra.Command {
	var rf runFlags
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
	f.BoolVar(&rf.ignoreExtra, "ignore-extra-columns", false, "skip columns (or JSON keys) of --inputs that are not inputs of the flow")
	return cmd
}

func runFlow(cmd *cobra.Command, reg *engine.Registry, path string, rf *runFlags) error {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if rf.output != "text" && rf.output != "json" {
		return exitWith(exitInvalid, "--output must be text or json, not %q", rf.output)
	}
	if rf.clock != "real" && rf.clock != "virtual" {
		return exitWith(exitInvalid, "--clock must be real or virtual, not %q", rf.clock)
	}
	if rf.concurrency < 1 {
		return exitWith(exitInvalid, "--concurrency must be at least 1")
	}
	flow, err := reg.LoadFile(path)
	if err != nil {
		return err
	}
	var envFile map[string]string
	if rf.envFile != "" {
		if envFile, err = engine.ReadEnvFile(rf.envFile); err != nil {
			return yamldoc.ErrorList{asError(err)}
		}
	}
	lookup := engine.EnvChain(envFile)
	if errs := flow.CheckEnv(lookup); len(errs) > 0 {
		return errs
	}
	src, err := newInputSource(flow, rf)
	if err != nil {
		return err
	}
	total, err := src.check()
	if err != nil {
		return err
	}

	// one for every instance, its idle pool as large as the batch's concurrency: connections are
	// reused, not opened per request
	httpTransport := transport.NewHTTPTransport(transport.WithMaxIdlePerHost(rf.concurrency))
	opts := &engine.Options{Env: lookup, MaxSteps: rf.maxSteps, Transport: httpTransport, Stderr: engine.SyncWriter(stderr)}
	if rf.clock == "virtual" {
		opts.Clock = func() clock.Clock { return clock.NewVirtualClock(time.Now().UTC()) }
	}
	var newTransport func() transport.Transport
	if rf.mock != "" {
		if newTransport, err = mockTransports(rf.mock, flow, httpTransport); err != nil {
			if l, ok := yamldoc.AsList(err); ok {
				return l
			}
			return exitWith(exitInvalid, "%v", err)
		}
	}
	var tracers multiTracer
	var traceFile *os.File
	var jsonl *trace.JSONLTracer
	if rf.trace != "" {
		if traceFile, err = createPrivate(rf.trace); err != nil {
			return exitWith(exitInvalid, "%v", err)
		}
		defer traceFile.Close()
		jsonl = trace.NewJSONLTracer(traceFile)
		tracers = append(tracers, jsonl)
	}
	color := useColor(stdout)
	single := total == 1
	if single && rf.output == "text" {
		tracers = append(tracers, newTextTracer(stdout, color, reg))
	}
	if len(tracers) > 0 {
		opts.Tracer = tracers
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	code := runBatch(ctx, flow, src, total, opts, newTransport, rf, single, color, stdout, stderr)
	if jsonl != nil {
		if err := jsonl.Flush(); err != nil {
			fmt.Fprintf(stderr, "archflow: writing trace: %v\n", err)
		}
	}
	if code != exitOK {
		return &exitError{code: code}
	}
	return nil
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
