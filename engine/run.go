package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/archflow/archflow/engine/clock"
	"github.com/archflow/archflow/engine/failure"
	"github.com/archflow/archflow/engine/trace"
	"github.com/archflow/archflow/engine/transport"
	"github.com/archflow/archflow/engine/yamldoc"
	"github.com/expr-lang/expr/vm"
)

// DefaultMaxSteps is Architect's limit of node executions per instance.
const DefaultMaxSteps = 10000

// Outcomes the engine itself gives; end nodes may name any other.
const (
	OutcomeSuccess     = "success"
	OutcomeError       = "error"
	OutcomeInterrupted = "interrupted"
)

// Options are the seams and limits of a run. The zero value runs on the real clock and real HTTP.
type Options struct {
	// Clock makes the instance's clock; nil gives the real clock. Each instance gets its own.
	Clock func() clock.Clock
	// Transport sends every request (data actions, token requests, webhooks); nil gives real
	// HTTP, one transport per Flow so that its instances share connections and OAuth tokens.
	Transport transport.Transport
	// Tracer receives every event; nil traces nothing.
	Tracer trace.Tracer
	// Env looks up env()/secret() names; nil reads the process environment.
	Env func(name string) (string, bool)
	// MaxSteps bounds node executions; 0 means DefaultMaxSteps.
	MaxSteps int
	// Channels delivers notifications; nil sends each to its compiled channel (email, webhook,
	// file, log). Tests pass Capture, which keeps them in the result and sends nothing.
	Channels Channels
	// Stderr is where the log channel writes; nil is os.Stderr. Writes of concurrent instances
	// go to it at once: pass a writer that is safe for that (SyncWriter).
	Stderr io.Writer
	// UUID makes ids (instance.id and uuid()); nil gives random UUIDs.
	UUID func() string
	// Seed seeds the instance's random source (jitter); 0 picks one.
	Seed uint64
	// Attempt, when set, makes data-action attempts instead of the node (a host's activity; host.go).
	Attempt func(ctx context.Context, in *Instance, call *AttemptCall) (*AttemptOutcome, error)
	// Checkpoint, when set, is asked between two nodes whether the instance should stop there to
	// go on elsewhere (a host's continue-as-new; host.go).
	Checkpoint func(in *Instance) bool
	// Started, when set, is called with each instance before its first step (and with each
	// instance Restore makes): recorders and replayers keep its clock and redactor, which exist
	// only once the instance does.
	Started func(in *Instance)
}

// Result is what an instance did.
type Result struct {
	Instance      string             `json:"instance"`
	Flow          string             `json:"flow"`
	Outcome       string             `json:"outcome"`
	Outputs       map[string]any     `json:"outputs"`
	Variables     map[string]any     `json:"variables"`
	Path          []string           `json:"path"`
	Calls         map[string]int     `json:"calls"`
	Waits         []float64          `json:"waits"`
	Started       time.Time          `json:"started"`
	Ended         time.Time          `json:"ended"`
	StoppedAt     string             `json:"stopped_at,omitempty"`
	Input         *InputRef          `json:"input,omitempty"`
	Error         *failure.ErrorInfo `json:"error,omitempty"`
	Notifications []*Notification    `json:"notifications,omitempty"`
	// Edges are the routes taken, in order, for coverage.
	Edges []*Edge `json:"-"`
	// Redactor holds the instance's sensitive values, for whoever prints about the instance
	// later (the test runner's failure messages).
	Redactor *trace.Redactor `json:"-"`
}

