// Package temporal runs flows on Temporal (SPEC §10): one generic workflow type, archflow, runs
// the engine's interpreter in workflow code, with the engine's seams implemented on Temporal —
// the clock's waits are durable timers and now() is workflow time, uuid() is a side effect, and
// every data-action attempt and notification delivery is an activity on a worker, where the
// request is rendered and env(), secret() and auth are resolved. Nothing secret enters history.
// It also holds the client side (start, attach, cancel) and the in-process test environment.
package temporal

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/clock"
	"github.com/archflow/archflow/engine/durable"
	"github.com/archflow/archflow/engine/failure"
	"github.com/archflow/archflow/engine/trace"
	"github.com/archflow/archflow/engine/transport"
)

// Names registered on a worker.
const (
	WorkflowName     = "archflow"
	ActivityAttempt  = "archflow.attempt"
	ActivityDeliver  = "archflow.deliver"
	ActivityEnv      = "archflow.env"
	DefaultTaskQueue = durable.DefaultTaskQueue
	DefaultAddress   = durable.DefaultAddress
	DefaultNamespace = durable.DefaultNamespace

	// attemptMargin is added to an action's timeout for the attempt activity's start-to-close
	// timeout: token requests and the 401 re-send happen inside it too. A worker lost mid-call
	// becomes a timeout the flow handles.
	attemptMargin  = 30 * time.Second
	deliverTimeout = 2 * time.Minute
	// heartbeatTimeout is how soon a worker lost in the middle of an activity is noticed.
	heartbeatTimeout = 10 * time.Second
	envTimeout       = 30 * time.Second

	// interpreterChange versions the workflow code: bump maxInterpreter and branch on
	// workflow.GetVersion when the interpretation changes, so waiting instances replay as they ran.
	interpreterChange = "archflow-interpreter"
	maxInterpreter    = workflow.Version(1)

	// Refused is the failure type of an activity a worker does not serve: nothing was sent, so
	// the workflow schedules it again (up to refusedRetries times) for a worker that does.
	Refused        = "ArchflowRefused"
	refusedRetries = 5
)

// Version of archflow recorded in every instance it starts.
var Version = "dev"

// Input is the workflow's input: the flow by name, content hash and source (so an instance keeps
// its version), the instance id and its inputs. It holds no secret.
type Input struct {
	Flow     string        `json:"flow"`
	Hash     string        `json:"hash"`
	Source   string        `json:"source"`
	Instance string        `json:"instance"`
	Inputs   engine.Values `json:"inputs"`
	MaxSteps int           `json:"max_steps,omitempty"`
	Version  string        `json:"archflow_version"`
	// Capture keeps notifications in the result instead of delivering them (test files).
	Capture bool `json:"capture,omitempty"`
	// Continuation and Env carry a continued instance into its next run (continue-as-new): where
	// it stopped, and the env() values already recorded for it.
	Continuation *engine.Continuation `json:"continuation,omitempty"`
	Env          map[string]string    `json:"env,omitempty"`
}

// DefaultHistoryLimit is the history length (events) at which an instance continues as new,
// well before Temporal's limit of about 50k events (or earlier, when the server suggests it).
const DefaultHistoryLimit = durable.DefaultHistoryLimit

// Flows finds the compiled flow of a name and hash, or says why the worker refuses it.
type Flows interface {
	Flow(name, hash string) (*engine.Flow, error)
}

// Workflow is the archflow workflow: it interprets the flow named by its input.
type Workflow struct {
	Flows Flows
	// Tracer, when set, receives the events of workflow code (enter, assign, decision, wait ...);
	// none are sent during replay. Requests and responses are traced by the activities.
	Tracer trace.Tracer
	// ActivityEvents brings the activities' events back into the workflow's trace, in order (the
	// test environment); on a server they would put whole requests and responses in history.
	ActivityEvents bool
	// UUID and Seed, when set, replace random ids and the seed derived from the instance id
	// (test files expect the ids and jitter of the local engine's test runner).
	UUID func() string
	Seed uint64
	// HistoryLimit overrides DefaultHistoryLimit (worker --history-limit, tests).
	HistoryLimit int
	// Edges, when set, receives the routes the instance took (coverage in the in-process test
	// environment: they are not part of the result that crosses Temporal).
	Edges func([]*engine.Edge)
	// Record, when set, is worker --record DIR: an instance that ends here is written as
	// DIR/<instance id>.cassette.yaml from the parts its steps recorded (record.go).
	Record string
}

