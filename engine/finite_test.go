package engine_test

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/trace"
)

// A result always encodes and a trace never skips an event, whatever a value holds.
func TestResultsAndTracesAlwaysEncode(t *testing.T) {
	t.Parallel()
	r := &engine.Result{Outcome: "escalated", Variables: map[string]any{"x": math.Inf(1), "keep": "me", "l": []any{math.NaN()}},
		Notifications: []*engine.Notification{{Channel: "dl", Body: "kept", Payload: map[string]any{"v": math.Inf(-1)}}}}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"outcome":"escalated"`, `"keep":"me"`, `"x":"+Inf"`, `"NaN"`, `"body":"kept"`, `"v":"-Inf"`, `"encode_error"`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("result %s lacks %s", b, want)
		}
	}
	var buf bytes.Buffer
	tr := trace.NewJSONLTracer(&buf)
	tr.Event(&trace.Event{Seq: 1, Event: "assign", Set: trace.Vars{{Name: "x", Value: math.NaN()}}})
	tr.Event(&trace.Event{Seq: 2, Event: "end"})
	tr.Flush()
	if lines := strings.Split(strings.TrimSpace(buf.String()), "\n"); len(lines) != 2 || !strings.Contains(lines[0], `"x":"NaN"`) {
		t.Errorf("trace:\n%s", buf.String())
	}
}
