package temporal

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/clock"
	"github.com/archflow/archflow/engine/failure"
	"github.com/archflow/archflow/engine/trace"
	"github.com/archflow/archflow/engine/transport"
)

func newUUID() string { return uuid.NewString() }

// Activities are the worker side: they perform an instance's attempts and deliveries in this
// process, with this worker's environment, transport and (per flow version) OAuth token cache.
type Activities struct {
	Flows Flows
	// Env looks env() and secret() names up; nil reads the process environment.
	Env func(name string) (string, bool)
	// Transport sends requests; nil gives real HTTP. Tests give a scripted one.
	Transport transport.Transport
	// Tracer receives the request and response events of the attempts this worker makes.
	Tracer trace.Tracer
	// Record, when set, is worker --record DIR: the exchanges of each step are written there,
	// redacted, for the instance's end to join into its cassette (record.go).
	Record string

	once sync.Once
	tr   transport.Transport
}

// heartbeat tells Temporal the worker is alive while an activity runs, so that a worker killed
// mid-call is noticed within heartbeatTimeout, not only at the start-to-close timeout. Its
// details say whether a request was being sent, so that a lost attempt counts as a call only
// then.
type heartbeat struct {
	ctx     context.Context
	mu      sync.Mutex
	details string
	done    chan struct{}
	stopped chan struct{}
}

// sending is the heartbeat detail of an attempt whose request went to the transport.
const sending = "sending"

func startHeartbeat(ctx context.Context) *heartbeat {
	h := &heartbeat{ctx: ctx, done: make(chan struct{}), stopped: make(chan struct{})}
	go func() {
		defer close(h.stopped)
		t := time.NewTicker(heartbeatTimeout / 4)
		defer t.Stop()
		for {
			select {
			case <-h.done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				h.record("")
			}
		}
	}()
	return h
}

// record heartbeats, with new details when d is not empty (a heartbeat replaces the last details).
func (h *heartbeat) record(d string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if d != "" {
		h.details = d
	}
	if h.details == "" {
		activity.RecordHeartbeat(h.ctx)
		return
	}
	activity.RecordHeartbeat(h.ctx, h.details)
}

func (h *heartbeat) stop() { close(h.done); <-h.stopped }

// heartbeatTransport reports each request before sending it.
type heartbeatTransport struct {
	transport.Transport
	hb *heartbeat
}

func (t heartbeatTransport) Do(ctx context.Context, req *transport.Request) (*transport.Response, error) {
	t.hb.record(sending)
	return t.Transport.Do(ctx, req)
}

// Unwrap is the transport the heartbeat wraps: state kept per transport (an OAuth token cache)
// belongs to it, not to one attempt's wrapper.
func (t heartbeatTransport) Unwrap() transport.Transport { return t.Transport }

func (a *Activities) transport() transport.Transport {
	a.once.Do(func() {
		a.tr = a.Transport
		if a.tr == nil {
			a.tr = transport.NewHTTPTransport() // one per worker, so connections are reused
		}
	})
	return a.tr
}

// EnvInput names the env() values an instance reads outside requests.
type EnvInput struct {
	Flow  string   `json:"flow"`
	Hash  string   `json:"hash"`
	Names []string `json:"names"`
}

// ResolveEnv reads env() values (never secrets) for the workflow to record.
func (a *Activities) ResolveEnv(ctx context.Context, in EnvInput) (map[string]string, error) {
	f, err := a.Flows.Flow(in.Flow, in.Hash)
	if err != nil {
		return nil, temporal.NewApplicationError(err.Error(), Refused)
	}
	secret := map[string]bool{}
	for _, ec := range f.EnvCalls {
		if ec.Secret {
			secret[ec.Name] = true
		}
	}
	out := map[string]string{}
	for _, n := range in.Names {
		if secret[n] {
			continue // a name read by both env() and secret() stays on the worker
		}
		if v, ok := a.lookup(n); ok {
			out[n] = v
		}
	}
	return out, nil
}

func (a *Activities) lookup(name string) (string, bool) {
	if a.Env != nil {
		return a.Env(name)
	}
	return engine.EnvChain()(name)
}