// Run is the workflow function.
func (w *Workflow) Run(wctx workflow.Context, in Input) (*engine.Result, error) {
	workflow.GetVersion(wctx, interpreterChange, workflow.DefaultVersion, maxInterpreter)
	f, err := w.Flows.Flow(in.Flow, in.Hash)
	if err != nil {
		// Not a failure of the instance: this worker's workflow task fails and Temporal retries
		// it, on any worker of the queue, until one that serves the flow takes it (as it does for
		// a workflow type no worker has registered).
		panic("archflow: " + err.Error())
	}
	inputs, err := f.Inputs(in.Inputs)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), "ArchflowInput", nil)
	}
	env := in.Env
	if in.Continuation == nil {
		if env, err = resolveEnv(wctx, f, in); err != nil {
			return nil, err
		}
	}
	h := fnv.New64a()
	h.Write([]byte(in.Instance))
	seed := h.Sum64() | 1
	if w.Seed != 0 {
		seed = w.Seed
	}
	ids := 0
	if c := in.Continuation; c != nil {
		seed ^= uint64(c.Steps) // a continued instance does not draw its jitter again
		ids = 1                 // instance.id is the continuation's
	}
	var uuids []string // the uuid() results, for a recording
	gen := newUUID
	if w.UUID != nil {
		gen = w.UUID
	}
	// events estimates the history's length from the commands this run made (the test
	// environment keeps no history length); the server's count is used when it is larger.
	events := new(int)
	*events = 5
	opts := &engine.Options{
		Clock:     func() clock.Clock { return &workflowClock{w: wctx, events: events} },
		Transport: noTransport{},
		Env:       func(name string) (string, bool) { v, ok := env[name]; return v, ok },
		MaxSteps:  in.MaxSteps,
		Seed:      seed,
		UUID: func() string {
			ids++
			if ids == 1 {
				return in.Instance
			}
			var id string
			*events++
			if err := workflow.SideEffect(wctx, func(workflow.Context) any { return gen() }).Get(&id); err != nil {
				panic(err) // a broken history: Temporal retries the workflow task
			}
			uuids = append(uuids, id)
			return id
		},
	}
	if w.Tracer != nil {
		opts.Tracer = trace.TraceFunc(func(e *trace.Event) {
			if !workflow.IsReplaying(wctx) {
				w.Tracer.Event(e)
			}
		})
	}
	host := &host{w: wctx, in: in, flow: f, tracing: w.Tracer != nil && w.ActivityEvents, events: events}
	opts.Attempt = host.attempt
	opts.Channels = engine.DeliverFunc(host.deliver)
	if in.Capture {
		opts.Channels = engine.Capture{}
	}
	limit := w.HistoryLimit
	if limit <= 0 {
		limit = DefaultHistoryLimit
	}
	var stopped *engine.Instance
	opts.Checkpoint = func(inst *engine.Instance) bool {
		info := workflow.GetInfo(wctx)
		n := max(info.GetCurrentHistoryLength(), *events)
		if info.GetContinueAsNewSuggested() || n >= limit {
			stopped = inst
			return true
		}
		return false
	}
	var res *engine.Result
	if in.Continuation != nil {
		if res, err = f.Resume(workflowContext{wctx}, in.Continuation, opts); err != nil {
			return nil, temporal.NewNonRetryableApplicationError(err.Error(), "ArchflowContinuation", nil)
		}
	} else {
		res = f.Run(workflowContext{wctx}, inputs, opts)
	}
	if w.Edges != nil && res != nil {
		w.Edges(res.Edges)
	}
	if stopped != nil && stopped.Suspended() != nil {
		next := in
		next.Continuation, next.Env = stopped.Suspended(), env
		return nil, workflow.NewContinueAsNewError(wctx, WorkflowName, next)
	}
	w.writeCassette(wctx, in, inputs, seed, uuids, res)
	return res, nil
}

