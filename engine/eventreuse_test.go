package engine_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/clock"
	"github.com/archflow/archflow/engine/trace"
	"github.com/archflow/archflow/nodes"
)

// notCopier writes JSON Lines too, but is no trace.Copier: the instance makes every event anew.
type notCopier struct{ buf *bytes.Buffer }

func (n notCopier) Event(e *trace.Event) {
	b, err := trace.AppendJSON(nil, e, true)
	if err != nil {
		panic(err)
	}
	n.buf.Write(append(b, '\n'))
}

// An instance that reuses one event (and one assign set) for a tracer that copies them writes
// the trace one that makes each anew writes: several variables set at once, decisions both ways,
// a runtime error routed to on_error.
func TestReusedEventsTraceTheSame(t *testing.T) {
	t.Parallel()
	src := `flow: reuse
variables:
  n: {type: integer, default: 0}
  key: {type: string}
  s: {type: string, output: true}
start: init
on_error: fallback
nodes:
  init:
    assign: {key: "{{ env('KEY') }}", s: "x-{{ env('KEY') }}", n: 1}
    next: loop
  loop:
    assign: {n: "{{ n + 1 }}", s: "{{ s + string(n) }}"}
    next: more
  more:
    decision:
      - when: n < 4
        next: loop
    default: bad
  bad:
    wait: "{{ s }}"
    next: done
  fallback:
    wait: 5
    next: done
  done: {end: success}
`
	f, err := nodes.Builtins().Load("reuse.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	run := func(tr trace.Tracer) {
		f.Run(context.Background(), nil, &engine.Options{Tracer: tr, Channels: engine.Capture{}, Seed: 1,
			UUID:  func() string { return "id-1" },
			Env:   func(k string) (string, bool) { return "hush", k == "KEY" },
			Clock: func() clock.Clock { return clock.NewVirtualClock(time.Unix(0, 0)) }})
	}
	var reused, fresh bytes.Buffer
	jl := trace.NewJSONLTracer(&reused)
	run(jl)
	jl.Flush()
	run(notCopier{&fresh})
	if reused.String() != fresh.String() {
		t.Errorf("reused events:\n%s\nfresh events:\n%s", reused.String(), fresh.String())
	}
	if !bytes.Contains(reused.Bytes(), []byte(`"event":"error"`)) || bytes.Count(reused.Bytes(), []byte(`"event":"assign"`)) != 4 {
		t.Errorf("the trace lacks its error or assigns:\n%s", reused.String())
	}
}
