package trace

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/archflow/archflow/engine/failure"
)

// stdJSON is what encoding/json writes for e, its Set written as the map it stands for:
// json.Marshal, or an Encoder without HTML escaping.
func stdJSON(e *Event, html bool) ([]byte, error) {
	if html {
		return json.Marshal(withMapSet(e))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(withMapSet(e))
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), err
}

// withMapSet is e as a struct of the same fields, tags and order, whose Set is a map.
func withMapSet(e *Event) any {
	fields := reflect.VisibleFields(reflect.TypeFor[Event]())
	for i := range fields {
		fields[i].Index, fields[i].Offset = nil, 0
		if fields[i].Name == "Set" {
			fields[i].Type = reflect.TypeFor[map[string]any]()
		}
	}
	v := reflect.New(reflect.StructOf(fields)).Elem()
	src := reflect.ValueOf(e).Elem()
	for i, f := range fields {
		if f.Name != "Set" {
			v.Field(i).Set(src.Field(i))
		} else if e.Set != nil {
			v.Field(i).Set(reflect.ValueOf(e.Set.Map()))
		}
	}
	return v.Addr().Interface()
}

// assignedValues are values of every kind a variable or a body holds, and some it does not.
func assignedValues() map[string]any {
	until := time.Date(2026, 1, 2, 3, 4, 5, 600, time.FixedZone("X", 5*3600+1800))
	weird := "a<b>&c \"q\" \\ \n\r\t\b\f\x01\x1f \u2028\u2029 é 😀 \xff\xfe end"
	return map[string]any{
		"s": weird, "i": int64(-7), "f": -0.0, "b": true, "nil": nil, "t": until, "d": 90 * time.Second,
		"list": []any{1.0, "two", nil, map[string]any{"z": 1, "a": []any{}}}, "m": map[string]any{}, "nm": map[string]any(nil),
		"ss": map[string]string{"k": "v"}, "f32": float32(0.1), "u": uint8(3), "strs": []string{"a"}, "big": 123456789012345678.0,
		"tiny": 1e-7, "huge": 1e22, weird: "key"}
}

// stdValue is what encoding/json writes for v.
func stdValue(v any, html bool) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(html)
	err := enc.Encode(v)
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), err
}

// An event's Vars encode as encoding/json encodes the map they hold, in any order they come.
func TestVarsEncodeAsTheirMap(t *testing.T) {
	m := assignedValues()
	sorted := VarsOf(m)
	reversed := slices.Clone(sorted)
	slices.Reverse(reversed)
	for _, html := range []bool{true, false} {
		want, err := stdValue(m, html)
		if err != nil {
			t.Fatal(err)
		}
		for _, vs := range []Vars{sorted, reversed} {
			got, err := AppendJSON(nil, &Event{Set: vs}, html)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(got, append([]byte(`"set":`), want...)) {
				t.Errorf("html %v: got %s\nwant \"set\":%s", html, got, want)
			}
		}
		// MarshalJSON escapes HTML, as json.Marshal does (an Encoder cannot tell it not to)
		if got, err := json.Marshal(reversed); html && (err != nil || !bytes.Equal(got, want)) {
			t.Errorf("json.Marshal(Vars): %s %v\nwant %s", got, err, want)
		}
	}
	var back struct{ Set Vars }
	if err := json.Unmarshal([]byte(`{"Set":{"b":1,"a":"x"}}`), &back); err != nil || !reflect.DeepEqual(back.Set, Vars{{"a", "x"}, {"b", 1.0}}) {
		t.Errorf("read back %#v, %v", back.Set, err)
	}
	vs := Vars{{"s", "x y"}, {"n", nil}, {"d", 90 * time.Second}, {"b", 1.5}}
	if got, want := FormatVars(vs.Map()), `b=1.5 d=1m30s n=NOT_SET s="x y"`; got != want {
		t.Errorf("FormatVars(Map) = %s, want %s", got, want)
	}
}

