package cassette

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/trace"
	"github.com/archflow/archflow/engine/transport"
)

// Recorder records one instance: wrap the instance's options with Options, run it, then call
// Cassette with its result. Exchanges are kept raw while the instance runs and redacted at the
// end, when the instance's redactor knows every secret (a token is learnt from the very
// response that must not show it).
type Recorder struct {
	next transport.Transport
	seed uint64

	mu      sync.Mutex
	in      *engine.Instance
	inputs  map[string]any
	ids     []string // every id made: instance.id first, then uuid() results
	inter   []*Interaction
	pending []*Interaction // webhook exchanges of a delivery in progress
}

// NewRecorder records the exchanges sent through next (real HTTP, or a --mock transport: the
// cassette then holds what the mock answered).
func NewRecorder(next transport.Transport) *Recorder { return &Recorder{next: next} }

// Options returns a copy of base whose transport, uuids and channels are recorded by r.
func (r *Recorder) Options(base *engine.Options) *engine.Options {
	o := *base
	if base.Transport != nil {
		r.next = base.Transport
	}
	if r.next == nil {
		r.next = transport.NewHTTPTransport()
	}
	o.Transport = r
	if o.Seed == 0 { // drawn here, so that the cassette can hold it
		o.Seed = rand.Uint64()
	}
	r.seed = o.Seed
	ids := base.UUID
	if ids == nil {
		ids = uuid.NewString
	}
	o.UUID = func() string {
		id := ids()
		r.mu.Lock()
		r.ids = append(r.ids, id)
		r.mu.Unlock()
		return id
	}
	o.Channels = recordChannels{r: r, base: base.Channels}
	started := base.Started
	o.Started = func(in *engine.Instance) {
		r.mu.Lock()
		r.in = in
		r.inputs = map[string]any{}
		for _, v := range in.Flow().Vars {
			if x := in.Get(v.Name); v.Input && x != nil {
				r.inputs[v.Name] = x
			}
		}
		r.mu.Unlock()
		if started != nil {
			started(in)
		}
	}
	return &o
}

func (r *Recorder) now() time.Time {
	r.mu.Lock()
	in := r.in
	r.mu.Unlock()
	if in == nil {
		return time.Now()
	}
	return in.Clock().Now()
}

// Unwrap is the transport the recorder sends through.
func (r *Recorder) Unwrap() transport.Transport { return r.next }

// Do sends req through the wrapped transport and records the exchange.
func (r *Recorder) Do(ctx context.Context, req *transport.Request) (*transport.Response, error) {
	at := r.now()
	resp, err := r.next.Do(ctx, req)
	if err != nil && ctx.Err() != nil {
		return resp, err // interrupted: the recording stops where the instance did
	}
	it := &Interaction{Action: req.Action, Node: req.Node, Attempt: req.Attempt, At: at,
		Request: &Request{Method: req.Method, URL: req.URL, Headers: flatten(req.Header), Body: string(req.Body)}}
	if resp != nil {
		elapsed := resp.Elapsed
		if resp.Virtual > 0 {
			elapsed = resp.Virtual
		}
		it.Response = &Response{Status: resp.Status, Headers: flatten(resp.Header), Body: string(resp.Body), Elapsed: elapsed.Seconds()}
	}
	if err != nil {
		it.Error, it.Message = errorKind(err), err.Error()
	}
	r.mu.Lock()
	if it.IsDelivery() {
		r.pending = append(r.pending, it)
	} else {
		r.inter = append(r.inter, it)
	}
	r.mu.Unlock()
	return resp, err
}

// errorKind names a transport error as a cassette does.
func errorKind(err error) string {
	var te *transport.TransportError
	if !errors.As(err, &te) {
		return ErrConnectionReset
	}
	switch te.Kind {
	case "network":
		return ErrConnectionReset
	case ErrTimeout, ErrDNS, ErrTLS, ErrTooLarge, ErrScript:
		return te.Kind
	}
	return ErrConnectionReset
}

func flatten(h http.Header) map[string]string {
	if len(h) == 0 {
		return nil
	}
	out := make(map[string]string, len(h))
	for k, vs := range h {
		out[http.CanonicalHeaderKey(k)] = strings.Join(vs, ", ")
	}
	return out
}

type recordChannels struct {
	r    *Recorder
	base engine.Channels
}

