package temporal

import (
	"context"
	"log/slog"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/failure"
)

// testHash names the one flow version of a test environment.
const testHash = "test"

// TestRun runs one instance on the SDK's in-process test environment, with time skipping: the
// same workflow and activities as on a server, with opts' seams (a virtual clock's start time,
// a scripted transport answered inside the activities, the env lookup, captured notifications,
// deterministic ids). It has Flow.Run's signature so the test runner can use either.
func TestRun(ctx context.Context, f *engine.Flow, inputs map[string]any, opts *engine.Options) *engine.Result {
	if opts == nil {
		opts = &engine.Options{}
	}
	start := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	if opts.Clock != nil {
		start = opts.Clock().Now()
	}
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	env.SetTestTimeout(2 * time.Minute)
	fixed := Fixed{F: f, Hash: testHash}
	var edges []*engine.Edge
	w := &Workflow{Flows: fixed, Tracer: opts.Tracer, ActivityEvents: true, UUID: opts.UUID, Seed: opts.Seed,
		Edges: func(e []*engine.Edge) { edges = e }}
	acts := &Activities{Flows: fixed, Env: opts.Env, Transport: opts.Transport}
	Register(env, w, acts)
	id := newUUID()
	if opts.UUID != nil {
		id = opts.UUID()
	}
	in := Input{Flow: f.Name, Hash: testHash, Instance: id, Inputs: engine.Values(inputs), MaxSteps: opts.MaxSteps,
		Version: Version, Capture: captures(opts)}
	if ctx.Err() != nil {
		return notStarted(f, id)
	}
	stop := context.AfterFunc(ctx, env.CancelWorkflow)
	defer stop()
	env.ExecuteWorkflow(WorkflowName, in)
	var res engine.Result
	if err := env.GetWorkflowError(); err != nil {
		return failed(f, id, start, err)
	}
	if err := env.GetWorkflowResult(&res); err != nil {
		return failed(f, id, start, err)
	}
	Retype(f, &res)
	res.Edges = edges
	return &res
}

// Registrar is what a worker and the test environment both offer.
type Registrar interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
	RegisterActivityWithOptions(a any, options activity.RegisterOptions)
}

// Register registers the archflow workflow and its activities.
func Register(r Registrar, w *Workflow, a *Activities) {
	r.RegisterWorkflowWithOptions(w.Run, workflow.RegisterOptions{Name: WorkflowName})
	r.RegisterActivityWithOptions(a.Attempt, activity.RegisterOptions{Name: ActivityAttempt})
	r.RegisterActivityWithOptions(a.Deliver, activity.RegisterOptions{Name: ActivityDeliver})
	r.RegisterActivityWithOptions(a.ResolveEnv, activity.RegisterOptions{Name: ActivityEnv})
}

// Retype gives a result's variables their declared Go types back after JSON (integers, datetimes).
func Retype(f *engine.Flow, res *engine.Result) {
	fix := func(m map[string]any) {
		for _, v := range f.Vars {
			if x, ok := m[v.Name]; ok && x != nil {
				if n, isNum := x.(float64); isNum && v.Type == engine.TDuration {
					x = time.Duration(n) // a duration encodes as its nanoseconds
				}
				if y, err := v.Type.Convert(x); err == nil {
					m[v.Name] = y
				}
			}
		}
	}
	fix(res.Variables)
	fix(res.Outputs)
	for _, n := range res.Notifications {
		fix(n.Outputs)
	}
	if res.Calls == nil {
		res.Calls = map[string]int{}
	}
	if res.Waits == nil {
		res.Waits = []float64{}
	}
	if res.Path == nil {
		res.Path = []string{}
	}
}

func failed(f *engine.Flow, id string, at time.Time, err error) *engine.Result {
	return &engine.Result{Instance: id, Flow: f.Name, Outcome: engine.OutcomeError, Outputs: map[string]any{}, Variables: map[string]any{},
		Path: []string{}, Calls: map[string]int{}, Waits: []float64{}, Started: at, Ended: at,
		Error: &failure.ErrorInfo{Class: failure.Permanent, Kind: failure.KindRuntime, Message: err.Error()}}
}

func notStarted(f *engine.Flow, id string) *engine.Result {
	return &engine.Result{Instance: id, Flow: f.Name, Outcome: engine.OutcomeInterrupted, Outputs: map[string]any{}, Variables: map[string]any{},
		Path: []string{}, Calls: map[string]int{}, Waits: []float64{}}
}

// captures reports whether the options keep notifications instead of delivering them (a test).
func captures(opts *engine.Options) bool {
	_, ok := opts.Channels.(engine.Capture)
	return ok
}