// Instance is one run of a flow: a cursor, variables, a clock. It is owned by one goroutine at a
// time (an instance running aside is handed between goroutines: aside.go).
type Instance struct {
	flow      *Flow
	opts      *Options
	ctx       context.Context
	env       map[string]any
	vm        *vm.VM // lent from vms while an instance running aside steps, or one running here
	clock     clock.Clock
	transport transport.Transport
	redactor  trace.Redactor
	rand      *rand.Rand // made on first use
	seq       int
	node      *Node
	res       *Result
	outcome   string
	calls     []actionCalls // requests per action, in the order first sent (Result.Calls at the end)
	retries   map[string]any
	// Scratch is per-instance state for node kinds (e.g. a retry policy's elapsed budget).
	Scratch map[string]any
	// what few instances need, out of the way of the others (every byte of an Instance is held
	// by each of 100,000 parked ones)
	rare *rareState
	// the cursor: the edge that led to node, the node executions so far, and whether the
	// instance is inside on_error (a second runtime error ends it)
	from     *Edge
	steps    int
	handling bool
	// bound is the set of lazyNames (expr.go) env holds (bindLazy)
	bound uint8
	// err is `error` as the last SetError set it, in a flow whose expressions do not read it
	// (env does not hold it)
	err *failure.ErrorInfo
	// how an instance running aside waits (aside.go): aside, whether it does; parking, that
	// its step asked for a wait of parkFor, then parkNext; turn, held by Run's goroutine while
	// the instance steps elsewhere
	aside    bool
	parking  bool
	parkFor  time.Duration
	parkNext *Edge
	turn     sync.Mutex
	// visits are the entries per node (by index in the flow's Nodes), made by Visits on first use.
	visits []int32
}

// rareState is what only some instances need.
type rareState struct {
	// suspended is where the instance stopped at a checkpoint (host.go).
	suspended *Continuation
	// event and eventSet are reused for every event when the tracer copies events
	// (trace.Copier, reuse set); else NewEvent makes each.
	reuse    bool
	event    trace.Event
	eventSet trace.Vars
	// panicked is a step's panic, raised again on Run's goroutine (aside.go).
	panicked *any
}

// more is the instance's rareState, made on first use.
func (in *Instance) more() *rareState {
	if in.rare == nil {
		in.rare = &rareState{}
	}
	return in.rare
}

// routeHints are the length of the route of the flow's last instance that ended: the next one
// makes room for as long a route at once, instead of growing it step by step (each growth a copy
// and garbage: a thousand-step instance made twice its route in garbage). A hint is at most
// maxRouteHint: an instance that looped far longer than its fellows does not make each of them
// hold room for its route.
type routeHints struct{ path, edges atomic.Int32 }

const maxRouteHint = 4096

func (h *routeHints) note(path, edges int) {
	path, edges = min(path, maxRouteHint), min(edges, maxRouteHint)
	if int(h.path.Load()) != path {
		h.path.Store(int32(path))
	}
	if int(h.edges.Load()) != edges {
		h.edges.Store(int32(edges))
	}
}

// route is a Path (never nil) and Edges with room for the last route: path and edges (a
// recycled result's) emptied when they have it.
func (h *routeHints) route(path []string, edges []*Edge) ([]string, []*Edge) {
	if n := int(h.path.Load()); path == nil || cap(path) < n {
		path = make([]string, 0, n)
	}
	if n := int(h.edges.Load()); n > 0 && cap(edges) < n {
		edges = make([]*Edge, 0, n)
	}
	return path[:0], edges[:0]
}

// actionCalls is the number of requests sent for an action.
type actionCalls struct {
	action string
	n      int
}

// InputError is a rejected input: reported before anything runs.
type InputError struct {
	Msg string
	// Name is the input the first problem of Msg is about ("" when it is about none), so that a
	// caller can point at its place in an inputs file.
	Name string
}

func (e *InputError) Error() string { return e.Msg }

// Inputs checks and converts inputs: strings (from the command line) are parsed per the declared
// type; other values are converted. Missing required inputs and unknown names are errors.
func (f *Flow) Inputs(raw map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(raw))
	if err := f.inputs(raw, out); err != nil {
		return nil, err
	}
	return out, nil
}

// ConvertInputs is Inputs converting raw in place, for a caller whose map raw is (a decoded
// line of an inputs file): no second map per instance.
func (f *Flow) ConvertInputs(raw map[string]any) error { return f.inputs(raw, raw) }

