package cli

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/durable"
	"github.com/archflow/archflow/engine/trace"
	"github.com/archflow/archflow/engine/yamldoc"
)

type workerFlags struct {
	temporal temporalFlags
	envFile  string
	stateDir string
	traceDir string
	record   string
	history  int
}

func newWorkerCmd(reg *engine.Registry, dur *durableSeam) *cobra.Command {
	var wf workerFlags
	cmd := &cobra.Command{
		Use:   "worker PATH...",
		Short: "Serve the flows under PATH to Temporal until SIGINT/SIGTERM",
		Long: `Run a Temporal worker for the flows under PATH (files and directories): it registers
the generic workflow archflow and its activities on the task queue. Requests are rendered and
env(), secret() and auth resolved here, from this worker's environment and --env-file; nothing
secret enters Temporal. With --record DIR, each attempt and delivery writes what it exchanged,
redacted on this worker, under DIR; the worker that ends an instance joins them into
DIR/<instance id>.cassette.yaml (archflow replay FILE --flow FLOW). Several workers may record into
one shared DIR, and all workers of a queue should: a step made by a worker without --record is
missing from the cassette. A worker runs only the flows it serves: the current version of each file,
and the earlier versions it has loaded, kept in --state-dir.

Exit codes: 0 after a clean stop; 2 an invalid flow; 3 the server cannot be reached.`,
		Example: `  temporal server start-dev --headless --ip 127.0.0.1 &
  archflow worker flows/ --env-file prod.env
  archflow run flows/self-healing.yaml --engine temporal --input order_id=A-1`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runWorker(cmd, reg, dur, args, &wf)
		},
	}
	addConnectFlags(cmd, &wf.temporal, true)
	f := cmd.Flags()
	f.StringVar(&wf.envFile, "env-file", "", "read env() and secret() values from a KEY=VALUE file")
	f.StringVar(&wf.stateDir, "state-dir", defaultStateDir(), "keep the flow versions this worker has loaded in DIR")
	f.StringVar(&wf.traceDir, "trace", "", "write a JSON Lines trace of what this worker runs to DIR/worker-<pid>.jsonl")
	f.StringVar(&wf.record, "record", "", "record each instance that ends on this worker as DIR/<instance id>.cassette.yaml (redacted; give every worker of the queue the same DIR)")
	f.IntVar(&wf.history, "history-limit", durable.DefaultHistoryLimit, "history events after which an instance continues as new")
	return cmd
}

func defaultStateDir() string {
	if d, err := os.UserHomeDir(); err == nil {
		return filepath.Join(d, ".local", "state", "archflow", "worker")
	}
	return ".archflow-worker"
}

func runWorker(cmd *cobra.Command, components *engine.Registry, dur *durableSeam, paths []string, wf *workerFlags) error {
	stderr := cmd.ErrOrStderr()
	// from the start, so that a stop while the worker starts up is a clean stop too
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(stop)
	eng, err := dur.get()
	if err != nil {
		return err
	}
	w := durable.Worker{Components: components, Paths: paths, StateDir: wf.stateDir, HistoryLimit: wf.history,
		Record: wf.record, Stderr: stderr}
	var envFile map[string]string
	if wf.envFile != "" {
		if envFile, err = engine.ReadEnvFile(wf.envFile); err != nil {
			return yamldoc.ErrorList{asError(err)}
		}
	}
	w.Env = engine.EnvChain(envFile)
	if wf.history < 100 {
		return exitWith(exitInvalid, "--history-limit must be at least 100")
	}
	if wf.traceDir != "" {
		if err := os.MkdirAll(wf.traceDir, 0o700); err != nil {
			return exitWith(exitInvalid, "--trace: %v", err)
		}
		fh, err := os.OpenFile(filepath.Join(wf.traceDir, fmt.Sprintf("worker-%d.jsonl", os.Getpid())), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return exitWith(exitInvalid, "--trace: %v", err)
		}
		defer fh.Close()
		jl := trace.NewJSONLTracer(fh)
		// written through at once: a worker may be killed at any time
		w.Tracer = trace.TraceFunc(func(e *trace.Event) { jl.Event(e); jl.Flush() })
	}
	if wf.record != "" {
		if err := os.MkdirAll(wf.record, 0o700); err != nil {
			return exitWith(exitInvalid, "--record: %v", err)
		}
		fmt.Fprintf(stderr, "archflow worker: recording instances that end here into %s\n", wf.record)
	}
	interrupt := make(chan any)
	go func() { <-stop; close(interrupt) }()
	err = eng.Serve(wf.temporal.server(), w, interrupt)
	var invalid *durable.Invalid
	switch {
	case err == nil:
	case errors.As(err, &invalid):
		return exitWith(exitInvalid, "%v", invalid.Err)
	default:
		if err, ok := unreachable(err); ok {
			return err
		}
		if l, ok := yamldoc.AsList(err); ok {
			return l
		}
		return exitWith(exitInternal, "%v", err)
	}
	fmt.Fprintln(stderr, "archflow worker: stopped")
	return nil
}
