package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/clock"
	"github.com/archflow/archflow/nodes"
)

// instance and the functions bound to an instance are made when an expression that may read them
// first runs: each reads as it always did, in a template, a condition, or through $env.
func TestLazyNamesRead(t *testing.T) {
	t.Parallel()
	src := `flow: lazy
variables:
  id: {type: string, output: true}
  flow_name: {type: string, output: true}
  at: {type: datetime, output: true}
  u: {type: string, output: true}
  e: {type: string, output: true}
  via_env: {type: string, output: true}
  wait: {type: integer, output: true}
start: first
nodes:
  first:
    assign: {id: "{{ instance.id }}"}
    next: check
  check:
    decision:
      - when: instance.flow == "lazy" && now() == instance.started
        next: rest
    default: bad
  rest:
    # env('X') + '': env() bound for the VM (env('X') alone is read without it)
    assign: {flow_name: "{{ instance.flow }}", at: "{{ now() }}", u: "{{ uuid() }}", e: "{{ env('X') + '' }}", via_env: "{{ $env.instance.id }}", wait: "{{ retry_after({'Retry-After': '7'}) }}"}
    next: done
  done: {end: success}
  bad: {end: wrong}
`
	f, err := nodes.Builtins().Load("lazy.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	n := 0
	r := f.Run(context.Background(), nil, &engine.Options{Channels: engine.Capture{},
		Clock: func() clock.Clock { return clock.NewVirtualClock(t0) },
		UUID:  func() string { n++; return []string{"", "inst", "second"}[n] },
		Env:   func(k string) (string, bool) { return "x-value", k == "X" }})
	want := map[string]any{"id": "inst", "flow_name": "lazy", "at": t0, "u": "second", "e": "x-value", "via_env": "inst", "wait": 7}
	if r.Outcome != "success" {
		t.Fatalf("outcome %s: %v", r.Outcome, r.Error)
	}
	for k, v := range want {
		if r.Outputs[k] != v {
			t.Errorf("%s = %#v, want %#v", k, r.Outputs[k], v)
		}
	}
}
