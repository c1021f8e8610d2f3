package engine_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/clock"
	"github.com/archflow/archflow/engine/transport"
	"github.com/archflow/archflow/nodes"
)

// A result handed back (Flow.Recycle) lends its maps and slices to a later instance: the later
// result is what a fresh one would be, nothing of the earlier one left in it.
func TestRecycledResultIsAFreshOne(t *testing.T) {
	t.Parallel()
	f, err := nodes.Builtins().Load("r.yaml", []byte(`flow: r
variables:
  n: {type: integer, input: true}
  big: {type: integer, output: true}
  small: {type: string, output: true}
actions:
  a: {method: GET, url: "http://127.0.0.1:1/a"}
  b: {method: GET, url: "http://127.0.0.1:1/b"}
start: pick
nodes:
  pick:
    decision:
      - when: n > 2
        next: many
    default: one
  many: {assign: {big: "{{ n }}"}, next: pause}
  pause: {wait: 5s, next: call_a}
  call_a: {data_action: a, next: call_b, on_failure: call_b}
  call_b: {data_action: b, next: done, on_failure: done}
  one: {assign: {small: "x"}, next: done}
  done: {end: success}
`))
	if err != nil {
		t.Fatal(err)
	}
	virtual := func() clock.Clock { return clock.NewVirtualClock(time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)) }
	opts := &engine.Options{Transport: answering{}, Channels: engine.Capture{}, Clock: virtual}
	// a hook keeps a run from taking a result handed back: fresh is always a new one
	freshOpts := &engine.Options{Transport: answering{}, Channels: engine.Capture{}, Clock: virtual, Started: func(*engine.Instance) {}}
	// a flow of the same name with other variables, whose results the pool may also be given
	other, err := nodes.Builtins().Load("r2.yaml", []byte(`flow: r
variables:
  extra: {type: string, output: true}
  n: {type: integer, input: true}
start: set
nodes:
  set: {assign: {extra: "left over"}, next: done}
  done: {end: failed}
`))
	if err != nil {
		t.Fatal(err)
	}
	// what a result says of its instance, its id and times aside
	said := func(r *engine.Result) string {
		return fmt.Sprintf("%s %v %v %v %v %v %v %v", r.Outcome, r.Outputs, r.Variables, r.Path, r.Calls, r.Waits, r.Edges, r.Error)
	}
	reused := 0
	for i := range 30 {
		order := [][2]int{{5, 1}, {1, 5}, {5, 5}}[i%3]
		first := f.Run(context.Background(), map[string]any{"n": order[0]}, opts)
		if i%5 == 4 {
			first = other.Run(context.Background(), map[string]any{"n": order[0]}, opts)
		}
		f.Recycle(first)
		later := f.Run(context.Background(), map[string]any{"n": order[1]}, opts)
		fresh := f.Run(context.Background(), map[string]any{"n": order[1]}, freshOpts)
		if later == first {
			reused++
		}
		if got, want := said(later), said(fresh); got != want {
			t.Errorf("n %d after n %d:\n got %s\nwant %s", order[1], order[0], got, want)
		}
		if !reflect.DeepEqual(later.Outputs, fresh.Outputs) || len(later.Path) != len(fresh.Path) {
			t.Errorf("n %d after n %d: outputs %v, path %v", order[1], order[0], later.Outputs, later.Path)
		}
	}
	if reused == 0 { // a sync.Pool may drop what it is given, never thirty times running
		t.Error("no result was reused")
	}
}

// answering answers every request with 200 and no body.
type answering struct{}

func (answering) Do(context.Context, *transport.Request) (*transport.Response, error) {
	return &transport.Response{Status: 200}, nil
}