// resolveEnv reads the env() names of the flow once per instance, on a worker, and records them:
// workflow code never reads the environment. secret() names are never read here.
func resolveEnv(wctx workflow.Context, f *engine.Flow, in Input) (map[string]string, error) {
	var names []string
	for _, ec := range f.EnvCalls {
		if !ec.Secret && !slices.Contains(names, ec.Name) {
			names = append(names, ec.Name)
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	slices.Sort(names)
	actx := workflow.WithActivityOptions(wctx, workflow.ActivityOptions{StartToCloseTimeout: envTimeout,
		RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 3}})
	var env map[string]string
	err := workflow.ExecuteActivity(actx, ActivityEnv, EnvInput{Flow: in.Flow, Hash: in.Hash, Names: names}).Get(actx, &env)
	return env, err
}

// host implements the engine's Attempt and Deliver hooks as activities.
type host struct {
	events  *int // history events made, an estimate
	w       workflow.Context
	in      Input
	flow    *engine.Flow
	tracing bool
}

// AttemptInput is the attempt activity's input: the instance's variables, never its secrets.
type AttemptInput struct {
	Flow  string             `json:"flow"`
	Hash  string             `json:"hash"`
	State *engine.State      `json:"state"`
	Call  engine.AttemptCall `json:"call"`
	Trace bool               `json:"trace,omitempty"`
}

// AttemptResult is what comes back: the outcome, the mapped outputs and response scope, the
// requests sent, and the simulated time the exchange took (scripted delays in tests).
type AttemptResult struct {
	Outcome *engine.AttemptOutcome `json:"outcome,omitempty"`
	State   *engine.State          `json:"state,omitempty"`
	Calls   map[string]int         `json:"calls,omitempty"`
	Advance time.Duration          `json:"advance,omitempty"`
	Events  []*trace.Event         `json:"events,omitempty"`
	// RuntimeError is an error of the flow (a template that cannot render); Script a scripted
	// transport with no response left (tests): both end the attempt without an outcome.
	RuntimeError *failure.ErrorInfo `json:"runtime_error,omitempty"`
	Script       string             `json:"script,omitempty"`
}

func (h *host) attempt(ctx context.Context, inst *engine.Instance, call *engine.AttemptCall) (*engine.AttemptOutcome, error) {
	n := h.flow.Node(call.Node)
	if n == nil || engine.CallsOut(n) == nil {
		return nil, fmt.Errorf("node %s makes no data-action attempt", call.Node)
	}
	timeout := engine.CallsOut(n).Timeout
	if timeout <= 0 {
		timeout = engine.DefaultTimeout
	}
	actx := workflow.WithActivityOptions(h.w, workflow.ActivityOptions{
		StartToCloseTimeout: timeout + attemptMargin,
		HeartbeatTimeout:    heartbeatTimeout,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1}, // retries are the flow's
	})
	var out AttemptResult
	*h.events += 6 // activity scheduled, started, completed; a workflow task
	input := AttemptInput{Flow: h.in.Flow, Hash: h.in.Hash, State: inst.State(), Call: *call, Trace: h.tracing}
	err := executeServed(actx, ActivityAttempt, input, &out)
	if err != nil {
		if h.w.Err() != nil {
			return nil, context.Canceled
		}
		var te *temporal.TimeoutError
		if errors.As(err, &te) {
			// The worker was lost: no answer came back. The attempt counts as a call when the
			// worker had reported sending it; a task handed to a worker killed while it polled
			// sent nothing.
			var detail string
			if te.HasLastHeartbeatDetails() && te.LastHeartbeatDetails(&detail) == nil && detail == sending {
				inst.CountCall(engine.CallsOut(n).Name)
			}
			a := n.Step.(engine.Attempter)
			return a.AttemptLost(inst, call, &failure.ErrorInfo{Class: failure.Transient, Kind: failure.KindTimeout,
				Message: "no response within the timeout (the worker making the call was lost)"})
		}
		return nil, &failure.ErrorInfo{Class: failure.Permanent, Kind: failure.KindRuntime, Message: "attempt activity: " + err.Error()}
	}
	for _, a := range sortedKeys(out.Calls) {
		for range out.Calls[a] {
			inst.CountCall(a)
		}
	}
	// Events keep the times they had on the worker's clock, which began at workflow time: workflow
	// time moves to each before it is emitted again, then by what remains of the exchange.
	began := inst.Clock().Now()
	for _, e := range out.Events {
		if d := e.Time.Sub(inst.Clock().Now()); d > 0 {
			inst.Clock().Advance(d)
		}
		inst.Emit(e)
	}
	if d := began.Add(out.Advance).Sub(inst.Clock().Now()); d > 0 {
		inst.Clock().Advance(d)
	}
	if out.Script != "" {
		return nil, &transport.TransportError{Kind: engine.KindScript, Err: errors.New(out.Script)}
	}
	if out.State != nil {
		if err := inst.Apply(out.State); err != nil {
			return nil, err
		}
	}
	if out.RuntimeError != nil {
		return nil, out.RuntimeError
	}
	return out.Outcome, nil
}

