package engine_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/archflow/archflow/engine"
)

// Values cross a process boundary (a Temporal activity) with their Go types unchanged.
func TestValuesRoundTripKeepsTypes(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 28, 23, 0, 0, 123, time.FixedZone("", 3600))
	in := engine.Values{
		"int":      42,
		"float":    3.0,
		"fraction": 2.5,
		"string":   "x",
		"bool":     true,
		"notset":   nil,
		"time":     at,
		"duration": 90 * time.Second,
		"headers":  map[string]string{"Retry-After": "5"},
		"strings":  []string{"a", "b"},
		"body":     map[string]any{"n": 1.0, "list": []any{1.0, "two", nil}, "when": at},
		"wrapper":  map[string]any{"$t": "not a time"},
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out engine.Values
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	for k, want := range in {
		got := out[k]
		if w, ok := want.(time.Time); ok {
			if g, ok := got.(time.Time); !ok || !g.Equal(w) {
				t.Errorf("%s: got %#v, want %#v", k, got, want)
			}
			continue
		}
		if k == "body" {
			m := got.(map[string]any)
			if !m["when"].(time.Time).Equal(at) {
				t.Errorf("body.when: %#v", m["when"])
			}
			delete(m, "when")
			want = map[string]any{"n": 1.0, "list": []any{1.0, "two", nil}}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %#v (%T), want %#v (%T)", k, got, got, want, want)
		}
	}
}
