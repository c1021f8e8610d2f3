package engine_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/archflow/archflow/engine"
)

// Genesys translation maps are RFC 9535 JSONPath; jsonpath() evaluates them for every flow (SPEC §2).
func TestJSONPath(t *testing.T) {
	t.Parallel()
	var doc any
	if err := json.Unmarshal([]byte(`{
	  "participants": [
	    {"purpose": "customer", "name": "Ann", "routing": {"priority": 1}},
	    {"purpose": "acd", "routing": {"priority": 7}},
	    {"purpose": "agent", "routing": {"priority": 3}}
	  ],
	  "id": "c-1"
	}`), &doc); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		def  []any
		want any
	}{
		{"name selector", "$.id", nil, []any{"c-1"}},
		{"filter", "$.participants[?(@.purpose=='acd')].routing.priority", nil, []any{7.0}},
		{"filter without parentheses", "$.participants[?@.purpose=='agent'].routing.priority", nil, []any{3.0}},
		{"negative index", "$.participants[-1].purpose", nil, []any{"agent"}},
		{"deep scan", "$..priority", nil, []any{1.0, 7.0, 3.0}},
		{"wildcard", "$.participants[*].purpose", nil, []any{"customer", "acd", "agent"}},
		{"no match gives an empty list", "$.missing", nil, []any{}},
		{"no match gives the default", "$.missing", []any{"none"}, "none"},
		{"a match ignores the default", "$.id", []any{"none"}, []any{"c-1"}},
		{"NOT_SET value gives the default", "$.id", []any{0}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := doc
			if tt.name == "NOT_SET value gives the default" {
				v = nil
			}
			got, err := engine.JSONPath(v, tt.path, tt.def...)
			if err != nil {
				t.Fatalf("jsonpath(%q): %v", tt.path, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("jsonpath(%q) = %#v, want %#v", tt.path, got, tt.want)
			}
		})
	}
	if _, err := engine.JSONPath(doc, "$.participants[?(@.purpose=="); err == nil {
		t.Error("a malformed path gave no error")
	}
	if _, err := engine.JSONPath(doc, 42); err == nil {
		t.Error("a path that is not a string gave no error")
	}
}

// jsonpath() is one of every flow's functions: type-checked at load, run on the instance's values.
func TestJSONPathInAFlow(t *testing.T) {
	t.Parallel()
	f := specLoad(t, `flow: jp
variables:
  doc:   {type: object, default: {items: [{sku: a, qty: 2}, {sku: b, qty: 5}]}}
  qty:   {type: integer, output: true}
  skus:  {type: list, output: true}
  other: {type: string, output: true}
start: a
nodes:
  a:
    assign:
      qty: "{{ jsonpath(doc, '$.items[?@.sku==\"b\"].qty', [0])[0] }}"
      skus: "{{ jsonpath(doc, '$.items[*].sku') }}"
      other: "{{ jsonpath(doc, '$.nothing', ['fallback'])[0] }}"
    next: done
  done: {end: success}
`)
	res := specRun(t, f, nil)
	if res.Outcome != "success" {
		t.Fatalf("outcome %s: %v", res.Outcome, res.Error)
	}
	want := map[string]any{"qty": 5, "skus": []any{"a", "b"}, "other": "fallback"}
	for k, w := range want {
		if got := res.Outputs[k]; !reflect.DeepEqual(got, w) {
			t.Errorf("%s = %#v, want %#v", k, got, w)
		}
	}
	// a wrong arity is a compile error with its position
	errs := specLoadErrors(t, "flow: jp\nvariables:\n  x: {type: string}\nstart: a\nnodes:\n  a:\n    assign: {x: \"{{ jsonpath() }}\"}\n    next: done\n  done: {end: success}\n")
	if len(errs) == 0 || errs[0].Pos.Line != 7 {
		t.Errorf("jsonpath() with no arguments: got %v, want an error on line 7", errs)
	}
}