// DeliverInput is the delivery activity's input.
type DeliverInput struct {
	Flow         string               `json:"flow"`
	Hash         string               `json:"hash"`
	State        *engine.State        `json:"state"`
	Node         string               `json:"node"`
	Notification *engine.Notification `json:"notification"`
}

func (h *host) deliver(ctx context.Context, inst *engine.Instance, ch *engine.ChannelRef, nt *engine.Notification) error {
	actx := workflow.WithActivityOptions(h.w, workflow.ActivityOptions{
		StartToCloseTimeout: deliverTimeout,
		HeartbeatTimeout:    heartbeatTimeout,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	*h.events += 6
	err := executeServed(actx, ActivityDeliver, DeliverInput{Flow: h.in.Flow, Hash: h.in.Hash,
		State: inst.State(), Node: nt.Node, Notification: nt}, nil)
	if err == nil {
		return nil
	}
	if h.w.Err() != nil {
		return context.Canceled
	}
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return errors.New(ae.Message())
	}
	var te *temporal.TimeoutError
	if errors.As(err, &te) {
		return errors.New("delivery not confirmed: the worker delivering it was lost")
	}
	return err
}

// executeServed runs an activity, again when a worker that does not serve the flow refused it.
func executeServed(actx workflow.Context, name string, input, out any) error {
	var err error
	for range refusedRetries {
		err = workflow.ExecuteActivity(actx, name, input).Get(actx, out)
		var ae *temporal.ApplicationError
		if !errors.As(err, &ae) || ae.Type() != Refused {
			return err
		}
	}
	return err
}

// clock is the instance clock in workflow code: workflow time, durable timers.
type workflowClock struct {
	w      workflow.Context
	events *int
}

func (c *workflowClock) Now() time.Time { return workflow.Now(c.w).UTC() }

func (c *workflowClock) Sleep(_ context.Context, d time.Duration) error {
	if d <= 0 {
		if c.w.Err() != nil {
			return context.Canceled
		}
		return nil
	}
	*c.events += 5 // timer started, fired; a workflow task
	if err := workflow.Sleep(c.w, d); err != nil {
		return context.Canceled
	}
	return nil
}

// Advance moves workflow time on by a simulated exchange's duration (scripted delays in tests);
// a real exchange has none.
func (c *workflowClock) Advance(d time.Duration) {
	if d > 0 {
		*c.events += 5
		_ = workflow.Sleep(c.w, d)
	}
}

// workflowContext lets the interpreter see the workflow's cancellation through context.Context.
// Done is nil: nothing in workflow code selects on it (waits are the clock's timers).
type workflowContext struct{ w workflow.Context }

func (c workflowContext) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c workflowContext) Done() <-chan struct{}       { return nil }
func (c workflowContext) Value(any) any               { return nil }
func (c workflowContext) Err() error {
	if c.w.Err() != nil {
		return context.Canceled
	}
	return nil
}

// noTransport is the workflow's transport: requests go out only from activities.
type noTransport struct{}

func (noTransport) Do(context.Context, *transport.Request) (*transport.Response, error) {
	return nil, &transport.TransportError{Kind: failure.KindNetwork, Err: errors.New("no HTTP in workflow code")}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