// Attempt performs one data-action attempt. Only the mapped outputs and the response scope come
// back (the body only when the flow reads it outside the action); never a secret or a token.
func (a *Activities) Attempt(ctx context.Context, in AttemptInput) (*AttemptResult, error) {
	f, err := a.Flows.Flow(in.Flow, in.Hash)
	if err != nil {
		return nil, temporal.NewApplicationError(err.Error(), Refused)
	}
	hb := startHeartbeat(ctx)
	defer hb.stop()
	clk := clock.NewVirtualClock(in.State.Now)
	opts := &engine.Options{Clock: func() clock.Clock { return clk }, Transport: heartbeatTransport{a.transport(), hb}, Env: a.Env, Seed: 1}
	res := &AttemptResult{}
	switch {
	case in.Trace:
		opts.Tracer = trace.TraceFunc(func(e *trace.Event) {
			cp := *e
			res.Events = append(res.Events, &cp)
		})
	case a.Tracer != nil:
		opts.Tracer = a.Tracer
	}
	opts, save := a.recordStep(opts)
	out, st, calls, err := f.RunAttempt(ctx, in.State, &in.Call, opts)
	if save != nil {
		save(ctx, in.State, nil, err)
	}
	res.Calls = calls
	res.Advance = clk.Now().Sub(in.State.Now)
	if st != nil {
		res.State = onlyOutputs(f, in.Call.Node, st)
	}
	if err != nil {
		var ie *failure.ErrorInfo
		switch {
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case engine.IsScriptError(err):
			res.Script = err.Error()
		case errors.As(err, &ie):
			res.RuntimeError = ie
		default:
			res.RuntimeError = &failure.ErrorInfo{Class: failure.Permanent, Kind: failure.KindRuntime, Message: err.Error()}
		}
		return res, nil
	}
	res.Outcome = out
	return res, nil
}

// onlyOutputs keeps of a state what an attempt may change: the action's output variables and
// the response scope, without the body when nothing outside the action reads it.
func onlyOutputs(f *engine.Flow, node string, st *engine.State) *engine.State {
	n := f.Node(node)
	keep := map[string]bool{}
	if n != nil && engine.CallsOut(n) != nil {
		for _, o := range engine.CallsOut(n).Outputs {
			keep[o.Var.Name] = true
		}
	}
	for name := range st.Vars {
		if !keep[name] {
			delete(st.Vars, name)
		}
	}
	if !readsBody(f) {
		delete(st.Scope, "body")
		delete(st.Scope, "text")
	}
	return st
}

// readsBody reports whether an expression outside the actions' own (success, classify, outputs)
// reads body or text, so the response body must reach workflow code.
func readsBody(f *engine.Flow) bool {
	own := map[*engine.Expr]bool{}
	for _, act := range f.Actions {
		own[act.Success] = true
		own[act.Classify] = true
		for _, o := range act.Outputs {
			own[o.Expr] = true
		}
	}
	for _, e := range f.Exprs() {
		if !own[e] && (e.Reads("body") || e.Reads("text")) {
			return true
		}
	}
	return false
}

// Deliver delivers one notification; a failed delivery is an application error naming why.
func (a *Activities) Deliver(ctx context.Context, in DeliverInput) error {
	f, err := a.Flows.Flow(in.Flow, in.Hash)
	if err != nil {
		return temporal.NewApplicationError(err.Error(), Refused)
	}
	hb := startHeartbeat(ctx)
	defer hb.stop()
	opts := &engine.Options{Clock: func() clock.Clock { return clock.NewVirtualClock(in.State.Now) }, Transport: a.transport(), Env: a.Env,
		Seed: 1, Tracer: a.Tracer}
	opts, save := a.recordStep(opts)
	err = f.RunDelivery(ctx, in.State, in.Node, in.Notification, opts)
	if save != nil {
		save(ctx, in.State, &in, err)
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return temporal.NewNonRetryableApplicationError(err.Error(), "ArchflowDelivery", nil)
	}
	return nil
}