// CheckInputs is the error Inputs gives, without keeping the inputs it converts (a batch checks
// its whole inputs file first).
func (f *Flow) CheckInputs(raw map[string]any) error { return f.inputs(raw, nil) }

// inputs checks raw and puts the converted inputs in out, unless out is nil.
func (f *Flow) inputs(raw, out map[string]any) error {
	type problem struct{ msg, name string }
	var errs []problem
	for name, val := range raw { // in any order: the problems are sorted below
		v := f.Var(name)
		if v == nil || !v.Input {
			var inputs []string
			for _, x := range f.Vars {
				if x.Input {
					inputs = append(inputs, x.Name)
				}
			}
			errs = append(errs, problem{fmt.Sprintf("unknown input %q%s", name, yamldoc.DidYouMean(name, inputs)), name})
			continue
		}
		var err error
		if s, ok := val.(string); ok {
			if v.Type != TString { // a string input is kept as the interface it came in
				val, err = v.Type.ParseInput(s)
			}
		} else {
			val, err = v.Type.Convert(normalizeYAML(val))
		}
		if err != nil {
			errs = append(errs, problem{fmt.Sprintf("input %s: wrong type: %v", name, err), name})
			continue
		}
		if what, bad := nonFinite(val); bad {
			errs = append(errs, problem{fmt.Sprintf("input %s: %s is not a number that can be stored", name, what), name})
			continue
		}
		if out != nil {
			out[name] = val
		}
	}
	for _, v := range f.Vars {
		if v.Required {
			if x, given := raw[v.Name]; !given || x == nil {
				errs = append(errs, problem{fmt.Sprintf("missing required input %s (%s)", v.Name, v.Type), ""})
			}
		}
	}
	if len(errs) > 0 {
		sort.Slice(errs, func(i, j int) bool { return errs[i].msg < errs[j].msg })
		msg := errs[0].msg
		for _, e := range errs[1:] {
			msg += "; " + e.msg
		}
		return &InputError{Msg: msg, Name: errs[0].name}
	}
	return nil
}

// CheckEnv reports env()/secret() names given as literals, with no default, that lookup lacks.
func (f *Flow) CheckEnv(lookup func(string) (string, bool)) yamldoc.ErrorList {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	var errs yamldoc.ErrorList
	seen := map[string]bool{}
	for _, ec := range f.EnvCalls {
		if seen[ec.Name] || ec.Default {
			continue
		}
		if _, ok := lookup(ec.Name); !ok {
			seen[ec.Name] = true
			what := "environment variable"
			if ec.Secret {
				what = "secret"
			}
			errs.Add(ec.Pos, "%s %s is not set (set it in the environment or an --env-file)", what, ec.Name)
		}
	}
	return errs.Sort()
}

// Run runs one instance to its end. inputs must come from Flow.Inputs.
func (f *Flow) Run(ctx context.Context, inputs map[string]any, opts *Options) *Result {
	if opts == nil {
		opts = &Options{}
	}
	clk := opts.newClock()
	if !f.runsAside(clk, opts) {
		return f.runHere(ctx, inputs, opts, clk)
	}
	// the instance runs aside (aside.go): this goroutine makes its waits, with as few frames
	// under them as can be, until the instance ends. Its turn is held here while a goroutine of
	// its own steps it, and given back when that goroutine is done (the Instance is all they
	// share: handing it over allocates nothing that a parked instance keeps).
	in := f.goAside(ctx, inputs, opts, clk)
	for {
		in.turn.Lock() // until the stepping goroutine is done
		if in.rare != nil && in.rare.panicked != nil {
			panic(*in.rare.panicked)
		}
		if !in.parking {
			return in.res
		}
		vms.Put(in.vm) // a parked instance evaluates nothing
		in.vm = nil
		err := in.clock.Sleep(in.ctx, in.parkFor)
		go in.resumeAside(err)
	}
}

