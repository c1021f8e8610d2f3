package engine_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/archflow/archflow/engine"
)

// These tests follow SPEC §1 on types and NOT_SET: typed variables, Architect's NOT_SET, runtime
// errors routed to on_error, and inputs checked before an instance starts.

// A variable with no default starts NOT_SET (nil in the result) in every instance; "" and 0 are
// values, not NOT_SET.
func TestVariablesWithoutDefaultStartNotSet(t *testing.T) {
	t.Parallel()
	f := specLoad(t, `flow: fresh
variables:
  s:  {type: string}
  i:  {type: integer}
  f:  {type: number}
  b:  {type: boolean}
  d:  {type: duration}
  t:  {type: datetime}
  o:  {type: object}
  l:  {type: list}
  empty: {type: string, default: ""}
  zero:  {type: integer, default: 0}
start: check
nodes:
  check:
    decision:
      - when: s == nil && i == nil && f == nil && b == nil && d == nil && t == nil && o == nil && l == nil
        next: defaults
    default: stale
  defaults:
    decision:
      - when: IsSet(empty) && IsSet(zero) && empty != nil && zero != nil
        next: mark
    default: stale
  mark:
    assign: {s: x, i: 1, f: 1.5, b: true, d: 30s, o: "{{ {'a': 1} }}", l: "{{ [1] }}"}
    next: done
  done:  {end: success}
  stale: {end: stale}
`)
	for _, v := range []string{"s", "i", "f", "b", "d", "t", "o", "l"} {
		if got := f.Var(v); got == nil || got.HasDefault {
			t.Errorf("variable %s: %+v, want declared without a default", v, got)
		}
	}
	// the second instance sees none of the first one's assignments
	for run := 1; run <= 2; run++ {
		res := specRun(t, f, nil)
		if res.Outcome != "success" {
			t.Fatalf("instance %d: outcome %s (path %v, error %+v); want every undefaulted variable NOT_SET",
				run, res.Outcome, res.Path, res.Error)
		}
		if res.Variables["s"] != "x" {
			t.Errorf("instance %d: s = %#v after the assign, want x", run, res.Variables["s"])
		}
		if v, ok := res.Variables["t"]; !ok || v != nil {
			t.Errorf("result variables: t = %v (present %v), want nil for NOT_SET", v, ok)
		}
		if res.Variables["empty"] != "" || res.Variables["zero"] != 0 {
			t.Errorf("empty = %#v, zero = %#v; want \"\" and 0", res.Variables["empty"], res.Variables["zero"])
		}
	}
}

// Assigning nil makes a variable NOT_SET again: a literal null, nil, or a response field that is
// absent (body?.message with no body). Outputs run after every attempt, so nothing survives.
func TestAssigningNilMakesNotSet(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(503)
			w.Write([]byte(`{"message": "try later", "error_code": "BUSY"}`))
			return
		}
		w.WriteHeader(503) // no body at all
	}))
	defer srv.Close()

	f := specLoad(t, fmt.Sprintf(`flow: unset
variables:
  a: {type: string, default: preset}
  b: {type: integer, default: 7}
  c: {type: string, default: preset}
  error_message: {type: string, default: preset, output: true}
  error_code:    {type: string, default: preset}
  first_message: {type: string}
  first_code:    {type: string}
actions:
  push:
    method: POST
    url: "%s/orders"
    outputs:
      error_message: body?.message
      error_code: body?.error_code
start: clear
nodes:
  clear:
    assign: {a: null, b: "{{ nil }}", c: "{{ body?.message }}"}
    next: call1
  call1:
    data_action: push
    next: call2
    on_failure: keep
  keep:
    assign: {first_message: "{{ error_message }}", first_code: "{{ error_code }}"}
    next: call2
  call2:
    data_action: push
    next: done
    on_failure: check
  check:
    decision:
      - when: error_message == nil && !IsSet(error_code) && IsNotSetOrEmpty(error_message)
        next: done
    default: stale
  done:  {end: success}
  stale: {end: stale}
`, srv.URL))
	res := specRun(t, f, nil)
	if res.Outcome != "success" {
		t.Fatalf("outcome %s, path %v, error %+v, variables %v", res.Outcome, res.Path, res.Error, res.Variables)
	}
	want := map[string]any{
		"a": nil, "b": nil, "c": nil,
		"first_message": "try later", "first_code": "BUSY",
		"error_message": nil, "error_code": nil,
	}
	for k, w := range want {
		if g := res.Variables[k]; !reflect.DeepEqual(g, w) {
			t.Errorf("%s = %#v, want %#v", k, g, w)
		}
	}
	if v, ok := res.Outputs["error_message"]; !ok || v != nil {
		t.Errorf("output error_message = %#v (present %v), want nil", v, ok)
	}
}

