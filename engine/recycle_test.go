package engine_test

import (
	"context"
	"testing"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/nodes"
)

// Instances run one after another on a goroutine reuse the expression machine of the one before
// (Flow.runHere): nothing of an instance that ended may show in the next, nor change in its Result.
func TestRecycledMachineStartsClean(t *testing.T) {
	t.Parallel()
	src := `flow: recycle
variables:
  a: {type: string, input: true, default: "none"}
  b: {type: string, output: true}
  code: {type: integer, output: true}
start: pick
nodes:
  pick:
    decision:
      - when: a != "none"
        next: copy
    default: done
  copy:
    assign: {b: "{{ a }}", code: "{{ status + 7 }}"}
    next: done
  done: {end: success}
`
	f, err := nodes.Builtins().Load("recycle.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	opts := &engine.Options{Channels: engine.Capture{}}
	in, err := f.Inputs(map[string]any{"a": "given"})
	if err != nil {
		t.Fatal(err)
	}
	first := f.Run(context.Background(), in, opts)
	for range 3 {
		r := f.Run(context.Background(), nil, opts)
		if r.Outcome != "success" || r.Variables["a"] != "none" || r.Outputs["b"] != nil || r.Outputs["code"] != nil {
			t.Fatalf("a later instance saw an earlier one: %s %v %v", r.Outcome, r.Variables, r.Outputs)
		}
	}
	if first.Outputs["b"] != "given" || first.Outputs["code"] != 7 || first.Variables["a"] != "given" {
		t.Fatalf("the first instance's result changed: %v %v", first.Variables, first.Outputs)
	}
}
