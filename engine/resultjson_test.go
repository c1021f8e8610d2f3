package engine

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/archflow/archflow/engine/failure"
)

// The hand-written result encoding is byte for byte the encoding/json one, and gives way to it
// for what it does not cover.
func TestResultAppendJSONIsEncodingJSON(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	weird := "<a&b> \"q\" \u2028 \xff é"
	for i, r := range []*Result{
		{Instance: "i-1", Flow: "f", Outcome: "success", Outputs: map[string]any{"b": 1, "a": weird}, Variables: map[string]any{"x": nil, "l": []any{1.5, "s"}, "m": map[string]any{"k": true}, "t": t0, "d": 90 * time.Second},
			Path: []string{"a", weird}, Calls: map[string]int{"z": 2, "a": 1}, Waits: []float64{30, 0.5, 1e-7, 1e21}, Started: t0, Ended: t0.Add(time.Minute), Input: &InputRef{Line: 7}},
		{Instance: "i-2", Flow: "f", Outcome: "error", Outputs: map[string]any{}, Variables: map[string]any{}, Path: []string{}, Calls: map[string]int{}, Waits: []float64{},
			Started: t0, Ended: t0, Error: &failure.ErrorInfo{Class: "permanent", Kind: "http", Message: weird, Status: 404, Node: "call"}},
		{Instance: "i-3", Flow: "f", Outcome: OutcomeInterrupted, StoppedAt: "backoff", Started: t0, Ended: t0},
		notStartedForTest(),
		{Instance: "i-4", Outcome: "x", Started: time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("Y", 3600))},
	} {
		want, werr := r.marshalJSONReflect()
		got, gerr := r.appendJSON(nil)
		if werr != nil || gerr != nil {
			t.Fatalf("result %d: errors %v, %v", i, werr, gerr)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("result %d:\n got %s\nwant %s", i, got, want)
		}
	}
	// what the hand-written path leaves to encoding/json
	for _, r := range []*Result{
		{Instance: "n", Variables: map[string]any{"x": math.NaN()}},
		{Instance: "w", Waits: []float64{math.Inf(1)}},
		{Instance: "k", Notifications: []*Notification{{Channel: "c"}}},
	} {
		if _, err := r.appendJSON(nil); err == nil {
			t.Errorf("%s: encoded by hand, want encoding/json", r.Instance)
		}
		got, err := r.MarshalJSON()
		want, _ := r.marshalJSONReflect()
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %s %v, want %s", r.Instance, got, err, want)
		}
	}
}

func notStartedForTest() *Result { return (&Flow{Name: "f"}).NotStarted(3) }