// A runtime error goes to on_error with error describing it, whatever the node kind.
func TestRuntimeErrorRoutesToOnError(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		node string // the failing node "bad", YAML
		want string // in error.message
	}{
		{"arithmetic in assign", `bad: {assign: {n: "{{ n + 1 }}"}, next: done}`, "variable n is NOT_SET"},
		{"ordering in decision", "bad:\n    decision:\n      - when: n > 3\n        next: done\n    default: done", "variable n is NOT_SET"},
		{"NOT_SET wait", `bad: {wait: "{{ n * 2 }}", next: done}`, "variable n is NOT_SET"},
		{"wrong type assigned", `bad: {assign: {n: "{{ 3 / 2 }}"}, next: done}`, "cannot assign number 1.5"},
		{"non-boolean condition", "bad:\n    decision:\n      - when: body\n        next: done\n    default: done", "not a boolean"},
		{"notify of NOT_SET arithmetic", `bad: {notify: {channel: console, subject: "x{{ n - 1 }}"}, next: done}`, "variable n is NOT_SET"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := specLoad(t, `flow: routed
variables:
  n:       {type: integer}
  kind:    {type: string, output: true}
  class:   {type: string, output: true}
  message: {type: string, output: true}
  node:    {type: string, output: true}
channels:
  console: {type: log}
start: bad
on_error: handler
nodes:
  `+tc.node+`
  handler:
    assign: {kind: "{{ error.kind }}", class: "{{ error.class }}", message: "{{ error.message }}", node: "{{ error.node }}"}
    next: recovered
  done: {end: success}
  recovered: {end: recovered}
`)
			res := specRun(t, f, nil)
			if res.Outcome != "recovered" {
				t.Fatalf("outcome %s (path %v, error %+v), want recovered through on_error", res.Outcome, res.Path, res.Error)
			}
			if !reflect.DeepEqual(res.Path, []string{"bad", "handler", "recovered"}) {
				t.Errorf("path %v", res.Path)
			}
			o := res.Outputs
			if o["kind"] != "runtime" || o["class"] != "permanent" || o["node"] != "bad" {
				t.Errorf("error seen by on_error: kind %v, class %v, node %v; want runtime, permanent, bad", o["kind"], o["class"], o["node"])
			}
			if msg, _ := o["message"].(string); !strings.Contains(msg, tc.want) {
				t.Errorf("error.message %q does not mention %q", msg, tc.want)
			}
			if res.Error == nil || res.Error.Kind != "runtime" {
				t.Errorf("result error %+v, want the runtime error kept", res.Error)
			}
		})
	}
}

