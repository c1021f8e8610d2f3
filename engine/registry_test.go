package engine_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/clock"
	"github.com/archflow/archflow/engine/scripted"
	"github.com/archflow/archflow/engine/trace"
	"github.com/archflow/archflow/nodes"
)

// A registry forgotten (nil) or empty is a clear error naming the fix, not "give exactly one of"
// with an empty list of kinds.
func TestLoadWithoutComponentsSaysWhatToPass(t *testing.T) {
	t.Parallel()
	src := []byte("flow: f\nstart: a\nnodes:\n  a: {end: success}\n")
	for name, reg := range map[string]*engine.Registry{"nil": nil, "empty": engine.NewRegistry(nil, nil, nil)} {
		_, err := reg.Load("f.yaml", src)
		if err == nil || !strings.Contains(err.Error(), "f.yaml: error: no node kinds to compile with: pass a registry (nodes.Builtins() lists archflow's own)") {
			t.Errorf("%s registry: %v", name, err)
		}
	}
}

// A hand-built retry loop enters its data action once per call: each request says which entry
// into the node it is (text output reads "call #N").
func TestRequestsSayWhichVisitOfTheirNode(t *testing.T) {
	t.Parallel()
	f, err := nodes.Builtins().LoadFile("../flows/self-healing.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var visits []int
	in, _ := f.Inputs(map[string]any{"order_id": "V-1"})
	m, err := scripted.LoadMock("../flows/self-healing.mock.yaml") // 503, 503, 200
	if err != nil {
		t.Fatal(err)
	}
	f.Run(t.Context(), in, &engine.Options{Transport: m.Transport(), Channels: engine.Capture{},
		Clock: func() clock.Clock { return clock.NewVirtualClock(time.Unix(0, 0)) },
		Tracer: trace.TraceFunc(func(e *trace.Event) {
			if e.Event == "request" {
				visits = append(visits, e.Visit)
			}
		})})
	if !slices.Equal(visits, []int{1, 2, 3}) {
		t.Errorf("request visits %v, want [1 2 3]", visits)
	}
}

// A loop entering its call more times than a short path holds still numbers every entry.
func TestRequestsSayWhichVisitOfTheirNodeOnALongPath(t *testing.T) {
	t.Parallel()
	f, err := nodes.Builtins().Load("loop.yaml", []byte(`flow: loop
variables:
  n: {type: integer, default: 0}
actions:
  push: {method: POST, url: "http://127.0.0.1:1/x"}
start: call
nodes:
  call: {data_action: push, next: bump, on_failure: bump}
  bump: {assign: {n: "{{ n + 1 }}"}, next: check}
  check:
    decision:
      - when: n < 12
        next: call
    default: done
  done: {end: success}
`))
	if err != nil {
		t.Fatal(err)
	}
	var visits []int
	f.Run(t.Context(), map[string]any{}, &engine.Options{Transport: fakeERP{}, Channels: engine.Capture{}, Tracer: trace.TraceFunc(func(e *trace.Event) {
		if e.Event == "request" {
			visits = append(visits, e.Visit)
		}
	})})
	want := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	if !slices.Equal(visits, want) {
		t.Errorf("request visits %v, want %v", visits, want)
	}
}
