package nodes_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/transport"
	"github.com/archflow/archflow/nodes"
)

// bodyCatcher answers every request with 200 and keeps the last one.
type bodyCatcher struct {
	mu  sync.Mutex
	req *transport.Request
}

func (c *bodyCatcher) Do(_ context.Context, req *transport.Request) (*transport.Response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.req = req
	return &transport.Response{Status: 200, Body: []byte(`{}`)}, nil
}

// A JSON body goes out as encoding/json writes it (sorted keys, its escaping and number
// formatting), though it is written without encoding/json: re-encoding what was sent with
// encoding/json gives the same bytes. (Invalid UTF-8, which decodes to what it was replaced
// with, cannot be shown this way; trace's encoder tests compare it with encoding/json.)
func TestJSONBodyIsEncodingJSONBytes(t *testing.T) {
	t.Parallel()
	flow, err := nodes.Builtins().Load("body.yaml", []byte(`flow: body
variables:
  name: {type: string, input: true}
actions:
  push:
    method: POST
    url: "http://127.0.0.1:1/x"
    body:
      name: "{{ name }}"
      zeta: [1, 2.5, 0.000001, 1e21, -0, true, null]
      alpha: {"<b>": "&", "é": "\u2028\t\u0001"}
      count: 3
start: call
nodes:
  call: {data_action: push, next: done, on_failure: done}
  done: {end: success}
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"plain", `"quoted" <html> & 'x'`, "\u2029 é \\ \n", ""} {
		in, err := flow.Inputs(map[string]any{"name": name})
		if err != nil {
			t.Fatal(err)
		}
		c := &bodyCatcher{}
		if r := flow.Run(context.Background(), in, &engine.Options{Transport: c, Channels: engine.Capture{}}); r.Outcome != engine.OutcomeSuccess {
			t.Fatalf("%q: outcome %s %v", name, r.Outcome, r.Error)
		}
		var v any
		if err := json.Unmarshal(c.req.Body, &v); err != nil {
			t.Fatalf("%q: body %s: %v", name, c.req.Body, err)
		}
		want, _ := json.Marshal(v)
		if string(c.req.Body) != string(want) {
			t.Errorf("%q: sent %s\nencoding/json writes %s", name, c.req.Body, want)
		}
		if ct := c.req.Header.Get("Content-Type"); ct != "application/json" || c.req.Header.Get("Accept") != "application/json" {
			t.Errorf("%q: Content-Type %q, Accept %q", name, ct, c.req.Header.Get("Accept"))
		}
	}
}