// runHere runs an instance on this goroutine.
func (f *Flow) runHere(ctx context.Context, inputs map[string]any, opts *Options, clk clock.Clock) *Result {
	in := &Instance{}
	// an instance run here, that no host or recorder is handed, is done with its expression
	// machine when it ends: the machine (and the stack it grew) serves the next instance. Its
	// environment is not reused: clearing and refilling a map cost twice the clone of the
	// flow's base environment (newEnv). Its result may be a recycled one (Flow.Recycle).
	recycle := opts != nil && opts.Started == nil && opts.Checkpoint == nil && opts.Attempt == nil
	if recycle {
		in.vm = vms.Get().(*vm.VM)
		in.res, _ = f.results.Get().(*Result)
	}
	f.initInstance(in, ctx, inputs, opts, clk)
	in.start()
	if recycle && in.outcome != "" {
		vms.Put(in.vm)
		in.vm = nil
	}
	return in.res
}

// start runs a new instance: to its end, a checkpoint, or its first park when it runs aside.
func (in *Instance) start() {
	if in.opts.Started != nil {
		in.opts.Started(in)
	}
	in.run()
}

func (o *Options) newClock() clock.Clock {
	if o.Clock != nil {
		return o.Clock()
	}
	return clock.RealClock{}
}

// newInstance makes an instance; clk is its clock, nil to make it from opts.
func (f *Flow) newInstance(ctx context.Context, inputs map[string]any, opts *Options, clk clock.Clock) *Instance {
	if opts == nil {
		opts = &Options{}
	}
	in := &Instance{}
	f.initInstance(in, ctx, inputs, opts, clk)
	return in
}

// initInstance makes in an instance of f (Run's goroutine makes the Instance of one that runs
// aside, the goroutine starting it makes the rest).
func (f *Flow) initInstance(in *Instance, ctx context.Context, inputs map[string]any, opts *Options, clk clock.Clock) {
	if opts == nil {
		opts = &Options{}
	}
	in.flow, in.opts, in.ctx = f, opts, ctx
	if in.vm == nil {
		in.vm = new(vm.VM)
	}
	in.clock = clk
	if clk == nil {
		in.clock = opts.newClock()
	}
	if c, ok := opts.Tracer.(trace.Copier); ok && c.CopiesEvents() {
		in.more().reuse = true
	}
	in.transport = opts.Transport
	if in.transport == nil {
		in.transport = f.httpTransport()
	}
	// the instance's id and start are its Result's
	// Calls are made at the end (flushCalls)
	var old Result // a result handed back (Flow.Recycle), whose maps and slices serve again
	if in.res == nil {
		in.res = &Result{}
	} else {
		old = *in.res
	}
	*in.res = Result{Instance: in.newUUID(), Flow: f.Name, Started: in.clock.Now(), Waits: []float64{}, Redactor: &in.redactor}
	if old.Variables != nil && old.Outputs != nil && old.Calls != nil {
		clear(old.Variables)
		clear(old.Outputs)
		clear(old.Calls)
		in.res.Variables, in.res.Outputs, in.res.Calls = old.Variables, old.Outputs, old.Calls
	}
	if old.Waits != nil {
		in.res.Waits = old.Waits[:0]
	}
	in.env = f.newEnv() // defaults and the empty response scope; what is the instance's own follows
	for k, v := range inputs {
		in.env[k] = v
	}
	if len(f.scope.retries) > 0 {
		in.retries = make(map[string]any, len(f.scope.retries))
		for n := range f.scope.retries {
			in.retries[n] = 0
		}
	}
	if f.ReadsScope("retries") {
		in.env["retries"] = noRetries // a flow without retry: policies shares one empty map
		if in.retries != nil {
			in.env["retries"] = in.retries
		}
	}
	if f.ReadsScope("headers") {
		in.env["headers"] = noHeaders
	}
	// instance and the functions bound to the instance are made when an expression that may
	// read them first runs (bindLazy)
	in.res.Path = []string{}
	if !in.aside { // the waits of one running aside dwarf its route's growth
		in.res.Path, in.res.Edges = f.hints.route(old.Path, old.Edges)
	}
}

func (in *Instance) now() time.Time { return in.clock.Now() }

