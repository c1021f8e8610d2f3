package engine

import (
	"bytes"
	"math"
	"reflect"
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

// Every field of Result, set, comes out as the encoding/json path writes it: a field added to
// Result and not to appendJSON fails here.
func TestResultAppendJSONKnowsEveryField(t *testing.T) {
	var r Result
	v := reflect.ValueOf(&r).Elem()
	for i := range v.NumField() {
		f := v.Type().Field(i)
		switch f.Name {
		case "Notifications": // they take the encoding/json path
			continue
		}
		if f.Tag.Get("json") == "-" {
			continue
		}
		v.Field(i).Set(resultSample(t, f.Name, f.Type))
	}
	want, werr := r.marshalJSONReflect()
	got, gerr := r.appendJSON(nil)
	if werr != nil || gerr != nil || !bytes.Equal(got, want) {
		t.Fatalf("a Result with every field set:\n got %s %v\nwant %s %v\n(a new Result field needs its lines in appendJSON)", got, gerr, want, werr)
	}
}

func resultSample(t *testing.T, name string, typ reflect.Type) reflect.Value {
	switch typ {
	case reflect.TypeOf(time.Time{}):
		return reflect.ValueOf(time.Date(2001, 2, 3, 4, 5, 6, 7, time.UTC))
	case reflect.TypeOf(failure.ErrorInfo{}):
		return reflect.ValueOf(failure.ErrorInfo{Class: "c", Kind: "k", Message: "m", Status: 1, Node: "n"})
	case reflect.TypeOf(InputRef{}):
		return reflect.ValueOf(InputRef{Line: 3})
	}
	switch typ.Kind() {
	case reflect.String:
		return reflect.ValueOf(name + "-value").Convert(typ)
	case reflect.Int:
		return reflect.ValueOf(7).Convert(typ)
	case reflect.Float64:
		return reflect.ValueOf(1.5).Convert(typ)
	case reflect.Pointer:
		p := reflect.New(typ.Elem())
		p.Elem().Set(resultSample(t, name, typ.Elem()))
		return p
	case reflect.Map:
		m := reflect.MakeMap(typ)
		m.SetMapIndex(resultSample(t, name, typ.Key()), resultSample(t, name, typ.Elem()))
		return m
	case reflect.Slice:
		s := reflect.MakeSlice(typ, 1, 1)
		s.Index(0).Set(resultSample(t, name, typ.Elem()))
		return s
	case reflect.Interface:
		return reflect.ValueOf(name + "-any")
	}
	t.Fatalf("Result.%s: no sample value for %s; teach this test", name, typ)
	return reflect.Value{}
}

// AppendJSON appends MarshalJSON's bytes, the encoding/json path's included.
func TestResultAppendJSONIsMarshalJSON(t *testing.T) {
	t.Parallel()
	for _, r := range []*Result{
		{Instance: "i", Flow: "f", Outcome: OutcomeSuccess, Outputs: map[string]any{"a": 1.5}, Path: []string{"x"}},
		{Instance: "i", Flow: "f", Outcome: OutcomeError, Outputs: map[string]any{"bad": math.NaN()}}, // reflect path, encode_error
		{Instance: "i", Notifications: []*Notification{{Channel: "c"}}},                               // reflect path
	} {
		want, err := r.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.AppendJSON([]byte("prefix "))
		if err != nil || string(got) != "prefix "+string(want) {
			t.Errorf("AppendJSON: %s %v\nMarshalJSON: prefix %s", got, err, want)
		}
	}
}
