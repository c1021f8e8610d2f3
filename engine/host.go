package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/archflow/archflow/engine/failure"
	"github.com/archflow/archflow/engine/transport"
)

// A host runs instances somewhere other than this process's goroutine: the Temporal workflow of
// engine/temporal interprets the flow in workflow code and performs every data-action attempt and
// notification delivery as an activity on a worker. These hooks are the seams it needs; with them
// nil, an instance does everything in place, as it always has.

// AttemptCall names one data-action attempt: the node, its attempt number and the idempotency key
// fixed before the first attempt.
type AttemptCall struct {
	Node           string `json:"node"`
	Attempt        int    `json:"attempt"`
	Visit          int    `json:"visit,omitempty"` // which entry into the node (for the trace)
	IdempotencyKey string `json:"idempotency_key,omitempty"`
}

// AttemptOutcome is what one attempt gave the node: success, failure or timeout, the failure, and
// the Retry-After seconds of the response.
type AttemptOutcome struct {
	Outcome    string             `json:"outcome"`
	Err        *failure.ErrorInfo `json:"error,omitempty"`
	RetryAfter int                `json:"retry_after,omitempty"`
}

// Attempter is a node kind that makes data-action attempts (data_action).
type Attempter interface {
	// AttemptHere renders, authenticates and sends one request, then maps the response into the
	// instance's scope and variables.
	AttemptHere(ctx context.Context, in *Instance, call *AttemptCall) (*AttemptOutcome, error)
	// AttemptLost maps an attempt that got no answer at all (the worker making it was lost) as a
	// failure with no response, so the flow's own retry logic handles it.
	AttemptLost(in *Instance, call *AttemptCall, failure *failure.ErrorInfo) (*AttemptOutcome, error)
}

// Attempt makes one data-action attempt: through Options.Attempt when a host set it, else here.
func (in *Instance) Attempt(ctx context.Context, call *AttemptCall, a Attempter) (*AttemptOutcome, error) {
	if in.opts.Attempt != nil {
		return in.opts.Attempt(ctx, in, call)
	}
	return a.AttemptHere(ctx, in, call)
}

// AttemptsHere reports whether the instance makes its attempts itself (Attempt calls
// AttemptHere): a node may then make them without the call's and outcome's allocations.
func (in *Instance) AttemptsHere() bool { return in.opts.Attempt == nil }

// Deliver delivers a notification to a channel through the instance's Channels.
func (in *Instance) Deliver(ctx context.Context, ch *ChannelRef, n *Notification) error {
	return in.Channel(ch).Deliver(ctx, in, n)
}

// State is an instance's data, to hand it to another process: its id, times, variables, the
// response scope of its last data action and its retries counters. It encodes to JSON with its
// values' Go types kept (integers, datetimes, durations), so a round trip changes nothing.
type State struct {
	ID      string             `json:"id"`
	Flow    string             `json:"flow"`
	Started time.Time          `json:"started"`
	Now     time.Time          `json:"now"`
	Vars    Values             `json:"vars"`
	Scope   Values             `json:"scope"`
	Error   *failure.ErrorInfo `json:"error,omitempty"`
	Retries map[string]int     `json:"retries,omitempty"`
}

// scopeNames are the response-scope names a data action sets.
var scopeNames = scopeNameList[:5:5]

// State snapshots the instance. Values are redacted: a snapshot leaves the process. Its Scope
// holds the response-scope names some expression of the flow reads (Flow.ReadsScope).
func (in *Instance) State() *State {
	st := &State{ID: in.res.Instance, Flow: in.flow.Name, Started: in.res.Started, Now: in.clock.Now(),
		Vars: Values{}, Scope: Values{}, Retries: map[string]int{}}
	for _, v := range in.flow.Vars {
		st.Vars[v.Name] = in.redactor.Value(in.env[v.Name])
	}
	for _, n := range scopeNames {
		if v, ok := in.env[n]; ok { // the names no expression reads are not kept
			st.Scope[n] = in.redactor.Value(v)
		}
	}
	if m, ok := in.env["error"].(map[string]any); ok {
		st.Error = errorInfoOf(m)
	} else if in.err != nil {
		e := *in.err
		st.Error = &e
	}
	if st.Error != nil {
		st.Error.Message = in.redactor.String(st.Error.Message)
	}
	for k, v := range in.retries {
		if n, ok := v.(int); ok {
			st.Retries[k] = n
		}
	}
	return st
}