func (in *Instance) newUUID() string {
	if in.opts.UUID != nil {
		return in.opts.UUID()
	}
	return newRandomID()
}

func (in *Instance) lookup(name string) (string, bool) {
	if in.opts.Env != nil {
		return in.opts.Env(name)
	}
	return os.LookupEnv(name)
}

func (in *Instance) envFunc(args ...any) any {
	name := ToString(args[0])
	if v, ok := in.lookup(name); ok {
		return v
	}
	if len(args) > 1 {
		return args[1]
	}
	panic(envNotSet(name))
}

// envNotSet is the error of env() of an unset name with no default, on the VM and off it.
func envNotSet(name string) string { return "environment variable " + name + " is not set" }

func (in *Instance) secretFunc(args ...any) any {
	name := ToString(args[0])
	v, ok := in.lookup(name)
	if !ok {
		panic(fmt.Sprintf("secret %s is not set", name))
	}
	in.redactor.Add(v)
	return v
}

func (in *Instance) run() {
	f := in.flow
	// events are built only when traced: an untraced step allocates nothing for them
	if in.Tracing() {
		inputs := map[string]any{}
		for _, v := range f.Vars {
			if v.Input && in.env[v.Name] != nil {
				inputs[v.Name] = in.redactor.Value(in.env[v.Name])
			}
		}
		in.Emit(&trace.Event{Event: "start", Flow: f.Name, Inputs: inputs})
	}
	in.runFrom(f.Start, nil, 0, false)
}

// runFrom runs from node; from is the edge that led there, steps the node executions so far and
// handling whether the instance is inside on_error (a second runtime error ends it).
func (in *Instance) runFrom(node *Node, from *Edge, steps int, handling bool) {
	in.node, in.from, in.steps, in.handling = node, from, steps, handling
	in.loop()
}

// loop runs steps from the cursor (node, from, steps, handling) until the instance ends, stops
// at a checkpoint, or parks (WaitThen, when it runs aside: the wait is made after the step).
// The cursor is kept in locals while it runs (a step's bookkeeping stays in registers) and in
// the Instance where something else reads it.
func (in *Instance) loop() {
	f := in.flow
	max := in.opts.MaxSteps
	if max <= 0 {
		max = DefaultMaxSteps
	}
	node, from, steps := in.node, in.from, in.steps
	for node != nil {
		in.node = node
		if err := in.ctx.Err(); err != nil {
			in.interrupt()
			return
		}
		if steps > 0 && in.opts.Checkpoint != nil && in.opts.Checkpoint(in) {
			in.suspend(node, from, steps, in.handling) // host.go: the instance goes on elsewhere
			return
		}
		steps++
		if steps > max {
			in.fail(&failure.ErrorInfo{Class: failure.Permanent, Kind: failure.KindRuntime, Node: node.Name,
				Message: fmt.Sprintf("more than %d node executions: stopped (raise --max-steps if the flow really needs more)", max)})
			return
		}
		in.res.Path = append(in.res.Path, node.Name)
		if in.visits != nil && node.Index < len(in.visits) && f.Nodes[node.Index] == node {
			in.visits[node.Index]++
		}
		if in.Tracing() {
			ev := in.NewEvent()
			ev.Node, ev.Kind, ev.Event = node.Name, node.Kind.Name, "enter"
			if from != nil {
				ev.From, ev.Via = from.From.Name, from.Label
			}
			in.Emit(ev)
		}
		edge, err := node.Step.Exec(in.ctx, in)
		if in.parking || err != nil || edge == nil {
			in.from, in.steps = from, steps
			if in.parking {
				return // the step waits for the rest of its result (aside.go)
			}
			if !in.after(node, edge, err) {
				return
			}
			node, from = in.node, in.from // on to on_error
			continue
		}
		in.res.Edges = append(in.res.Edges, edge)
		from, node = edge, edge.To
	}
	in.end()
}