// A runtime error on the way from on_error ends the instance with outcome error, never a loop.
func TestRuntimeErrorAfterOnErrorEndsTheInstance(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		onError string
		nodes   string
		path    []string
		errNode string
	}{
		{"in the handler itself", "handler", `
  handler: {assign: {n: "{{ n + 2 }}"}, next: done}`, []string{"bad", "handler"}, "handler"},
		{"further along the handler's path", "handler", `
  handler: {assign: {m: 1}, next: check}
  check:
    decision:
      - when: n >= m
        next: done
    default: done`, []string{"bad", "handler", "check"}, "check"},
		{"on_error is the failing node", "bad", "", []string{"bad", "bad"}, "bad"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := specLoad(t, `flow: twice
variables:
  n: {type: integer}
  m: {type: integer}
start: bad
on_error: `+tc.onError+`
nodes:
  bad: {assign: {n: "{{ n + 1 }}"}, next: done}`+tc.nodes+`
  done: {end: success}
`)
			res := specRun(t, f, nil)
			if res.Outcome != "error" {
				t.Fatalf("outcome %s, want error", res.Outcome)
			}
			if !reflect.DeepEqual(res.Path, tc.path) {
				t.Errorf("path %v, want %v", res.Path, tc.path)
			}
			if res.Error == nil || res.Error.Node != tc.errNode || res.Error.Kind != "runtime" ||
				!strings.Contains(res.Error.Message, "NOT_SET") {
				t.Errorf("result error %+v, want the second runtime error, at %s", res.Error, tc.errNode)
			}
		})
	}
}

// Without on_error a runtime error ends the instance with outcome error at once.
func TestRuntimeErrorWithoutOnError(t *testing.T) {
	t.Parallel()
	f := specLoad(t, `flow: bare
variables:
  n: {type: integer}
start: bad
nodes:
  bad: {assign: {n: "{{ n + 1 }}"}, next: done}
  done: {end: success}
`)
	res := specRun(t, f, nil)
	if res.Outcome != "error" || res.Error == nil || res.Error.Node != "bad" || !strings.Contains(res.Error.Message, "variable n is NOT_SET") {
		t.Fatalf("outcome %s, error %+v", res.Outcome, res.Error)
	}
	if !reflect.DeepEqual(res.Path, []string{"bad"}) {
		t.Errorf("path %v", res.Path)
	}
}

