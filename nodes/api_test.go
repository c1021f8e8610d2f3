package nodes_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/clock"
	"github.com/archflow/archflow/engine/failure"
	"github.com/archflow/archflow/engine/trace"
	"github.com/archflow/archflow/engine/transport"
	"github.com/archflow/archflow/nodes"
)

// clockStart is where every test instance's virtual clock starts.
var clockStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// reply is one scripted answer of the fake API.
type reply struct {
	status int
	header map[string]string
	body   string
}

// seen is one request the fake API received.
type seen struct {
	Method, Path, IdempotencyKey, RequestID, Body string
}

// api is an HTTP API on 127.0.0.1 that answers with a script (the last reply repeats) and
// records every request.
type api struct {
	*httptest.Server
	mu      sync.Mutex
	replies []reply
	reqs    []seen
}

func newAPI(t *testing.T, replies ...reply) *api {
	t.Helper()
	a := &api{replies: replies}
	a.Server = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.Close)
	return a
}

func (a *api) serve(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	n := len(a.reqs)
	a.reqs = append(a.reqs, seen{Method: r.Method, Path: r.URL.Path, IdempotencyKey: r.Header.Get("Idempotency-Key"),
		RequestID: r.Header.Get("X-Request-ID"), Body: string(b)})
	rp := a.replies[min(n, len(a.replies)-1)]
	a.mu.Unlock()
	for k, v := range rp.header {
		w.Header().Set(k, v)
	}
	if rp.body != "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(rp.status)
	io.WriteString(w, rp.body)
}

func (a *api) requests() []seen {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]seen(nil), a.reqs...)
}

// run is what one instance did: its result and its trace.
type run struct {
	res    *engine.Result
	events []*trace.Event
}

// runFlow loads a flow file and runs one instance on a virtual clock with env as its only
// environment. Ids are deterministic (id-1, id-2 ...).
func runFlow(t *testing.T, path string, env map[string]string, inputs map[string]any, mods ...func(*engine.Options)) *run {
	t.Helper()
	f, err := nodes.Builtins().LoadFile(path)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	in, err := f.Inputs(inputs)
	if err != nil {
		t.Fatalf("inputs: %v", err)
	}
	r := &run{}
	var mu sync.Mutex
	ids := 0
	opts := &engine.Options{
		Clock: func() clock.Clock { return clock.NewVirtualClock(clockStart) },
		Env: func(name string) (string, bool) {
			v, ok := env[name]
			return v, ok
		},
		Channels: engine.Capture{},
		Seed:     1,
		UUID: func() string {
			ids++
			return fmt.Sprintf("id-%d", ids)
		},
		Tracer: trace.TraceFunc(func(e *trace.Event) {
			mu.Lock()
			r.events = append(r.events, e)
			mu.Unlock()
		}),
	}
	for _, m := range mods {
		m(opts)
	}
	if errs := f.CheckEnv(opts.Env); len(errs) > 0 {
		t.Fatalf("env: %v", errs)
	}
	r.res = f.Run(context.Background(), in, opts)
	return r
}

// traceJSON is the trace as the --trace file would hold it.
func (r *run) traceJSON(t *testing.T) string {
	var b strings.Builder
	for _, e := range r.events {
		j, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

// waitEvents are the trace's wait events, in order.
func (r *run) waitEvents() []*trace.Event {
	var out []*trace.Event
	for _, e := range r.events {
		if e.Event == "wait" {
			out = append(out, e)
		}
	}
	return out
}

func seconds(ds ...float64) []float64 { return ds }

// scriptedTimeout is a transport whose every request times out after the action's timeout.
type scriptedTimeout struct {
	mu    sync.Mutex
	calls int
}

func (s *scriptedTimeout) Do(ctx context.Context, req *transport.Request) (*transport.Response, error) {
	s.mu.Lock()
	s.calls++
	s.mu.Unlock()
	return nil, &transport.TransportError{Kind: failure.KindTimeout, Transient: true, Err: errors.New("no response within the timeout"), Virtual: req.Timeout}
}