// after takes a step's result: the cursor (in.node, in.from) moves on, or the instance ends
// (false).
func (in *Instance) after(node *Node, edge *Edge, err error) bool {
	if in.ctx.Err() != nil && (err != nil || edge == nil) && in.outcome == "" {
		in.interrupt()
		return false
	}
	if err != nil {
		return in.stepFailed(node, err)
	}
	if edge == nil {
		in.end()
		return false
	}
	in.res.Edges = append(in.res.Edges, edge)
	in.from, in.node = edge, edge.To
	return true
}

// stepFailed takes a step's runtime error: the instance goes to on_error (true) or fails.
func (in *Instance) stepFailed(node *Node, err error) bool {
	f := in.flow
	info := &failure.ErrorInfo{Class: failure.Permanent, Kind: failure.KindRuntime, Node: node.Name, Message: in.redactor.String(err.Error())}
	var ie *failure.ErrorInfo
	if errors.As(err, &ie) {
		cp := *ie
		cp.Message = in.redactor.String(cp.Message)
		if cp.Node == "" {
			cp.Node = node.Name
		}
		info = &cp
	}
	if IsScriptError(err) {
		info.Kind = KindScript
	}
	if in.Tracing() {
		in.Emit(&trace.Event{Node: node.Name, Kind: node.Kind.Name, Event: "error", Error: info})
	}
	if f.OnError == nil || in.handling || info.Kind == KindScript {
		in.fail(info)
		return false
	}
	in.handling = true
	in.SetError(info)
	in.res.Error = info
	e := &Edge{From: node, To: f.OnError, Label: "on_error"}
	in.res.Edges = append(in.res.Edges, e)
	in.from, in.node = e, f.OnError
	return true
}

// end ends the instance after its last step: with the outcome that step set, else error.
func (in *Instance) end() {
	if in.outcome == "" {
		in.outcome = OutcomeError
	}
	in.finish()
}

func (in *Instance) interrupt() {
	in.outcome = OutcomeInterrupted
	if in.node != nil {
		in.res.StoppedAt = in.node.Name
	}
	if in.Tracing() {
		in.Emit(&trace.Event{Node: in.res.StoppedAt, Event: "end", Outcome: OutcomeInterrupted, Message: "interrupted"})
	}
	in.finishResult()
}

func (in *Instance) fail(info *failure.ErrorInfo) {
	in.outcome = OutcomeError
	in.res.Error = info
	in.finish()
}

func (in *Instance) finish() {
	if in.Tracing() {
		ev := &trace.Event{Event: "end", Outcome: in.outcome}
		if in.node != nil {
			ev.Node, ev.Kind = in.node.Name, in.node.Kind.Name
		}
		if in.outcome == OutcomeError {
			ev.Error = in.res.Error
		}
		in.Emit(ev)
	}
	in.finishResult()
}

// flushCalls brings res.Calls up to date.
func (in *Instance) flushCalls() {
	if in.res.Calls == nil {
		in.res.Calls = make(map[string]int, len(in.calls))
	}
	for _, c := range in.calls {
		in.res.Calls[c.action] = c.n
	}
}

func (in *Instance) finishResult() {
	in.flushCalls()
	if !in.aside { // the next instance of the flow starts with room for as long a route
		in.flow.hints.note(len(in.res.Path), len(in.res.Edges))
	}
	r := in.res
	r.Outcome = in.outcome
	r.Ended = in.clock.Now()
	if r.Variables == nil || r.Outputs == nil { // not a recycled result's, emptied (initInstance)
		r.Variables = make(map[string]any, len(in.flow.Vars))
		r.Outputs = map[string]any{}
	}
	for _, v := range in.flow.Vars {
		val := in.redactor.Value(in.env[v.Name])
		r.Variables[v.Name] = val
		if v.Output {
			r.Outputs[v.Name] = val
		}
	}
}

// ---- the API node kinds use ----

// Flow is the instance's flow.
func (in *Instance) Flow() *Flow { return in.flow }

// ID is instance.id.
func (in *Instance) ID() string { return in.res.Instance }

// Clock is the instance's clock.
func (in *Instance) Clock() clock.Clock { return in.clock }

// Transport is the instance's transport.
func (in *Instance) Transport() transport.Transport { return in.transport }