func errorInfoOf(m map[string]any) *failure.ErrorInfo {
	e := &failure.ErrorInfo{}
	e.Class, _ = m["class"].(string)
	e.Kind, _ = m["kind"].(string)
	e.Message, _ = m["message"].(string)
	e.Status, _ = m["status"].(int)
	e.Node, _ = m["node"].(string)
	return e
}

// Apply takes variables and scope from a state another process changed (an attempt's result).
func (in *Instance) Apply(st *State) error {
	for _, v := range in.flow.Vars {
		val, ok := st.Vars[v.Name]
		if !ok {
			continue
		}
		if err := in.Set(v, val); err != nil {
			return err
		}
	}
	for _, n := range scopeNames {
		val, ok := st.Scope[n]
		if !ok {
			continue
		}
		if hs, ok := val.(map[string]any); ok && n == "headers" { // a scope written by an older encoder
			h := make(map[string]string, len(hs))
			for k, v := range hs {
				h[k] = ToString(v)
			}
			val = h
		}
		in.SetScope(n, val)
	}
	in.SetError(st.Error)
	return nil
}

// Restore makes an instance from a state, to perform one step of it in another process.
func (f *Flow) Restore(ctx context.Context, st *State, opts *Options) (*Instance, error) {
	if st.Flow != f.Name {
		return nil, fmt.Errorf("state of flow %s given to flow %s", st.Flow, f.Name)
	}
	o := Options{}
	if opts != nil {
		o = *opts
	}
	o.UUID = nil
	id := st.ID
	first := true
	inner := opts.uuid()
	o.UUID = func() string { // the first id is instance.id; later ones are uuid() calls
		if first {
			first = false
			return id
		}
		return inner()
	}
	in := f.newInstance(ctx, nil, &o, nil)
	in.res.Started = st.Started
	in.bindLazy(lazyInstance)
	if err := in.Apply(st); err != nil {
		return nil, err
	}
	for k, n := range st.Retries {
		in.SetRetries(k, n)
	}
	if o.Started != nil { // a host recording the step needs the restored instance (its redactor)
		o.Started(in)
	}
	return in, nil
}

func (o *Options) uuid() func() string {
	if o != nil && o.UUID != nil {
		return o.UUID
	}
	return func() string { return (&Instance{opts: &Options{}}).newUUID() }
}

// Calls is the number of requests sent per action so far.
func (in *Instance) Calls() map[string]int {
	in.flushCalls()
	return maps.Clone(in.res.Calls)
}

// RunAttempt performs one data-action attempt of the instance whose state is st, in this process,
// and returns the outcome, the changed state and the requests it sent per action. It is the work of
// a host's attempt activity: the request is rendered, and env(), secret() and auth resolved, here.
func (f *Flow) RunAttempt(ctx context.Context, st *State, call *AttemptCall, opts *Options) (*AttemptOutcome, *State, map[string]int, error) {
	n := f.Node(call.Node)
	if n == nil {
		return nil, nil, nil, fmt.Errorf("flow %s has no node %s", f.Name, call.Node)
	}
	a, ok := n.Step.(Attempter)
	if !ok {
		return nil, nil, nil, fmt.Errorf("node %s of flow %s makes no data-action attempts", call.Node, f.Name)
	}
	in, err := f.Restore(ctx, st, opts)
	if err != nil {
		return nil, nil, nil, err
	}
	in.node = n
	out, err := a.AttemptHere(ctx, in, call)
	if err != nil { // outputs mapped before a runtime error stay mapped, as in place
		return nil, in.State(), in.Calls(), in.redactErr(err)
	}
	out.Err = in.redactError(out.Err)
	return out, in.State(), in.Calls(), nil
}

