package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/archflow/archflow/engine"
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
	temporal    temporalFlags // --engine temporal (run_temporal.go)
}

func newRunCmd() *cobra.Command {
	var rf runFlags
	cmd := &cobra.Command{
		Use:   "run FLOW",
		Short: "Run a flow: one instance, or one per line of an inputs file",
		Long: `Run a flow against real APIs (or scripted responses with --mock).

Exit codes: 0 every instance ended success; 1 some ended otherwise (error included);
2 invalid flow or input, nothing run; 3 interrupted or internal error.`,
		Example: `  # one instance, waits taking no wall time
  archflow run flows/self-healing.yaml --input order_id=A-1 --input amount=42 --clock virtual

  # a batch of instances, 8 at a time, results as JSON Lines, a trace for replay
  archflow run flows/self-healing.yaml --inputs orders.jsonl --concurrency 8 --output json --trace trace.jsonl`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runFlow(cmd, args[0], &rf)
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
	addTemporalRunFlags(cmd, &rf.temporal)
	return cmd
}

// mockTransport builds a fresh scripted transport per instance from --mock; set by the
// scripted-HTTP package's command wiring.
var mockTransport func(path string, flow *engine.Flow) (func() engine.Transport, error)

func runFlow(cmd *cobra.Command, path string, rf *runFlags) error {
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
	if rf.temporal.engine != "local" {
		return runOnTemporal(cmd, path, rf)
	}
	flow, err := engine.LoadFile(path)
	if err != nil {
		return err
	}
	var envFile map[string]string
	if rf.envFile != "" {
		if envFile, err = engine.ReadEnvFile(rf.envFile); err != nil {
			return engine.ErrorList{asError(err)}
		}
	}
	lookup := engine.EnvChain(envFile)
	if errs := flow.CheckEnv(lookup); len(errs) > 0 {
		return errs
	}
	batch, err := readInputs(flow, rf)
	if err != nil {
		return err
	}

	opts := &engine.Options{Env: lookup, MaxSteps: rf.maxSteps}
	if rf.clock == "virtual" {
		opts.Clock = func() engine.Clock { return engine.NewVirtualClock(time.Now().UTC()) }
	}
	var newTransport func() engine.Transport
	if rf.mock != "" {
		if mockTransport == nil {
			return exitWith(exitInvalid, "--mock is not available in this build")
		}
		if newTransport, err = mockTransport(rf.mock, flow); err != nil {
			if l, ok := engine.AsList(err); ok {
				return l
			}
			return exitWith(exitInvalid, "%v", err)
		}
	}
	var tracers multiTracer
	var traceFile *os.File
	var jsonl *engine.JSONLTracer
	if rf.trace != "" {
		if traceFile, err = os.Create(rf.trace); err != nil {
			return exitWith(exitInvalid, "%v", err)
		}
		defer traceFile.Close()
		jsonl = engine.NewJSONLTracer(traceFile)
		tracers = append(tracers, jsonl)
	}
	color := useColor(stdout)
	single := len(batch) == 1
	if single && rf.output == "text" {
		tracers = append(tracers, newTextTracer(stdout, color))
	}
	if len(tracers) > 0 {
		opts.Tracer = tracers
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	results := make([]*engine.Result, len(batch))
	var progress *progressBar
	if !single && isTerminal(stderr) {
		progress = newProgressBar(stderr, len(batch))
	}
	var mu sync.Mutex
	printed := 0
	flush := func() { // print results in input order as they complete
		for printed < len(results) && results[printed] != nil {
			printResult(stdout, results[printed], rf.output, single, color)
			printed++
		}
	}
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(rf.concurrency, len(batch)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				o := *opts
				if newTransport != nil {
					o.Transport = newTransport()
				}
				r := flow.Run(ctx, batch[i], &o)
				mu.Lock()
				results[i] = r
				if progress != nil {
					progress.add(r.Outcome)
				}
				flush()
				mu.Unlock()
			}
		}()
	}
	for i := range batch {
		if ctx.Err() != nil {
			break
		}
		work <- i
	}
	close(work)
	wg.Wait()
	if progress != nil {
		progress.done()
	}
	for ; printed < len(results); printed++ { // after an interruption, the ones that did run
		if results[printed] != nil {
			printResult(stdout, results[printed], rf.output, single, color)
		}
	}
	if jsonl != nil {
		if err := jsonl.Flush(); err != nil {
			fmt.Fprintf(stderr, "archflow: writing trace: %v\n", err)
		}
	}
	code := exitOK
	notRun := 0
	for _, r := range results {
		switch {
		case r == nil:
			notRun++
			code = exitInternal
		case r.Outcome == engine.OutcomeInterrupted:
			code = exitInternal
		case r.Outcome != engine.OutcomeSuccess && code == exitOK:
			code = exitFailed
		}
	}
	if !single && rf.output == "text" {
		printBatchSummary(stdout, results, color)
	}
	if notRun > 0 {
		fmt.Fprintf(stderr, "archflow: interrupted: %d of %d instances not started\n", notRun, len(batch))
	}
	if code != exitOK {
		return &exitError{code: code}
	}
	return nil
}