// Redactor hides the instance's secrets.
func (in *Instance) Redactor() *trace.Redactor { return &in.redactor }

// Rand is the instance's seeded random source.
func (in *Instance) Rand() *rand.Rand {
	if in.rand == nil {
		seed := in.opts.Seed
		if seed == 0 {
			seed = rand.Uint64()
		}
		in.rand = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	}
	return in.rand
}

// Channel is where a notification to ref goes: the injected Channels, or ref's own channel.
func (in *Instance) Channel(ref *ChannelRef) Channel {
	if in.opts.Channels != nil {
		return in.opts.Channels.Channel(ref)
	}
	return ref.Channel
}

// Stderr is where the log channel writes.
func (in *Instance) Stderr() io.Writer {
	if in.opts.Stderr != nil {
		return in.opts.Stderr
	}
	return os.Stderr
}

// Lookup reads an env()/secret() source.
func (in *Instance) Lookup(name string) (string, bool) { return in.lookup(name) }

// Visits is how many times the instance has entered node so far, this entry included.
// The counts are made from the path on first use and kept up to date from then on, so an
// instance that never asks pays nothing and one that asks at every call does not rescan its path.
func (in *Instance) Visits(node string) int {
	f := in.flow
	if in.visits == nil {
		in.visits = make([]int32, len(f.Nodes))
		for _, p := range in.res.Path { // a path carried over from a checkpoint
			if n := f.nodeIndex[p]; n != nil {
				in.visits[n.Index]++
			}
		}
	}
	n := f.nodeIndex[node]
	if n == nil {
		return 0
	}
	return int(in.visits[n.Index])
}

// Var is a variable's value (a variable is never one of the names bound on first use).
func (in *Instance) Var(v *Variable) any { return in.env[v.Name] }

// Get reads a variable or scope value. A scope name (status, headers, body, text, elapsed,
// error, retries) that no expression of the flow reads is not kept (Flow.ReadsScope): Get gives
// nil for it.
func (in *Instance) Get(name string) any {
	for i, n := range lazyNames {
		if n == name && in.bound&(1<<i) == 0 {
			in.bindLazy(1 << i)
		}
	}
	return in.env[name]
}

// bindLazy puts the lazyNames in m in the environment: instance, a map most instances'
// expressions never read, and the functions bound to the instance (closures) are made for those
// that do (a parked instance of the seed flow is 100,000 of them).
func (in *Instance) bindLazy(m uint8) {
	for i, n := range lazyNames {
		if m&(1<<i) == 0 || in.bound&(1<<i) != 0 {
			continue
		}
		var v any
		switch n {
		case "instance":
			v = map[string]any{"id": in.res.Instance, "started": in.res.Started, "flow": in.flow.Name}
		case "now":
			v = in.now
		case "uuid":
			v = in.newUUID
		case "env":
			v = in.envFunc
		case "secret":
			v = in.secretFunc
		case "retry_after":
			v = func(h any) int { return RetryAfter(h, in.clock.Now()) }
		}
		in.env[n] = v
		in.bound |= 1 << i
	}
}

// Set assigns a declared variable, checking its type; nil makes it NOT_SET.
func (in *Instance) Set(v *Variable, val any) error {
	x, err := v.Type.Convert(val)
	if err != nil {
		return fmt.Errorf("%s: %v", v.Name, err)
	}
	if what, bad := nonFinite(x); bad {
		return finiteError(v.Name, what)
	}
	in.env[v.Name] = x
	return nil
}

// SetScope sets a response-scope name (status, headers, body, text, elapsed), when some
// expression of the flow reads it (Flow.ReadsScope); otherwise it does nothing, and Get of the
// name gives nil.
func (in *Instance) SetScope(name string, val any) {
	if in.flow.ReadsScope(name) {
		in.env[name] = val
	}
}