func encodeEvents() []*Event {
	status, elapsed, secs := 503, 0.012345, 1e-7
	big, zero := 1e21, 0.0
	until := time.Date(2026, 1, 2, 3, 4, 5, 600, time.FixedZone("X", 5*3600+1800))
	t0 := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	weird := "a<b>&c \"q\" \\ \n\r\t\b\f\x01\x1f \u2028\u2029 é 😀 \xff\xfe end"
	return []*Event{
		{Seq: 1, Instance: "i-1", Time: t0, Event: "start", Flow: "f", Inputs: map[string]any{"b": 2, "a": "x", "c": 1.5}},
		{Seq: 2, Instance: "i-1", Time: t0.Add(time.Nanosecond), Node: "n", Kind: "assign", Event: "enter", From: "a", Via: "case 1"},
		{Seq: 3, Instance: "i-1", Time: t0, Node: "n", Kind: "assign", Event: "assign", Set: VarsOf(assignedValues())},
		{Seq: 4, Instance: "i-1", Time: until, Node: "call", Kind: "data_action", Event: "request", Action: "push", Attempt: 2, Visit: 3,
			Method: "POST", URL: "http://h/x?a=1&b=<2>", Headers: map[string]string{"B": "2", "A": "1", "X-" + weird: weird},
			Body: map[string]any{"id": "A-1", "amount": 42.0}},
		{Seq: 5, Instance: "i-1", Time: t0, Node: "call", Kind: "data_action", Event: "response", Status: &status, Elapsed: &elapsed,
			Body: "not json <x>", Outcome: "failure", Class: "transient", Error: &failure.ErrorInfo{Class: "transient", Kind: "http", Message: weird, Status: 503, Node: "call"}},
		{Seq: 6, Instance: "i-1", Time: t0, Node: "d", Kind: "decision", Event: "decision", Case: "default", Next: "x"},
		{Seq: 7, Instance: "i-1", Time: t0, Node: "w", Kind: "wait", Event: "wait", Seconds: &secs, Until: &until},
		{Seq: 8, Instance: "i-1", Time: t0, Node: "w", Kind: "wait", Event: "wait", Seconds: &big},
		{Seq: 9, Instance: "i-1", Time: t0, Node: "w", Kind: "wait", Event: "wait", Seconds: &zero, Message: weird},
		{Seq: 10, Instance: "i-1", Time: t0, Node: "e", Kind: "notify", Event: "notify", Channel: "c", Subject: weird, Outcome: "delivered"},
		{Seq: 11, Instance: "i-1", Time: t0, Event: "end", Outcome: "error", Error: &failure.ErrorInfo{Class: "permanent", Kind: "runtime", Message: "m"}},
		{Seq: 12, Instance: "", Time: time.Time{}, Event: ""},
		{Seq: 13, Instance: "i", Time: t0, Event: "response", Body: map[string]any(nil)},
		{Seq: 14, Instance: "i", Time: t0, Event: "response", Body: []any{json.Number("12"), json.RawMessage(`{"a" : 1}`)}},
		{Seq: 15, Instance: "i", Time: time.Date(987, 12, 31, 23, 59, 58, 120000000, time.UTC), Event: "x"},
		{Seq: 16, Instance: "i", Time: time.Date(9999, 1, 9, 7, 5, 3, 1, time.UTC), Event: "x"},
		{Seq: 17, Instance: "i", Time: time.Date(2026, 6, 10, 10, 0, 0, 999999999, time.UTC), Event: "x"},
		// zero offsets that are not time.UTC (a Local clock in UTC, a named zone): Z, as RFC 3339 writes them
		{Seq: 18, Instance: "i", Time: time.Date(2026, 1, 2, 3, 4, 5, 60, time.FixedZone("GMT", 0)), Event: "x"},
		{Seq: 19, Instance: "i", Time: time.Unix(1700000000, 5000), Event: "x"},
		{Seq: 20, Instance: "i", Time: time.Date(0, 1, 1, 0, 0, 0, 0, time.FixedZone("", 0)), Event: "x"},
		{Seq: 21, Instance: "i", Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("W", -3600)), Event: "x"},
	}
}

// The hand-written encoding is byte for byte encoding/json's, with and without HTML escaping:
// traces written before keep comparing equal (snapshot goldens, graph --trace, replay).
func TestAppendJSONIsEncodingJSON(t *testing.T) {
	for _, html := range []bool{true, false} {
		for _, e := range encodeEvents() {
			want, werr := stdJSON(e, html)
			got, gerr := AppendJSON(nil, e, html)
			if werr != nil || gerr != nil {
				t.Fatalf("event %d: errors %v, %v", e.Seq, werr, gerr)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("event %d (html %v):\n got %s\nwant %s", e.Seq, html, got, want)
			}
		}
	}
}

// What JSON cannot hold is an error, as it is for json.Marshal, so the tracer's fallback runs.
func TestAppendJSONRefusesWhatJSONCannotHold(t *testing.T) {
	nan, far := math.NaN(), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, e := range []*Event{
		{Event: "wait", Seconds: &nan},
		{Event: "assign", Set: Vars{{"x", math.Inf(1)}}},
		{Event: "wait", Until: &far},
		{Event: "x", Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.FixedZone("GMT", 0))},
		{Event: "x", Time: time.Date(-1, 1, 1, 0, 0, 0, 0, time.FixedZone("GMT", 0))},
		{Event: "assign", Set: Vars{{"f", func() {}}}},
	} {
		_, want := json.Marshal(withMapSet(e))
		_, got := AppendJSON(nil, e, true)
		if want == nil || got == nil || got.Error() != want.Error() {
			t.Errorf("%+v: got error %v, json.Marshal's %v", e, got, want)
		}
	}
	var buf bytes.Buffer
	tr := NewJSONLTracer(&buf)
	tr.Event(&Event{Seq: 1, Event: "assign", Set: Vars{{"x", math.NaN()}}})
	tr.Event(&Event{Seq: 2, Event: "request", Body: map[string]any{"y": math.Inf(1)}})
	tr.Event(&Event{Seq: 3, Event: "request", Body: map[string]any{"z": math.Inf(-1), "pad": strings.Repeat("p", 2000)}}) // large
	tr.Flush()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], `"x":"NaN"`) || !strings.Contains(lines[1], `"y":"+Inf"`) || !strings.Contains(lines[2], `"z":"-Inf"`) {
		t.Errorf("the tracer's fallback lost an event: %s", buf.String())
	}
}

