package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/trace"
	"github.com/archflow/archflow/nodes"
)

// An instance tracing to a tracer that copies events reuses one event: each line holds only its
// own event's values, nothing left over from the one before (an assign of two variables, then
// events that set one or none).
func TestReusedEventHoldsOnlyItsOwnValues(t *testing.T) {
	t.Parallel()
	f, err := nodes.Builtins().Load("reset.yaml", []byte(`flow: reset
variables:
  x: {type: integer, default: 0}
  y: {type: string}
start: both
nodes:
  both:
    assign: {x: 1, y: "two"}
    next: one
  one:
    assign: {x: 3}
    next: done
  done: {end: success}
`))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tr := trace.NewJSONLTracer(&buf)
	f.Run(context.Background(), nil, &engine.Options{Tracer: tr, Channels: engine.Capture{}})
	tr.Flush()
	var sets []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		if e["event"] == "assign" {
			sets = append(sets, e["set"].(map[string]any))
		} else if _, ok := e["set"]; ok {
			t.Errorf("a %s event holds a set: %s", e["event"], line)
		}
	}
	want := []map[string]any{{"x": 1.0, "y": "two"}, {"x": 3.0}}
	if !reflect.DeepEqual(sets, want) {
		t.Errorf("assigns set %v, want %v\n%s", sets, want, buf.String())
	}
}
