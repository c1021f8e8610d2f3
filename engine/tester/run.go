package tester

import (
	"context"
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/cassette"
	"github.com/archflow/archflow/engine/clock"
	"github.com/archflow/archflow/engine/scripted"
	"github.com/archflow/archflow/engine/trace"
	"github.com/archflow/archflow/engine/transport"
	"github.com/archflow/archflow/engine/yamldoc"
)

// Options select and shape a test run.
type Options struct {
	Run      *regexp.Regexp // run only cases whose name matches
	Tags     []string       // run only cases with one of these tags (none: all)
	Parallel int            // cases run at once; 0 means GOMAXPROCS
	Update   bool           // rewrite golden trace files instead of comparing
	Coverage bool           // collect node, edge, decision-case and outcome coverage
	// Passthrough sends requests of passthrough: true cases here; nil gives real HTTP.
	Passthrough transport.Transport
	// Runner runs one instance; nil runs it in this process (engine.Flow.Run). The Temporal
	// engine's test environment (engine/temporal.TestRun) is the other.
	Runner func(ctx context.Context, f *engine.Flow, inputs map[string]any, o *engine.Options) *engine.Result
}

// Status of a case.
type Status string

const (
	Pass  Status = "pass"
	Fail  Status = "fail"
	Error Status = "error" // the case could not run as written (an env name missing ...)
	Skip  Status = "skip"
)

// Failure is one unmet expectation (or script problem), at the line that states it.
type Failure struct {
	Pos yamldoc.Pos
	Key string // the expectation key, "http" or "snapshot"
	Msg string
}

// String reads "file:line: key: message".
func (f Failure) String() string {
	s := f.Msg
	if f.Key != "" {
		s = f.Key + ": " + s
	}
	if f.Pos.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", f.Pos.File, f.Pos.Line, s)
	}
	if f.Pos.File != "" {
		return f.Pos.File + ": " + s
	}
	return s
}

// CaseResult is what one case did and which expectations it missed.
type CaseResult struct {
	Case     *Case
	Status   Status
	Failures []Failure
	Result   *engine.Result
	Wall     time.Duration
	Virtual  time.Duration
	trace    []*trace.Event
	coverage *caseCoverage
}

// FileResult is a test file's cases, or the errors that kept it from running.
type FileResult struct {
	Path    string
	File    *File // nil when invalid
	Invalid yamldoc.ErrorList
	Cases   []*CaseResult
	Wall    time.Duration
}

// Report is a whole run.
type Report struct {
	Files    []*FileResult
	Coverage []*Coverage
	Wall     time.Duration
	Started  time.Time
}

// Counts of a report.
type Counts struct {
	Passed, Failed, Errors, Skipped, Invalid int
	Virtual                                  time.Duration
}

// Counts sums up the report.
func (r *Report) Counts() Counts {
	var c Counts
	for _, f := range r.Files {
		if f.Invalid != nil {
			c.Invalid++
		}
		for _, cr := range f.Cases {
			switch cr.Status {
			case Pass:
				c.Passed++
			case Fail:
				c.Failed++
			case Error:
				c.Errors++
			case Skip:
				c.Skipped++
			}
			c.Virtual += cr.Virtual
		}
	}
	return c
}

// selected reports whether opts let c run.
func (o *Options) selected(c *Case) bool {
	if o.Run != nil && !o.Run.MatchString(c.Name) {
		return false
	}
	if len(o.Tags) == 0 {
		return true
	}
	for _, t := range o.Tags {
		if slices.Contains(c.Tags, t) {
			return true
		}
	}
	return false
}

// RunPaths discovers, loads and runs the test files under paths.
func RunPaths(ctx context.Context, reg *engine.Registry, paths []string, opts *Options) *Report {
	started := time.Now()
	files, errs := Discover(paths)
	var results []*FileResult
	for _, e := range errs {
		results = append(results, &FileResult{Path: e.Pos.File, Invalid: yamldoc.ErrorList{e}})
	}
	l := NewLoader(reg)
	for _, p := range files {
		f, errs := l.Load(p)
		if f == nil {
			results = append(results, &FileResult{Path: p, Invalid: errs})
			continue
		}
		results = append(results, &FileResult{Path: p, File: f})
	}
	r := Run(ctx, results, opts)
	r.Started = started
	r.Wall = time.Since(started)
	return r
}

// Run runs the cases of the valid files, Parallel at a time, and fills in their results.
func Run(ctx context.Context, files []*FileResult, opts *Options) *Report {
	if opts == nil {
		opts = &Options{}
	}
	started := time.Now()
	type job struct {
		file *FileResult
		idx  int
	}
	var jobs []job
	for _, fr := range files {
		if fr.File == nil {
			continue
		}
		for _, c := range fr.File.Cases {
			if opts.selected(c) {
				fr.Cases = append(fr.Cases, &CaseResult{Case: c})
				jobs = append(jobs, job{fr, len(fr.Cases) - 1})
			}
		}
	}
	workers := opts.Parallel
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, max(len(jobs), 1))
	next := make(chan job)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				cr := j.file.Cases[j.idx]
				runCase(ctx, cr, opts)
			}
		}()
	}
	for _, j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
	for _, fr := range files {
		for _, cr := range fr.Cases {
			fr.Wall += cr.Wall
		}
	}
	rep := &Report{Files: files, Started: started}
	if opts.Coverage {
		rep.Coverage = coverage(files)
	}
	rep.Wall = time.Since(started)
	return rep
}