func FuzzAppendJSON(f *testing.F) {
	f.Add("a<b>&\u2028\xff", "k", 1.5)
	f.Fuzz(func(t *testing.T, s, k string, x float64) {
		at := time.Unix(0, int64(x*1e9)).UTC()
		set := map[string]any{k: s, s: x}
		e := &Event{Seq: 1, Instance: s, Time: at, Event: k, Message: s, Set: VarsOf(set), Headers: map[string]string{k: s}}
		for _, html := range []bool{true, false} {
			want, werr := stdJSON(e, html)
			got, gerr := AppendJSON(nil, e, html)
			if (werr == nil) != (gerr == nil) || (werr == nil && !bytes.Equal(got, want)) {
				t.Fatalf("html %v:\n got %s %v\nwant %s %v", html, got, gerr, want, werr)
			}
			// Vars encode themselves (MarshalJSON): against encoding/json's map
			want, werr = stdValue(set, html)
			got, gerr = AppendJSON(nil, &Event{Set: e.Set}, html)
			if (werr == nil) != (gerr == nil) || (werr == nil && !bytes.Contains(got, append([]byte(`"set":`), want...))) {
				t.Fatalf("set, html %v:\n got %s %v\nwant %s %v", html, got, gerr, want, werr)
			}
		}
	})
}

// BenchmarkJSONLTracer encodes a decision step's two events (enter, decision).
func BenchmarkJSONLTracer(b *testing.B) {
	tr := NewJSONLTracer(discard{})
	t0 := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	enter := &Event{Seq: 1, Instance: "5f0c3a3e-8a1d-4f6e-9a59-2a8d1c1f0b7e", Time: t0, Node: "classify", Kind: "decision", Event: "enter", From: "call", Via: "on_failure"}
	dec := &Event{Seq: 2, Instance: "5f0c3a3e-8a1d-4f6e-9a59-2a8d1c1f0b7e", Time: t0, Node: "classify", Kind: "decision", Event: "decision", Case: "1", Next: "escalate"}
	b.ReportAllocs()
	for b.Loop() {
		tr.Event(enter)
		tr.Event(dec)
	}
}

// BenchmarkJSONLTracerBody writes a request event with a 20 KB body from parallel goroutines
// (run it with -cpu 2 or more): encoded outside the lock, in a reused buffer.
func BenchmarkJSONLTracerBody(b *testing.B) {
	tr := NewJSONLTracer(discard{})
	items := make([]any, 200)
	for i := range items {
		items[i] = map[string]any{"id": fmt.Sprintf("item-%04d", i), "amount": float64(i) + 0.25, "note": "a line of text <x> & more", "ok": i%2 == 0}
	}
	e := &Event{Seq: 3, Instance: "5f0c3a3e-8a1d-4f6e-9a59-2a8d1c1f0b7e", Time: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		Node: "call", Kind: "data_action", Event: "request", Method: "POST", URL: "http://h/x", Body: map[string]any{"items": items}}
	line, _ := AppendJSON(nil, e, true)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tr.Event(e)
		}
	})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// Every field of Event, set, comes out as encoding/json writes it: a field added to Event and
// not to AppendJSON fails here, not silently in every trace.
func TestAppendJSONKnowsEveryField(t *testing.T) {
	var e Event
	v := reflect.ValueOf(&e).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		f.Set(sample(t, v.Type().Field(i).Name, f.Type()))
	}
	want, werr := json.Marshal(&e)
	got, gerr := AppendJSON(nil, &e, true)
	if werr != nil || gerr != nil || !bytes.Equal(got, want) {
		t.Fatalf("an Event with every field set:\n got %s %v\nwant %s %v\n(a new Event field needs its line in AppendJSON)", got, gerr, want, werr)
	}
}