func asError(err error) *engine.Error {
	if e, ok := err.(*engine.Error); ok {
		return e
	}
	return &engine.Error{Severity: engine.SevError, Msg: err.Error()}
}

// readInputs gathers the instances' inputs: --input alone, or one per line of --inputs with
// --input values as defaults. Every line is checked before anything runs.
func readInputs(flow *engine.Flow, rf *runFlags) ([]map[string]any, error) {
	base := map[string]any{}
	for _, kv := range rf.inputs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, exitWith(exitInvalid, "--input %q: expected name=value", kv)
		}
		base[k] = v
	}
	var raw []map[string]any
	if rf.inputsFile == "" {
		raw = []map[string]any{base}
	} else {
		lines, err := readInputsFile(rf.inputsFile)
		if err != nil {
			return nil, err
		}
		for _, l := range lines {
			m := map[string]any{}
			for k, v := range base {
				m[k] = v
			}
			for k, v := range l.values {
				m[k] = v
			}
			raw = append(raw, m)
		}
		if len(raw) == 0 {
			return nil, exitWith(exitInvalid, "%s: no inputs", rf.inputsFile)
		}
	}
	var out []map[string]any
	var errs engine.ErrorList
	for i, m := range raw {
		in, err := flow.Inputs(m)
		if err != nil && rf.inputsFile == "" {
			return nil, exitWith(exitInvalid, "%v (nothing was run)", err)
		}
		if err != nil {
			pos := engine.Pos{File: "--input"}
			if rf.inputsFile != "" {
				pos = engine.Pos{File: rf.inputsFile, Line: i + 1, Col: 1}
				if strings.HasSuffix(strings.ToLower(rf.inputsFile), ".csv") {
					pos.Line++ // the header is line 1
				}
			}
			errs = append(errs, &engine.Error{Pos: pos, Severity: engine.SevError, Msg: err.Error()})
			continue
		}
		out = append(out, in)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}

type inputLine struct{ values map[string]any }

func readInputsFile(path string) ([]inputLine, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, exitWith(exitInvalid, "%v", err)
	}
	defer fh.Close()
	var out []inputLine
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		r := csv.NewReader(fh)
		header, err := r.Read()
		if err != nil {
			return nil, engine.ErrorList{{Pos: engine.Pos{File: path, Line: 1, Col: 1}, Severity: engine.SevError, Msg: "expected a header row of input names"}}
		}
		for {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				line, _ := r.FieldPos(0)
				return nil, engine.ErrorList{{Pos: engine.Pos{File: path, Line: line, Col: 1}, Severity: engine.SevError, Msg: err.Error()}}
			}
			m := map[string]any{}
			for i, name := range header {
				if i < len(rec) && rec[i] != "" {
					m[strings.TrimSpace(name)] = rec[i]
				}
			}
			out = append(out, inputLine{values: m})
		}
	case ".jsonl", ".ndjson", ".json":
		dec := json.NewDecoder(fh)
		line := 0
		for {
			var m map[string]any
			line++
			if err := dec.Decode(&m); err == io.EOF {
				break
			} else if err != nil {
				return nil, engine.ErrorList{{Pos: engine.Pos{File: path, Line: line, Col: 1}, Severity: engine.SevError, Msg: "expected one JSON object per line: " + err.Error()}}
			}
			out = append(out, inputLine{values: m})
		}
	default:
		return nil, exitWith(exitInvalid, "--inputs %s: expected a .jsonl or .csv file", path)
	}
	return out, nil
}

type multiTracer []engine.Tracer

func (m multiTracer) Event(e *engine.Event) {
	for _, t := range m {
		t.Event(e)
	}
}