// uuids makes the deterministic ids of a case: instance.id is the first, uuid() calls follow.
func uuids() func() string {
	n := 0
	return func() string {
		n++
		return fmt.Sprintf("00000000-0000-4000-8000-%012d", n)
	}
}

func runCase(ctx context.Context, cr *CaseResult, opts *Options) {
	c := cr.Case
	f := c.File
	start := time.Now()
	defer func() { cr.Wall = time.Since(start) }()
	if c.Skip != "" {
		cr.Status = Skip
		return
	}
	lookup := engine.EnvChain(c.Env, f.Env)
	if c.Cassette != nil { // a committed cassette replays with no credentials (SPEC §7)
		lookup = cassette.PlaceholderEnv(f.Flow, lookup)
	}
	if errs := f.Flow.CheckEnv(lookup); len(errs) > 0 {
		cr.Status = Error
		for _, e := range errs {
			msg, _, _ := strings.Cut(e.Msg, " (set it")
			cr.Failures = append(cr.Failures, Failure{Pos: c.Pos, Key: "env", Msg: fmt.Sprintf("%s: %s; give it under the case's or the file's env:", e.Pos, msg)})
		}
		return
	}
	tr := scripted.NewTransport(c.Script)
	if c.Passthrough {
		tr.Passthrough = opts.Passthrough
		if tr.Passthrough == nil {
			tr.Passthrough = transport.NewHTTPTransport()
		}
	}
	clockStart := c.Start
	o := &engine.Options{
		Clock:     func() clock.Clock { return clock.NewVirtualClock(clockStart) },
		Transport: tr,
		Env:       lookup,
		Channels:  engine.Capture{},
		UUID:      uuids(),
		Seed:      1,
	}
	var player *cassette.Player
	if c.Cassette != nil {
		player = cassette.NewPlayer(c.Cassette, cassette.Match{Body: c.MatchBody})
		if c.Cassette.Seed != 0 {
			o.Seed = c.Cassette.Seed
		}
		o = player.Options(f.Flow, o)
	}
	var cov *caseCoverage
	if opts.Coverage {
		cov = &caseCoverage{outcomes: map[string]bool{}}
	}
	if c.Snapshot || cov != nil {
		o.Tracer = trace.TraceFunc(func(e *trace.Event) {
			if c.Snapshot {
				cp := *e
				cr.trace = append(cr.trace, &cp)
			}
			if cov != nil && e.Event == "response" {
				cov.outcomes[e.Node+"\x00"+e.Outcome] = true
			}
		})
	}
	var res *engine.Result
	if opts.Runner != nil {
		res = opts.Runner(ctx, f.Flow, c.Inputs, o)
	} else {
		res = f.Flow.Run(ctx, c.Inputs, o)
	}
	cr.Result = res
	cr.Virtual = res.Ended.Sub(res.Started)
	if cov != nil {
		cr.coverage = cov
	}

	missing := tr.Missing()
	for _, p := range missing {
		cr.Failures = append(cr.Failures, Failure{Pos: p.Pos, Key: "http", Msg: p.Msg})
	}
	calls := tr.Calls()
	if player != nil {
		missing = nil
		for _, p := range player.Problems() {
			cr.Failures = append(cr.Failures, Failure{Pos: p.Pos, Key: "cassette", Msg: p.Msg})
		}
		calls = playedCalls(player)
	}
	if len(missing) == 0 { // with a gap in the script, what follows is noise
		obs := &observed{result: res, calls: calls}
		for _, e := range c.Expect {
			for _, m := range e.check(obs) {
				pos := e.Pos
				if m.pos.Line > 0 {
					pos = m.pos
				}
				cr.Failures = append(cr.Failures, Failure{Pos: pos, Key: e.Key, Msg: m.msg})
			}
		}
		for _, p := range tr.Unused() {
			cr.Failures = append(cr.Failures, Failure{Pos: p.Pos, Key: "http", Msg: p.Msg})
		}
		if player != nil && res.Outcome != engine.OutcomeInterrupted {
			for _, p := range player.Unused() {
				cr.Failures = append(cr.Failures, Failure{Pos: p.Pos, Key: "cassette", Msg: p.Msg})
			}
		}
		if c.Snapshot {
			if fl := snapshot(cr, opts.Update); fl != nil {
				cr.Failures = append(cr.Failures, *fl)
			}
		}
	}
	redactFailures(cr, lookup)
	if res.Outcome == engine.OutcomeInterrupted && ctx.Err() != nil {
		cr.Status = Error
		cr.Failures = append(cr.Failures, Failure{Pos: c.Pos, Msg: "interrupted"})
		return
	}
	cr.Status = Pass
	if len(cr.Failures) > 0 {
		cr.Status = Fail
	}
}