// RunDelivery delivers a notification of the instance whose state is st, in this process: the
// channel's settings (env(), secret()) are resolved here.
func (f *Flow) RunDelivery(ctx context.Context, st *State, node string, n *Notification, opts *Options) error {
	ch := f.Channels[n.Channel]
	if ch == nil {
		return fmt.Errorf("flow %s has no channel %s", f.Name, n.Channel)
	}
	in, err := f.Restore(ctx, st, opts)
	if err != nil {
		return err
	}
	in.node = f.Node(node)
	if err := ch.Channel.Deliver(ctx, in, n); err != nil {
		return fmt.Errorf("%s", in.redactor.String(err.Error()))
	}
	return nil
}

// redactErr hides the instance's secrets in an error that leaves the process, keeping its kind.
func (in *Instance) redactErr(err error) error {
	var ie *failure.ErrorInfo
	var te *transport.TransportError
	switch {
	case errors.As(err, &ie):
		return in.redactError(ie)
	case errors.As(err, &te):
		cp := *te
		cp.Err = errors.New(in.redactor.String(te.Err.Error()))
		return &cp
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return errors.New(in.redactor.String(err.Error()))
}

func (in *Instance) redactError(e *failure.ErrorInfo) *failure.ErrorInfo {
	if e == nil {
		return nil
	}
	cp := *e
	cp.Message = in.redactor.String(cp.Message)
	return &cp
}

// Continuation is an instance stopped between two nodes at a checkpoint, to go on elsewhere: a
// Temporal workflow continues as new before its history nears its limit, carrying this.
type Continuation struct {
	State    *State             `json:"state"`
	Node     string             `json:"node"` // the node to run next
	From     string             `json:"from,omitempty"`
	Via      string             `json:"via,omitempty"`
	Steps    int                `json:"steps"`
	Handling bool               `json:"handling,omitempty"`
	Seq      int                `json:"seq"`
	Path     []string           `json:"path"`
	Calls    map[string]int     `json:"calls"`
	Waits    []float64          `json:"waits"`
	Error    *failure.ErrorInfo `json:"error,omitempty"`
	Notes    []*Notification    `json:"notifications,omitempty"`
}

func (in *Instance) suspend(node *Node, from *Edge, steps int, handling bool) {
	c := &Continuation{State: in.State(), Node: node.Name, Steps: steps, Handling: handling, Seq: in.seq,
		Path: in.res.Path, Calls: in.Calls(), Waits: in.res.Waits, Error: in.res.Error, Notes: in.res.Notifications}
	if from != nil {
		c.From, c.Via = from.From.Name, from.Label
	}
	in.more().suspended = c
}

// Suspended is where the instance stopped at a checkpoint, nil when it ran to its end.
func (in *Instance) Suspended() *Continuation {
	if in.rare == nil {
		return nil
	}
	return in.rare.suspended
}

// Resume goes on with a continued instance from where it stopped, to its end or next checkpoint
// (Options.Checkpoint, which sees the instance and its Suspended continuation).
func (f *Flow) Resume(ctx context.Context, c *Continuation, opts *Options) (*Result, error) {
	node := f.Node(c.Node)
	if node == nil {
		return nil, fmt.Errorf("flow %s has no node %s to resume at", f.Name, c.Node)
	}
	in, err := f.Restore(ctx, c.State, opts)
	if err != nil {
		return nil, err
	}
	in.seq = c.Seq
	in.res.Path = c.Path
	if in.res.Path == nil {
		in.res.Path = []string{}
	}
	for _, k := range sortedKeys(c.Calls) {
		in.calls = append(in.calls, actionCalls{k, c.Calls[k]})
	}
	in.res.Waits = c.Waits
	if in.res.Waits == nil {
		in.res.Waits = []float64{}
	}
	in.res.Error = c.Error
	in.res.Notifications = c.Notes
	var from *Edge
	if c.From != "" {
		if n := f.Node(c.From); n != nil {
			from = &Edge{From: n, To: node, Label: c.Via}
		}
	}
	in.runFrom(node, from, c.Steps, c.Handling)
	return in.res, nil
}