// Assigning a value of the wrong type: a compile error where the expression's type is known, a
// runtime error otherwise.
func TestTypedAssignmentAtCompileTime(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		typ   string
		value string // YAML of the assigned value
		want  string
	}{
		{"string variable into integer", "integer", `"{{ request_id }}"`, "cannot assign string to out (type integer)"},
		{"literal text into integer", "integer", "abc", "cannot assign string to out (type integer)"},
		{"mixed template into integer", "integer", `"id-{{ n }}"`, "cannot assign string to out (type integer)"},
		{"integer into string", "string", `"{{ n + 1 }}"`, "cannot assign integer to out (type string)"},
		{"comparison into number", "number", `"{{ n > 1 }}"`, "cannot assign boolean to out (type number)"},
		{"integer into boolean", "boolean", `"{{ n }}"`, "cannot assign integer to out (type boolean)"},
		{"integer into list", "list", `"{{ n }}"`, "cannot assign integer to out (type list)"},
		{"list into object", "object", `"{{ [1] }}"`, "cannot assign list to out (type object)"},
		{"literal number into string", "string", "42", "cannot assign integer to out (type string)"},
		{"literal boolean into integer", "integer", "true", "cannot assign boolean to out (type integer)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := fmt.Sprintf(`flow: typed
variables:
  out: {type: %s}
  n: {type: integer, default: 1}
  request_id: {type: string}
start: a
nodes:
  a:
    assign:
      out: %s
    next: done
  done: {end: success}
`, tc.typ, tc.value)
			errs := specLoadErrors(t, src)
			want := fmt.Sprintf("flow.yaml:10:12: error: %s", tc.want)
			if !strings.Contains(errs.Error(), want) {
				t.Errorf("errors:\n%v\nwant one containing %q", errs, want)
			}
		})
	}
}

// Values checked at compile time beyond assign: defaults and a data action's outputs map.
func TestTypedDefaultsAndOutputs(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		src  string
		want string
	}{
		{"string default of an integer", `variables:
  retry_count: {type: integer, default: "x"}`, `flow.yaml:3:41: error: default of retry_count: cannot assign string "x" to a variable of type integer`},
		{"fractional default of an integer", `variables:
  retry_count: {type: integer, default: 1.5}`, "flow.yaml:3:41: error: default of retry_count: cannot assign number 1.5"},
		{"text mapped into an integer", `variables:
  retry_count: {type: integer}
actions:
  get:
    url: http://127.0.0.1:1/x
    outputs:
      retry_count: text`, "flow.yaml:8:20: error: cannot map string to retry_count (type integer)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			errs := specLoadErrors(t, "flow: typed\n"+tc.src+"\nstart: done\nnodes:\n  done: {end: success}\n")
			if !strings.Contains(errs.Error(), tc.want) {
				t.Errorf("errors:\n%v\nwant one containing %q", errs, tc.want)
			}
		})
	}
}

// At run time: a JSON number with no fraction may go into an integer; 1.5 may not.
func TestTypedAssignmentAtRunTime(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		body    string // the response body
		tpl     string // assigned to total after the call
		want    any    // total, or nil with wantErr
		wantErr string
	}{
		{"JSON integer", `{"count": 3}`, "", 3, ""},
		{"JSON float without fraction", `{"count": 3.0}`, "", 3, ""},
		{"JSON exponent without fraction", `{"count": 2e1}`, "", 20, ""},
		{"JSON float with fraction", `{"count": 1.5}`, "", nil, "cannot assign number 1.5 to a variable of type integer"},
		{"JSON string", `{"count": "3"}`, "", nil, `cannot assign string "3" to a variable of type integer`},
		{"JSON null", `{"count": null}`, "", nil, ""},
		{"division without fraction", `{}`, "{{ 6 / 2 }}", 3, ""},
		{"division with fraction", `{}`, "{{ 3 / 2 }}", nil, "cannot assign number 1.5 to a variable of type integer"},
		{"body field in a template", `{"n": 4.0}`, "{{ body.n }}", 4, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			outputs, after, set := "\n    outputs:\n      total: body?.count", "done", ""
			if tc.tpl != "" {
				outputs, after = "", "set"
				set = fmt.Sprintf("\n  set: {assign: {total: %q}, next: done}", tc.tpl)
			}
			f := specLoad(t, fmt.Sprintf(`flow: runtime
variables:
  total: {type: integer, default: -1, output: true}
actions:
  get:
    url: "%s/count"%s
start: call
nodes:
  call: {data_action: get, next: %s, on_failure: failed}%s
  done: {end: success}
  failed: {end: failure}
`, srv.URL, outputs, after, set))
			res := specRun(t, f, nil)
			if tc.wantErr != "" {
				if res.Outcome != "error" || res.Error == nil || res.Error.Kind != "runtime" {
					t.Fatalf("outcome %s, error %+v; want a runtime error", res.Outcome, res.Error)
				}
				if !strings.Contains(res.Error.Message, tc.wantErr) || !strings.Contains(res.Error.Message, "total") {
					t.Errorf("error %q, want it to name total and say %q", res.Error.Message, tc.wantErr)
				}
				return
			}
			if res.Outcome != "success" {
				t.Fatalf("outcome %s, error %+v", res.Outcome, res.Error)
			}
			if got := res.Outputs["total"]; !reflect.DeepEqual(got, tc.want) {
				t.Errorf("total = %#v (%T), want %#v (%T)", got, got, tc.want, tc.want)
			}
		})
	}
}

// Flow.Inputs rejects a missing required input, one of the wrong type and an unknown name, all
// before anything runs; strings from the command line are parsed per the declared type.
func TestInputsAreCheckedBeforeTheInstanceStarts(t *testing.T) {
	t.Parallel()
	f := specLoad(t, `flow: inputs
variables:
  order_id: {type: string,   input: true, required: true}
  amount:   {type: number,   input: true, default: 0}
  attempts: {type: integer,  input: true}
  urgent:   {type: boolean,  input: true}
  timeout:  {type: duration, input: true}
  due:      {type: datetime, input: true}
  tags:     {type: list,     input: true}
  meta:     {type: object,   input: true}
  internal: {type: integer,  default: 0}
start: done
nodes:
  done: {end: success}
`)
	due := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	good := []struct {
		name string
		in   map[string]any
		want map[string]any
	}{
		{"required only", map[string]any{"order_id": "A-1"}, map[string]any{"order_id": "A-1"}},
		{"command-line strings", map[string]any{"order_id": "A-1", "amount": "42.5", "attempts": "3", "urgent": "true",
			"timeout": "90s", "due": "2026-11-29T00:00:00Z", "tags": `["a", 1]`, "meta": `{"k": "v"}`},
			map[string]any{"order_id": "A-1", "amount": 42.5, "attempts": 3, "urgent": true,
				"timeout": 90 * time.Second, "due": due, "tags": []any{"a", 1.0}, "meta": map[string]any{"k": "v"}}},
		{"JSON values", map[string]any{"order_id": "A-1", "amount": 42, "attempts": 3.0, "urgent": false, "timeout": 2.5},
			map[string]any{"order_id": "A-1", "amount": 42.0, "attempts": 3, "urgent": false, "timeout": 2500 * time.Millisecond}},
	}
	for _, tc := range good {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.Inputs(tc.in)
			if err != nil {
				t.Fatalf("rejected: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("inputs %#v\nwant %#v", got, tc.want)
			}
		})
	}
	bad := []struct {
		name string
		in   map[string]any
		want []string
	}{
		{"missing required", map[string]any{"amount": 1}, []string{"missing required input order_id"}},
		{"required given as null", map[string]any{"order_id": nil}, []string{"missing required input order_id"}},
		{"no inputs at all", nil, []string{"missing required input order_id"}},
		{"text for a number", map[string]any{"order_id": "A-1", "amount": "abc"}, []string{"input amount", `"abc" is not a number`}},
		{"fraction for an integer", map[string]any{"order_id": "A-1", "attempts": 1.5}, []string{"input attempts", "1.5", "integer"}},
		{"fraction text for an integer", map[string]any{"order_id": "A-1", "attempts": "2.5"}, []string{"input attempts", `"2.5" is not an integer`}},
		{"number for a string", map[string]any{"order_id": 42}, []string{"input order_id", "string"}},
		{"yes for a boolean", map[string]any{"order_id": "A-1", "urgent": "yes"}, []string{"input urgent", "boolean"}},
		{"bad duration", map[string]any{"order_id": "A-1", "timeout": "soon"}, []string{"input timeout"}},
		{"bad datetime", map[string]any{"order_id": "A-1", "due": "tomorrow"}, []string{"input due"}},
		{"object for a list", map[string]any{"order_id": "A-1", "tags": `{"a": 1}`}, []string{"input tags"}},
		{"not JSON", map[string]any{"order_id": "A-1", "meta": `{`}, []string{"input meta", "not JSON"}},
		{"unknown name", map[string]any{"order_id": "A-1", "ammount": 1}, []string{`unknown input "ammount" (did you mean "amount"?)`}},
		{"not an input", map[string]any{"order_id": "A-1", "internal": 1}, []string{`unknown input "internal"`}},
		{"all problems together", map[string]any{"amount": "x", "attempts": "y"},
			[]string{"missing required input order_id", "input amount", "input attempts"}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.Inputs(tc.in)
			if err == nil {
				t.Fatalf("accepted as %v; want rejected", got)
			}
			var ie *engine.InputError
			if !errors.As(err, &ie) {
				t.Errorf("error is %T, want *engine.InputError", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
