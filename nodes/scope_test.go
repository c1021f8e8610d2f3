package nodes_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/clock"
	"github.com/archflow/archflow/engine/transport"
	"github.com/archflow/archflow/nodes"
)

// answers replies to the requests it gets in turn, the last one again when it runs out.
type answers []*transport.Response

func (a *answers) Do(context.Context, *transport.Request) (*transport.Response, error) {
	r := (*a)[0]
	if len(*a) > 1 {
		*a = (*a)[1:]
	}
	return r, nil
}

// An instance's environment holds only the scope names some expression of the flow reads: what
// the flow reads, however it reads it, it sees; a response's Retry-After is honoured whether or
// not the flow reads headers, under any spelling of the key. Untraced (a trace shows the whole
// response anyway).
func TestScopeNamesAsRead(t *testing.T) {
	t.Parallel()
	load := func(src string) *engine.Flow {
		t.Helper()
		f, err := nodes.Builtins().Load("scope.yaml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	run := func(f *engine.Flow, replies ...*transport.Response) *engine.Result {
		a := answers(replies)
		return f.Run(context.Background(), nil, &engine.Options{Transport: &a, Channels: engine.Capture{},
			Clock: func() clock.Clock { return clock.NewVirtualClock(clockStart) }})
	}
	const head = `flow: scope
variables:
  seen: {type: string, output: true}
actions:
  get: {method: GET, url: "http://127.0.0.1:1/x"}
start: call
`
	ok := &transport.Response{Status: 200, Header: http.Header{"x-id": {"A-1"}}, Body: []byte(`{"n": 2}`), Elapsed: 1500 * time.Millisecond}

	// $env reads every name
	r := run(load(head+`nodes:
  call: {data_action: get, next: look, on_failure: done}
  look: {assign: {seen: "{{ $env['text'] }}|{{ $env['status'] }}"}, next: done}
  done: {end: success}
`), ok)
	if got := r.Outputs["seen"]; got != `{"n": 2}|200` {
		t.Errorf("$env: seen %q", got)
	}

	// each response name read alone holds the response's value (headers' keys made canonical)
	for _, tc := range []struct{ read, want string }{
		{"status", "200"}, {"headers['X-Id']", "A-1"}, {"body.n", "2"}, {"text", `{"n": 2}`}, {"elapsed", "1.5"},
	} {
		r = run(load(head+`nodes:
  call: {data_action: get, next: look, on_failure: done}
  look: {assign: {seen: "={{ `+tc.read+` }}"}, next: done}
  done: {end: success}
`), ok)
		if got := r.Outputs["seen"]; got != "="+tc.want {
			t.Errorf("%s read alone: %q, want %q", tc.read, got, tc.want)
		}
	}

	// nothing reads headers: Retry-After still sets the wait
	busy := &transport.Response{Status: 503, Header: http.Header{"retry-after": {"7"}}}
	r = run(load(head+`nodes:
  call:
    data_action: get
    retry: {max_attempts: 2, backoff: {schedule: [30s]}}
    next: done
    on_failure: done
  done: {end: success}
`), busy, ok)
	if !slices.Equal(r.Waits, []float64{7}) || r.Ended.Sub(r.Started) != 7*time.Second {
		t.Errorf("waits %v over %s, want [7] (Retry-After)", r.Waits, r.Ended.Sub(r.Started))
	}

	// error, read after a failure, is the failure's; retries read by name count
	r = run(load(head+`nodes:
  call:
    data_action: get
    retry: {max_attempts: 2, backoff: {schedule: [1s]}}
    next: done
    on_failure: look
  look: {assign: {seen: "{{ error.kind }} {{ error.status }} {{ retries.call }}"}, next: done}
  done: {end: success}
`), &transport.Response{Status: 404})
	if got := r.Outputs["seen"]; got != "http 404 0" {
		t.Errorf("error: seen %q", got)
	}
}