// SetError sets `error` (nil clears it).
func (in *Instance) SetError(e *failure.ErrorInfo) {
	if !in.flow.ReadsScope("error") {
		in.err = e // for State only: nothing reads error
		return
	}
	if e == nil {
		in.env["error"] = nil
		return
	}
	in.env["error"] = e.Value() // the map alone is kept (a parked instance keeps no more)
}

// SetRetries sets retries.<node>.
// noHeaders is the headers of an instance before its first response: never written (a data
// action sets a map of its own).
var noHeaders = map[string]string{}

// noRetries is retries of instances with no counters: never written (SetRetries makes a map).
var noRetries = map[string]any{}

func (in *Instance) SetRetries(node string, n int) {
	if in.flow.ReadsScope("retries") {
		// a new map: one an expression gave out (a variable assigned {{ retries }}) keeps the
		// counts it had then
		m := make(map[string]any, len(in.retries)+1)
		maps.Copy(m, in.retries)
		m[node] = n
		in.retries = m
		in.env["retries"] = m
		return
	}
	if in.retries == nil {
		in.retries = map[string]any{}
	}
	in.retries[node] = n
}

// SetOutcome ends the instance with outcome.
func (in *Instance) SetOutcome(outcome string) { in.outcome = outcome }

// CountCall counts a request sent for an action.
func (in *Instance) CountCall(action string) {
	for i := range in.calls {
		if in.calls[i].action == action {
			in.calls[i].n++
			return
		}
	}
	in.calls = append(in.calls, actionCalls{action, 1})
}

// RecordWait records a wait in seconds.
func (in *Instance) RecordWait(seconds float64) { in.res.Waits = append(in.res.Waits, seconds) }

// AddNotification keeps a notification in the result (captured, or undelivered).
func (in *Instance) AddNotification(n *Notification) {
	in.res.Notifications = append(in.res.Notifications, n)
}

// Outputs returns the current output variables (for notifications).
func (in *Instance) Outputs() map[string]any {
	out := map[string]any{}
	for _, v := range in.flow.Vars {
		if v.Output {
			out[v.Name] = in.redactor.Value(in.env[v.Name])
		}
	}
	return out
}

// Emit stamps and sends an event to the tracer.
func (in *Instance) Emit(e *trace.Event) {
	if in.opts.Tracer == nil {
		return
	}
	in.seq++
	e.Seq = in.seq
	e.Instance = in.res.Instance
	e.Time = in.clock.Now()
	if !in.redactor.Empty() {
		e.Body = in.redactor.Value(e.Body)
		e.Message = in.redactor.String(e.Message)
		e.URL = in.redactor.String(e.URL)
		e.Subject = in.redactor.String(e.Subject)
		e.Set = in.redactor.Vars(e.Set)
		if e.Error != nil {
			c := *e.Error
			c.Message = in.redactor.String(c.Message)
			e.Error = &c
		}
	}
	in.opts.Tracer.Event(e)
}

// NewEvent is an empty event to fill and Emit. When the tracer copies events (trace.Copier) it
// is the instance's one reused event: emit it before asking for another, and keep it no longer.
func (in *Instance) NewEvent() *trace.Event {
	if in.rare == nil || !in.rare.reuse {
		return &trace.Event{}
	}
	resetEvent(&in.rare.event)
	return &in.rare.event
}

// resetEvent zeroes e. One clear of the whole struct costs less than testing and clearing its
// fields one by one, measured on the traced step benchmarks, although while the GC marks it
// passes every pointer slot through the write barrier.
func resetEvent(e *trace.Event) { *e = trace.Event{} }

// NewEventSet is an empty trace.Vars with room for size, for a NewEvent's Set, under the same
// rule: reused when the tracer copies events.
func (in *Instance) NewEventSet(size int) trace.Vars {
	if in.rare == nil || !in.rare.reuse {
		return make(trace.Vars, 0, size)
	}
	if cap(in.rare.eventSet) < size {
		in.rare.eventSet = make(trace.Vars, 0, size)
	}
	return in.rare.eventSet[:0]
}

// Tracing reports whether events are wanted, so that callers can skip building them.
func (in *Instance) Tracing() bool { return in.opts.Tracer != nil }