// sample is a non-zero value of type typ.
func sample(t *testing.T, name string, typ reflect.Type) reflect.Value {
	switch {
	case typ == reflect.TypeOf(time.Time{}):
		return reflect.ValueOf(time.Date(2001, 2, 3, 4, 5, 6, 7, time.UTC))
	case typ == reflect.TypeFor[Vars]():
		return reflect.ValueOf(Vars{{name + "-var", name + "-value"}})
	case typ == reflect.TypeOf(failure.ErrorInfo{}):
		return reflect.ValueOf(failure.ErrorInfo{Class: "c", Kind: "k", Message: "m", Status: 1, Node: "n"})
	}
	switch typ.Kind() {
	case reflect.String:
		return reflect.ValueOf(name + "-value").Convert(typ)
	case reflect.Int, reflect.Int64:
		return reflect.ValueOf(7).Convert(typ)
	case reflect.Float64:
		return reflect.ValueOf(1.5).Convert(typ)
	case reflect.Bool:
		return reflect.ValueOf(true).Convert(typ)
	case reflect.Pointer:
		p := reflect.New(typ.Elem())
		p.Elem().Set(sample(t, name, typ.Elem()))
		return p
	case reflect.Map:
		m := reflect.MakeMap(typ)
		m.SetMapIndex(sample(t, name, typ.Key()), sample(t, name, typ.Elem()))
		return m
	case reflect.Slice:
		s := reflect.MakeSlice(typ, 1, 1)
		s.Index(0).Set(sample(t, name, typ.Elem()))
		return s
	case reflect.Interface:
		return reflect.ValueOf(name + "-any")
	}
	t.Fatalf("Event.%s: no sample value for %s; teach this test", name, typ)
	return reflect.Value{}
}

// The tracer copies the instance id and time it wrote last when an event repeats them: what it
// writes stays encoding/json's, event after event, whichever repeats.
func TestJSONLTracerRepeatsWhatItWroteLast(t *testing.T) {
	t0 := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	local := time.Unix(946684800, 0)
	zoned := t0.In(time.FixedZone("X", 3600))
	var events []*Event
	for i, at := range []time.Time{t0, t0, local, local, zoned, t0.Add(time.Nanosecond), zoned, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), t0} {
		for _, id := range []string{"a<b>", "a<b>", "i-2", "a<b>"} {
			events = append(events, &Event{Seq: i, Instance: id, Time: at, Event: "x"})
		}
	}
	var buf bytes.Buffer
	tr := NewJSONLTracer(&buf)
	var want []string
	for _, e := range events {
		tr.Event(e)
		b, err := json.Marshal(e)
		if err != nil { // the year 10000: the tracer's fallback
			continue
		}
		want = append(want, string(b))
	}
	tr.Flush()
	var got []string
	for _, l := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		if l != "" { // the year 10000 is an empty line, JSON cannot write its time at all
			got = append(got, l)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Small events (encoded in the writer's buffer) and large ones (encoded aside, then copied in),
// traced from several goroutines, come out whole, one a line, each as AppendJSON writes it.
func TestJSONLTracerWritesEveryEventWhole(t *testing.T) {
	var buf bytes.Buffer
	tr := NewJSONLTracer(&buf)
	var want []string
	var events [4][]*Event
	for g := range events {
		for i := range 60 {
			e := &Event{Seq: g*100 + i, Instance: fmt.Sprint("i-", g), Event: "request", Set: Vars{{"n", i}}}
			switch i % 3 {
			case 1:
				e.Body = map[string]any{"list": slices.Repeat([]any{"<item>", 1.5, true}, 200)} // about 3 KB
			case 2:
				e.Body = strings.Repeat("b", 30000) // more than half the writer's buffer
			}
			line, err := AppendJSON(nil, e, true)
			if err != nil {
				t.Fatal(err)
			}
			events[g] = append(events[g], e)
			want = append(want, string(line))
		}
	}
	var wg sync.WaitGroup
	for _, es := range events {
		wg.Go(func() {
			for _, e := range es {
				tr.Event(e)
			}
		})
	}
	wg.Wait()
	tr.Flush()
	got := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%d lines written for %d events, not each its AppendJSON line", len(got), len(want))
	}
}

// The eight-byte test agrees with the byte tables for every byte at every place, among bytes
// that need nothing and among others that need escaping.
func TestNeedsEscapeIsTheTables(t *testing.T) {
	for _, html := range []bool{true, false} {
		safe := &safeBytes
		if html {
			safe = &htmlSafeBytes
		}
		for c := range 256 {
			for at := range 8 {
				for _, fill := range []byte{'a', '~', ' ', 0x7f} {
					var x uint64
					for i := range 8 {
						b := uint64(fill)
						if i == at {
							b = uint64(c)
						}
						x |= b << (8 * i)
					}
					if got, want := needsEscape(x, html), !safe[c] || !safe[fill]; got != want {
						t.Fatalf("byte %#x at %d among %q (html %v): needsEscape %v", c, at, fill, html, got)
					}
				}
			}
		}
	}
}