func (c recordChannels) Channel(ref *engine.ChannelRef) engine.Channel {
	inner := ref.Channel
	if c.base != nil {
		inner = c.base.Channel(ref)
	}
	return recordChannel{r: c.r, name: ref.Name, inner: inner}
}

type recordChannel struct {
	r     *Recorder
	name  string
	inner engine.Channel
}

// Deliver delivers for real and records the delivery with its result; a webhook's HTTP
// exchange, seen by the transport meanwhile, becomes part of the same interaction.
func (c recordChannel) Deliver(ctx context.Context, in *engine.Instance, n *engine.Notification) error {
	at := in.Clock().Now()
	err := c.inner.Deliver(ctx, in, n)
	r := c.r
	r.mu.Lock()
	defer r.mu.Unlock()
	pend := r.pending
	r.pending = nil
	if err != nil && ctx.Err() != nil {
		return err
	}
	it := &Interaction{Action: transport.NotifyPrefix + c.name, Node: n.Node, At: at, Result: Delivered}
	if len(pend) > 0 {
		last := pend[len(pend)-1]
		it.Attempt, it.Request, it.Response, it.Error = last.Attempt, last.Request, last.Response, last.Error
	}
	if err != nil {
		it.Result, it.Message = Failed, err.Error()
	}
	r.inter = append(r.inter, it)
	return err
}

// Cassette is the recording of the instance that gave res, redacted with its redactor.
func (r *Recorder) Cassette(res *engine.Result) *Cassette {
	r.mu.Lock()
	defer r.mu.Unlock()
	red := res.Redactor
	if red == nil {
		red = &trace.Redactor{}
	}
	c := &Cassette{Version: Version, Flow: res.Flow, Instance: res.Instance, Started: res.Started,
		Inputs: map[string]any{}, UUIDs: []string{}, Seed: r.seed, Interactions: []*Interaction{}}
	for k, v := range r.inputs {
		c.Inputs[k] = Plain(red.Value(v))
	}
	if len(r.ids) > 1 { // the first id made is instance.id
		c.UUIDs = append(c.UUIDs, r.ids[1:]...)
	}
	inter := slices.Concat(r.inter, r.pending) // a delivery cut short keeps its exchange
	for i, it := range inter {
		cp := *it
		cp.Index = i + 1
		cp.Message = red.String(cp.Message)
		if it.Request != nil {
			cp.Request = &Request{Method: it.Request.Method, URL: red.String(it.Request.URL),
				Headers: redactHeaders(red, it.Request.Headers), Body: red.String(it.Request.Body)}
		}
		if it.Response != nil {
			b := it.Response.Body
			if cp.IsToken() {
				b = redactTokenBody(b)
			}
			cp.Response = &Response{Status: it.Response.Status, Headers: redactHeaders(red, it.Response.Headers),
				Body: red.String(b), Elapsed: it.Response.Elapsed}
		}
		c.Interactions = append(c.Interactions, &cp)
	}
	c.Result = &Result{Outcome: res.Outcome, Path: res.Path, Waits: res.Waits, Calls: res.Calls,
		StoppedAt: res.StoppedAt, Ended: res.Ended}
	if len(res.Outputs) > 0 {
		c.Result.Outputs = Plain(res.Outputs).(map[string]any)
	}
	return c
}

func redactHeaders(red *trace.Redactor, h map[string]string) map[string]string {
	if len(h) == 0 {
		return nil
	}
	mh := make(map[string][]string, len(h))
	for k, v := range h {
		mh[k] = []string{v}
	}
	return red.RedactHeaders(mh)
}

// tokenFields are the fields of a token response that hold credentials.
var tokenFields = []string{"access_token", "refresh_token", "id_token"}

// redactTokenBody hides the tokens of a token response whatever the redactor knows: a token
// request that failed half-way never reached the redactor.
func redactTokenBody(b string) string {
	var m map[string]any
	if json.Unmarshal([]byte(b), &m) != nil {
		return b
	}
	changed := false
	for _, k := range tokenFields {
		if _, ok := m[k]; ok {
			m[k] = trace.Redacted
			changed = true
		}
	}
	if !changed {
		return b
	}
	out, err := json.Marshal(m)
	if err != nil {
		return b
	}
	return string(out)
}
