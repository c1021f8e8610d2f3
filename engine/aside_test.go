package engine_test

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/clock"
	"github.com/archflow/archflow/engine/trace"
	"github.com/archflow/archflow/nodes"
)

// asideFlow waits twice in a loop, with an assign, a decision and a uuid() around its waits.
const asideFlow = `flow: aside
variables:
  n: {type: integer, default: 0}
  id: {type: string, output: true}
start: init
nodes:
  init:
    assign: {id: "{{ uuid() }}"}
    next: pause
  pause:
    wait: 30
    next: count
  count:
    assign: {n: "{{ n + 1 }}"}
    next: more
  more:
    decision:
      - when: n < 2
        next: pause
    default: done
  done: {end: success}
`

// instantClock is a virtual clock of another type: the engine cannot tell that its waits end at
// once, so an instance on it runs aside, its waits made on Run's goroutine.
type instantClock struct{ *clock.VirtualClock }

// blockingClock waits until the context is done, telling when it starts to.
type blockingClock struct {
	*clock.VirtualClock
	waiting chan<- struct{}
}

func (c blockingClock) Sleep(ctx context.Context, d time.Duration) error {
	c.waiting <- struct{}{}
	<-ctx.Done()
	return ctx.Err()
}

func runTraced(t *testing.T, f *engine.Flow, ctx context.Context, clk func() clock.Clock) (*engine.Result, string) {
	t.Helper()
	var buf bytes.Buffer
	tr := trace.NewJSONLTracer(&buf)
	n := 0
	opts := &engine.Options{Clock: clk, Channels: engine.Capture{}, Tracer: tr, Seed: 7,
		UUID: func() string { n++; return strings.Repeat("u", n) }}
	r := f.Run(ctx, nil, opts)
	tr.Flush()
	return r, buf.String()
}

// An instance running aside does what one in place does: the same result, byte for byte the
// same trace, the same waits.
func TestAsideIsInPlace(t *testing.T) {
	t.Parallel()
	f, err := nodes.Builtins().Load("aside.yaml", []byte(asideFlow))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	here, hereTrace := runTraced(t, f, context.Background(), func() clock.Clock { return clock.NewVirtualClock(t0) })
	aside, asideTrace := runTraced(t, f, context.Background(), func() clock.Clock { return instantClock{clock.NewVirtualClock(t0)} })
	if here.Outcome != "success" || !reflect.DeepEqual(here.Waits, []float64{30, 30}) {
		t.Fatalf("in place: %s, waits %v", here.Outcome, here.Waits)
	}
	here.Redactor, aside.Redactor = nil, nil
	if !reflect.DeepEqual(here, aside) {
		t.Errorf("aside:\n%+v\nin place:\n%+v", aside, here)
	}
	if hereTrace != asideTrace {
		t.Errorf("aside trace:\n%s\nin place:\n%s", asideTrace, hereTrace)
	}
}

// An instance parked aside ends when its context does, where it waited, as one in place does.
func TestAsideInterrupted(t *testing.T) {
	t.Parallel()
	f, err := nodes.Builtins().Load("aside.yaml", []byte(asideFlow))
	if err != nil {
		t.Fatal(err)
	}
	waiting := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan *engine.Result)
	go func() {
		done <- f.Run(ctx, nil, &engine.Options{Channels: engine.Capture{},
			Clock: func() clock.Clock { return blockingClock{clock.NewVirtualClock(time.Unix(0, 0)), waiting} }})
	}()
	<-waiting
	cancel()
	r := <-done
	if r.Outcome != engine.OutcomeInterrupted || r.StoppedAt != "pause" || !reflect.DeepEqual(r.Path, []string{"init", "pause"}) {
		t.Errorf("got %s at %q, path %v; want interrupted at pause", r.Outcome, r.StoppedAt, r.Path)
	}
}

// boom panics when it runs.
type boom struct{ next *engine.Edge }

func (b *boom) Exec(context.Context, *engine.Instance) (*engine.Edge, error) { panic("boom") }

// A step's panic reaches Run's caller, as it would in place.
func TestAsidePanicReachesRun(t *testing.T) {
	t.Parallel()
	reg := nodes.Builtins()
	reg.AddKind(&engine.Kind{Spec: engine.Spec{Name: "boom", Doc: "panics."},
		Value: engine.Field{Doc: "anything.", Schema: engine.SchemaJSON(`{}`)},
		Compile: func(c *engine.Compiler, n *engine.Node, _ *yaml.Node, _ map[string]*yaml.Node) engine.Step {
			return &boom{}
		}})
	f, err := reg.Load("boom.yaml", []byte("flow: boom\nstart: pause\nnodes:\n  pause:\n    wait: 1\n    next: bang\n  bang: {boom: 1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if r := recover(); r != "boom" {
			t.Errorf("recovered %v, want the step's panic", r)
		}
	}()
	f.Run(context.Background(), nil, &engine.Options{Channels: engine.Capture{},
		Clock: func() clock.Clock { return instantClock{clock.NewVirtualClock(time.Unix(0, 0))} }})
	t.Error("Run returned")
}
