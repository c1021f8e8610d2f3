package jsondec

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

var samples = []string{
	`{"order_id": "B-1"}`, `{"a":1,"b":[true,false,null],"c":{"d":-0.5e-3}}`, ` {"x" : "y" } `,
	`{}`, `[]`, `[1, 2]`, `null`, `true`, `"s"`, `5`, `-0`, `0.1`, `1E+2`, `1e999`, `-`, `01`, `1.`, `.5`,
	`{"a":1,"a":2}`, `{"é": "ü"}`, "{\"a\": \"\xff\"}", `{"a": "\u00e9\n"}`, "{\"a\": \"\t\"}",
	`{"a":1,}`, `{"a" 1}`, `{a:1}`, `[1,]`, `{"a":1} x`, `{"a":1}{}`, `{"a":`, ``, `   `, `{"a":tru}`,
	`{"a":[{"b":[{"c":[]}]}]}`, strings.Repeat("[", 100) + strings.Repeat("]", 100), `{"a":"\ud800"}`,
	`{"e": "a\"b\\c\/d\be\ff\ng\rh\ti"}`, `{"u": "\u00e9\u20AC\u0000x"}`, `{"u": "\ud83d\ude00"}`, `{"u": "\u12"}`,
	`{"u": "\uZZZZ"}`, `{"u": "\x"}`, "{\"u\": \"\\u00e9\xff\"}", `"\\"`, `"abc\`, `{"k\u0041": 1}`,
	`{"big": 123456789012345678901234567890}`, `{"n": -12.5E-7}`, "\ufeff{}", `{"a":"<&>"}`,
}

// Unmarshal gives what encoding/json gives: the same value, or an error with the same message.
func TestUnmarshalIsEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, s := range samples {
		check(t, s)
	}
}

func FuzzUnmarshal(f *testing.F) {
	for _, s := range samples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { check(t, s) })
}

func check(t *testing.T, s string) {
	t.Helper()
	var want any
	werr := json.Unmarshal([]byte(s), &want)
	got, err := Unmarshal([]byte(s))
	if (err == nil) != (werr == nil) || (err != nil && err.Error() != werr.Error()) {
		t.Fatalf("%q: error %v, encoding/json %v", s, err, werr)
	}
	if err == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: %#v, encoding/json %#v", s, got, want)
	}
	// into a map that held something, with keys to give: the same value and error
	m := map[string]any{"a": 1, "left over": true}
	got, filled, err := UnmarshalInto([]byte(s), m, []string{"a", "b", "order_id", ""})
	if gm, ok := got.(map[string]any); filled && (!ok || reflect.ValueOf(gm).UnsafePointer() != reflect.ValueOf(m).UnsafePointer()) {
		t.Fatalf("%q: filled, but the value is not the map given", s)
	}
	if (err == nil) != (werr == nil) || (err != nil && err.Error() != werr.Error()) {
		t.Fatalf("%q into a map: error %v, encoding/json %v", s, err, werr)
	}
	if err == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%q into a map: %#v, encoding/json %#v", s, got, want)
	}
}

func BenchmarkUnmarshalLine(b *testing.B) {
	line := []byte(`{"order_id": "B-1234", "amount": 42.5}`)
	b.Run("jsondec", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Unmarshal(line)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v any
			json.Unmarshal(line, &v)
		}
	})
}

// The common documents are decoded here, not handed on.
func TestCommonDocumentsDecodedHere(t *testing.T) {
	t.Parallel()
	for _, s := range []string{`{"order_id": "B-1", "amount": 42.5}`, `{"success":true,"id":"x","items":[1,{"a":null}]}`,
		`{"msg": "line\nbreak \u00e9 é"}`} {
		d := decoder{data: []byte(s)}
		if _, ok := d.value(0); !ok || d.pos != len(s) {
			t.Errorf("%s: handed to encoding/json", s)
		}
	}
}
