package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/clock"
	"github.com/archflow/archflow/engine/yamldoc"
	"github.com/archflow/archflow/nodes"
)

// These tests follow SPEC §2: one expression language, templates that keep types, the Architect
// functions, and the structured decision form. The helpers are shared by types_test.go,
// classify_test.go and errors_test.go.

var specStart = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// specLoad compiles flow source, failing the test on any compile error.
func specLoad(t *testing.T, src string) *engine.Flow {
	t.Helper()
	f, err := nodes.Builtins().Load("flow.yaml", []byte(src))
	if err != nil {
		t.Fatalf("flow does not compile:\n%v\nsource:\n%s", err, src)
	}
	return f
}

// specLoadErrors compiles flow source that must fail and returns its errors.
func specLoadErrors(t *testing.T, src string) yamldoc.ErrorList {
	t.Helper()
	_, err := nodes.Builtins().Load("flow.yaml", []byte(src))
	if err == nil {
		t.Fatalf("flow compiled; want compile errors\nsource:\n%s", src)
	}
	l, ok := yamldoc.AsList(err)
	if !ok {
		t.Fatalf("error is %T, want an yamldoc.ErrorList: %v", err, err)
	}
	return l
}

// specRun checks the inputs and runs one instance on a virtual clock, capturing notifications.
func specRun(t *testing.T, f *engine.Flow, inputs map[string]any) *engine.Result {
	t.Helper()
	in, err := f.Inputs(inputs)
	if err != nil {
		t.Fatalf("inputs rejected: %v", err)
	}
	return f.Run(context.Background(), in, &engine.Options{
		Clock:    func() clock.Clock { return clock.NewVirtualClock(specStart) },
		Channels: engine.Capture{},
		MaxSteps: 200,
	})
}

// specVars are the declarations the expression tables read.
const specVars = `
  retry_count: {type: integer, default: 2}
  max_retries: {type: integer, default: 3}
  amount:      {type: number, default: 42.5}
  request_id:  {type: string}
  n:           {type: integer}
  code:        {type: string, default: ""}
  codes:       {type: list, default: [429, 503]}
`

// assignFlow is a flow that assigns tpl to out (of type typ) and ends.
func assignFlow(typ, tpl string) string {
	return fmt.Sprintf(`flow: eval
variables:
  out: {type: %s}%s
start: a
nodes:
  a:
    assign:
      out: %s
    next: done
  done: {end: success}
`, typ, specVars, strconv.Quote(tpl))
}

// specEval runs assignFlow and returns the instance's result.
func specEval(t *testing.T, typ, tpl string) *engine.Result {
	t.Helper()
	return specRun(t, specLoad(t, assignFlow(typ, tpl)), nil)
}

func TestTemplatesAndFunctions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		typ  string // type of the variable assigned
		tpl  string
		want any
	}{
		// a string that is exactly one {{ expr }} keeps the value's type
		{"single expression stays an integer", "integer", "{{ retry_count + 1 }}", 3},
		{"single expression stays a boolean", "boolean", "{{ retry_count < max_retries }}", true},
		{"single expression stays a list", "list", "{{ [retry_count, 'x'] }}", []any{2, "x"}},
		// anything else renders to a string
		{"mixed template is a string", "string", "id-{{ retry_count }}", "id-2"},
		{"number renders without a spurious fraction", "string", "{{ max_retries }}/{{ amount }}", "3/42.5"},
		{"text with no braces is a literal", "string", "plain text", "plain text"},
		{"literal braces", "string", `{{ "{{" }}`, "{{"},
		{"literal braces around text", "string", `a {{ "{{" }} b }}`, "a {{ b }}"},
		{"closing braces alone are text", "string", "a }} b", "a }} b"},
		{"quoted closing braces", "string", `{{ "}}" }}`, "}}"},
		{"map literal", "integer", "{{ {'a': retry_count}.a }}", 2},
		{"nested map literal", "integer", "{{ {'a': {'b': retry_count}}.a.b }}", 2},
		{"map literal closed tight", "string", "[{{ {'a': 1}.a}}]", "[1]"},
		{"NOT_SET renders as the empty string", "string", "[{{ request_id }}]", "[]"},
		{"NOT_SET integer renders as the empty string", "string", "n={{ n }};", "n=;"},

		// Flow.<name> is the variable
		{"Flow alias", "integer", "{{ Flow.retry_count + 1 }}", 3},
		{"Flow alias in a mixed template", "string", "{{ Flow.retry_count }}/{{ Flow.max_retries }}", "2/3"},
		{"Flow alias of a NOT_SET variable", "boolean", "{{ Flow.request_id == nil }}", true},

		// If is lazy: the branch not taken is never evaluated
		{"If skips the false branch", "integer", "{{ If(false, n + 1, 2) }}", 2},
		{"If skips the true branch", "integer", "{{ If(true, 7, n + 1) }}", 7},
		{"If skips a division by zero", "integer", "{{ If(false, retry_count % 0, 2) }}", 2},
		{"If skips an index out of range", "integer", "{{ If(retry_count > 5, codes[9], 2) }}", 2},
		{"If guards NOT_SET arithmetic", "integer", "{{ If(IsSet(n), n * 2, -1) }}", -1},
		{"If over a set variable", "integer", "{{ If(IsSet(retry_count), retry_count * 2, -1) }}", 4},

		// the Architect names on NOT_SET
		{"IsSet of NOT_SET", "boolean", "{{ IsSet(request_id) }}", false},
		{"IsSet of a default", "boolean", "{{ IsSet(retry_count) }}", true},
		{"IsSet of an empty string", "boolean", "{{ IsSet(code) }}", true},
		{"IsNotSetOrEmpty of NOT_SET", "boolean", "{{ IsNotSetOrEmpty(request_id) }}", true},
		{"IsNotSetOrEmpty of empty string", "boolean", "{{ IsNotSetOrEmpty(code) }}", true},
		{"IsNotSetOrEmpty of text", "boolean", `{{ IsNotSetOrEmpty("x") }}`, false},
		{"IsNotSetOrEmpty of zero", "boolean", "{{ IsNotSetOrEmpty(0) }}", false},
		{"IsNotSetOrEmpty of a list", "boolean", "{{ IsNotSetOrEmpty(codes) }}", false},
		{"IsNotSetOrEmpty of an empty list", "boolean", "{{ IsNotSetOrEmpty([]) }}", true},
		{"IsNotSetOrEmpty of no headers", "boolean", "{{ IsNotSetOrEmpty(headers) }}", true},
		{"IsNotSetOrEmpty of no body", "boolean", "{{ IsNotSetOrEmpty(body) && IsNotSetOrEmpty(body?.message) }}", true},
		{"ToString of NOT_SET", "string", "{{ ToString(n) }}", ""},
		{"ToString of an integer", "string", "{{ ToString(retry_count) }}", "2"},
		{"ToString of a number", "string", "{{ ToString(amount) }}", "42.5"},
		{"ToInt of a string", "integer", `{{ ToInt("42") }}`, 42},
		{"ToInt of a number", "integer", "{{ ToInt(amount) }}", 42},
		{"ToInt after ??", "integer", `{{ ToInt(request_id ?? "7") }}`, 7},
		{"?? on NOT_SET", "integer", "{{ n ?? 5 }}", 5},
		{"?? on NOT_SET string", "string", `{{ request_id ?? "none" }}`, "none"},
		{"?? on a set variable", "integer", "{{ retry_count ?? 9 }}", 2},
		{"?? on an empty string keeps it", "string", `{{ code ?? "none" }}`, ""},

		// the scope before any data action, on the instance clock
		{"now is the instance clock", "datetime", "{{ now() }}", specStart},
		{"now at start is instance.started", "boolean", "{{ now() == instance.started }}", true},
		{"time arithmetic", "datetime", "{{ now() + duration('1h') }}", specStart.Add(time.Hour)},
		{"instance.flow", "string", "{{ instance.flow }}", "eval"},
		{"error is nil before any data action", "boolean", "{{ error == nil }}", true},
		{"status is 0 with no response", "integer", "{{ status }}", 0},
		{"a list renders as JSON", "string", "codes={{ codes }}", "codes=[429,503]"},
		{"NOT_SET inside an object renders as null", "string", "x{{ {'a': n} }}", `x{"a":null}`},
		{"whole float into integer", "integer", "{{ 2.0 }}", 2},
		{"seconds into duration", "duration", "{{ 90 }}", 90 * time.Second},
		{"duration literal", "duration", "1m30s", 90 * time.Second},

		// == and != compare NOT_SET as nil
		{"NOT_SET == nil", "boolean", "{{ request_id == nil }}", true},
		{"NOT_SET integer == nil", "boolean", "{{ n == nil }}", true},
		{"NOT_SET != nil", "boolean", "{{ n != nil }}", false},
		{"set variable == nil", "boolean", "{{ retry_count == nil }}", false},
		{"empty string is not nil", "boolean", "{{ code == nil }}", false},

		// backoff(n, initial, multiplier, max) = min(max, initial·multiplier^(n−1)) seconds
		{"backoff first", "number", "{{ backoff(1, 30, 2, 600) }}", 30.0},
		{"backoff third", "number", "{{ backoff(3, 30, 2, 600) }}", 120.0},
		{"backoff capped", "number", "{{ backoff(6, 30, 2, 600) }}", 600.0},
		{"backoff with durations", "number", `{{ backoff(retry_count, "30s", 2, "10m") }}`, 60.0},
		{"backoff fractional multiplier", "number", "{{ backoff(2, 10, 1.5, 60) }}", 15.0},
		{"backoff into an integer", "integer", "{{ backoff(retry_count + 1, 30, 2, 900) }}", 120},
		{"backoff in a mixed template", "string", "wait {{ backoff(2, 30, 2, 600) }}s", "wait 60s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := specEval(t, tc.typ, tc.tpl)
			if res.Outcome != "success" {
				t.Fatalf("outcome %s, error %+v", res.Outcome, res.Error)
			}
			got := res.Variables["out"]
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s gave %#v (%T), want %#v (%T)", tc.tpl, got, got, tc.want, tc.want)
			}
		})
	}
}

func TestRuntimeErrorsInExpressions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		typ  string
		tpl  string
		want []string // all in the error message
	}{
		{"arithmetic on NOT_SET", "integer", "{{ n + 1 }}", []string{"variable n is NOT_SET", "n + 1"}},
		{"arithmetic with a set operand", "integer", "{{ retry_count * n }}", []string{"variable n is NOT_SET"}},
		{"ordering on NOT_SET", "boolean", "{{ n > 3 }}", []string{"variable n is NOT_SET"}},
		{"ordering on NOT_SET, reversed", "boolean", "{{ max_retries <= n }}", []string{"variable n is NOT_SET"}},
		{"NOT_SET in a mixed template", "string", "x{{ n - 1 }}", []string{"variable n is NOT_SET"}},
		{"NOT_SET through the Flow alias", "integer", "{{ Flow.n + 1 }}", []string{"n is NOT_SET"}},
		{"If evaluates the branch it takes", "integer", "{{ If(true, n + 1, 2) }}", []string{"variable n is NOT_SET"}},
		{"division by zero", "integer", "{{ retry_count % 0 }}", []string{"divide by zero"}},
		{"backoff needs n of at least 1", "number", "{{ backoff(0, 30, 2, 600) }}", []string{"backoff", "n must be an integer"}},
		{"ToInt of text", "integer", `{{ ToInt("abc") }}`, []string{"ToInt", `"abc"`}},
		// the variable named is the one the failing operation read, not just any NOT_SET one
		{"names the operand, not another NOT_SET variable", "integer", "{{ request_id == nil ? n + 1 : 0 }}", []string{"variable n is NOT_SET"}},
		{"names the operand after an If", "integer", "{{ If(IsSet(request_id), 1, n * 2) }}", []string{"variable n is NOT_SET"}},
		{"names the NOT_SET side of a comparison", "boolean", "{{ request_id == nil && retry_count > n }}", []string{"variable n is NOT_SET"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := specEval(t, tc.typ, tc.tpl)
			if res.Outcome != "error" || res.Error == nil {
				t.Fatalf("outcome %s, error %+v; want a runtime error", res.Outcome, res.Error)
			}
			if res.Error.Kind != "runtime" {
				t.Errorf("error kind %q, want runtime", res.Error.Kind)
			}
			for _, w := range tc.want {
				if !strings.Contains(res.Error.Message, w) {
					t.Errorf("error %q does not mention %q", res.Error.Message, w)
				}
			}
		})
	}
}

// A wait computed with backoff() waits the seconds backoff gives; now() moves with the waits.
func TestBackoffAsAWait(t *testing.T) {
	t.Parallel()
	f := specLoad(t, `flow: backoff
variables:
  attempt: {type: integer, default: 0}
  finished: {type: datetime}
start: bump
nodes:
  bump:
    assign: {attempt: "{{ attempt + 1 }}"}
    next: pause
  pause:
    wait: "{{ backoff(attempt, '30s', 2, '2m') }}"
    next: check
  check:
    decision:
      - when: attempt >= 4
        next: stamp
    default: bump
  stamp: {assign: {finished: "{{ now() }}"}, next: done}
  done: {end: success}
`)
	res := specRun(t, f, nil)
	if want := []float64{30, 60, 120, 120}; !reflect.DeepEqual(res.Waits, want) {
		t.Errorf("waits %v, want %v", res.Waits, want)
	}
	want := specStart.Add(330 * time.Second)
	if !res.Ended.Equal(want) {
		t.Errorf("ended at %s on the virtual clock, want %s", res.Ended, want)
	}
	if got, _ := res.Variables["finished"].(time.Time); !got.Equal(want) {
		t.Errorf("now() after the waits = %v, want %s", res.Variables["finished"], want)
	}
}

// A mapping body is sent as JSON in which single-expression templates keep their types.
func TestJSONBodyKeepsTypes(t *testing.T) {
	t.Parallel()
	type request struct {
		body   map[string]any
		header http.Header
	}
	got := make(chan request, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		dec := json.NewDecoder(r.Body)
		dec.UseNumber() // tell 3 from 3.0 and "3"
		if err := dec.Decode(&body); err != nil {
			t.Errorf("server: body is not JSON: %v", err)
		}
		got <- request{body: body, header: r.Header.Clone()}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"success": true}`))
	}))
	defer srv.Close()

	f := specLoad(t, fmt.Sprintf(`flow: body
variables:
  order_id:    {type: string, input: true, required: true}
  amount:      {type: number, input: true, default: 0}
  retry_count: {type: integer, default: 2}
  n:           {type: integer, default: 7}
  request_id:  {type: string}
actions:
  push:
    method: POST
    url: "%s/orders"
    headers: {X-Request-ID: "{{ request_id }}", X-Attempt: "{{ retry_count + 1 }}"}
    body:
      id: "{{ order_id }}"
      amount: "{{ amount }}"
      attempt: "{{ retry_count + 1 }}"
      late: "{{ retry_count > 1 }}"
      ref: "id-{{ n }}"
      braces: '{{ "{{" }}'
      unset: "[{{ request_id }}]"
      literal: plain
      count: 5
      nested: {list: ["{{ n }}", "x{{ n }}"]}
start: call
nodes:
  call:
    data_action: push
    next: done
    on_failure: failed
  done: {end: success}
  failed: {end: failure}
`, srv.URL))
	res := specRun(t, f, map[string]any{"order_id": "A-1001", "amount": 42})
	if res.Outcome != "success" {
		t.Fatalf("outcome %s, error %+v", res.Outcome, res.Error)
	}
	var req request
	select {
	case req = <-got:
	default:
		t.Fatal("the server saw no request")
	}
	want := map[string]any{
		"id":      "A-1001",
		"amount":  json.Number("42"),
		"attempt": json.Number("3"),
		"late":    true,
		"ref":     "id-7",
		"braces":  "{{",
		"unset":   "[]",
		"literal": "plain",
		"count":   json.Number("5"),
		"nested":  map[string]any{"list": []any{json.Number("7"), "x7"}},
	}
	for k, w := range want {
		if g := req.body[k]; !reflect.DeepEqual(g, w) {
			t.Errorf("body.%s = %#v (%T), want %#v (%T)", k, g, g, w, w)
		}
	}
	if ct := req.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	// headers are always text; NOT_SET renders as ""
	if v := req.header.Get("X-Request-ID"); v != "" {
		t.Errorf("X-Request-ID %q, want empty (NOT_SET)", v)
	}
	if v := req.header.Get("X-Attempt"); v != "3" {
		t.Errorf("X-Attempt %q, want 3", v)
	}
}

// A string body is sent as is, rendered.
func TestStringBodyIsSentAsIs(t *testing.T) {
	t.Parallel()
	got := make(chan []byte, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b bytes.Buffer
		b.ReadFrom(r.Body)
		got <- b.Bytes()
	}))
	defer srv.Close()
	f := specLoad(t, fmt.Sprintf(`flow: text
variables:
  n: {type: integer, default: 7}
  request_id: {type: string}
actions:
  push:
    method: POST
    url: "%s/"
    body: "n={{ n }}&id={{ request_id }}&{{ \"{{\" }}"
start: call
nodes:
  call: {data_action: push, next: done, on_failure: done}
  done: {end: success}
`, srv.URL))
	specRun(t, f, nil)
	select {
	case b := <-got:
		if string(b) != "n=7&id=&{{" {
			t.Errorf("body %q, want %q", b, "n=7&id=&{{")
		}
	default:
		t.Fatal("the server saw no request")
	}
}

// Notifications render NOT_SET as "" in subject and body.
func TestNotifyRendersNotSetAsEmpty(t *testing.T) {
	t.Parallel()
	f := specLoad(t, `flow: note
variables:
  request_id: {type: string}
  retry_count: {type: integer, default: 3}
channels:
  console: {type: log}
start: tell
nodes:
  tell:
    notify:
      channel: console
      subject: "CRITICAL: failed for [{{ request_id }}]"
      body: "{{ request_id }}"
    next: done
  done: {end: escalated}
`)
	res := specRun(t, f, nil)
	if len(res.Notifications) != 1 {
		t.Fatalf("notifications %v, want one", res.Notifications)
	}
	n := res.Notifications[0]
	if n.Subject != "CRITICAL: failed for []" || n.Body != "" {
		t.Errorf("subject %q body %q; want NOT_SET rendered as empty", n.Subject, n.Body)
	}
}

// The structured form {operator, operands: [{field, op, value}]} decides as its bare expr
// equivalent does, for every op and for nested operands.
func TestStructuredConditionsMatchBareExpressions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		structured string // YAML of the when: mapping
		bare       string
	}{
		{"== template", `{operator: AND, operands: [{field: retry_count, op: "==", value: "{{ max_retries }}"}]}`, "retry_count == max_retries"},
		{">= template", `{operator: AND, operands: [{field: retry_count, op: ">=", value: "{{ max_retries }}"}]}`, "retry_count >= max_retries"},
		{"!= string", `{operator: AND, operands: [{field: code, op: "!=", value: E1}]}`, `code != "E1"`},
		{"== string", `{operator: AND, operands: [{field: code, op: "==", value: "E1"}]}`, `code == "E1"`},
		{"< literal", `{operator: AND, operands: [{field: retry_count, op: "<", value: 2}]}`, "retry_count < 2"},
		{"<= literal", `{operator: AND, operands: [{field: retry_count, op: "<=", value: 2}]}`, "retry_count <= 2"},
		{"> literal", `{operator: AND, operands: [{field: retry_count, op: ">", value: 2}]}`, "retry_count > 2"},
		{"> template expression", `{operator: AND, operands: [{field: retry_count, op: ">", value: "{{ max_retries - 1 }}"}]}`, "retry_count > max_retries - 1"},
		{"in list", `{operator: AND, operands: [{field: code, op: in, value: [E1, E2]}]}`, `code in ["E1", "E2"]`},
		{"in numbers", `{operator: AND, operands: [{field: retry_count, op: in, value: [0, 3]}]}`, `retry_count in [0, 3]`},
		{"contains on a string", `{operator: AND, operands: [{field: code, op: contains, value: "2"}]}`, `code contains "2"`},
		{"contains on a list is membership", `{operator: AND, operands: [{field: codes, op: contains, value: 503}]}`, `503 in codes`},
		{"contains on a list of strings", `{operator: AND, operands: [{field: tags, op: contains, value: urgent}]}`, `"urgent" in tags`},
		{"matches", `{operator: AND, operands: [{field: code, op: matches, value: "^E[0-9]+$"}]}`, `code matches "^E[0-9]+$"`},
		{"field is an expression", `{operator: AND, operands: [{field: "retry_count + 1", op: ">", value: 3}]}`, "retry_count + 1 > 3"},
		{"Flow alias in field", `{operator: AND, operands: [{field: Flow.retry_count, op: ">=", value: 1}]}`, "retry_count >= 1"},
		{"value mixing text and template", `{operator: AND, operands: [{field: code, op: "==", value: "E{{ retry_count }}"}]}`, `code == "E" + string(retry_count)`},
		{"AND of two", `{operator: AND, operands: [{field: retry_count, op: ">=", value: 1}, {field: code, op: "==", value: E2}]}`, `retry_count >= 1 && code == "E2"`},
		{"OR of two", `{operator: OR, operands: [{field: retry_count, op: ">=", value: 3}, {field: code, op: "==", value: E2}]}`, `retry_count >= 3 || code == "E2"`},
		{"NOT", `{operator: NOT, operands: [{field: code, op: "==", value: E1}]}`, `!(code == "E1")`},
		{"lower-case operator", `{operator: or, operands: [{field: code, op: "==", value: E1}, {field: code, op: "==", value: E3}]}`, `code == "E1" || code == "E3"`},
		{"nested", `{operator: OR, operands: [{field: retry_count, op: ">=", value: "{{ max_retries }}"}, {operator: AND, operands: [{field: codes, op: contains, value: 429}, {operator: NOT, operands: [{field: code, op: in, value: [E1]}]}]}]}`,
			`retry_count >= max_retries || (429 in codes && !(code in ["E1"]))`},
	}
	inputs := []map[string]any{
		{"retry_count": 0, "code": "E1", "codes": []any{429, 503}, "tags": []any{"urgent"}},
		{"retry_count": 2, "code": "E2", "codes": []any{503}, "tags": []any{}},
		{"retry_count": 3, "code": "E3", "codes": []any{429.0}, "tags": []any{"low", "urgent"}},
		{"retry_count": 4, "code": "X12", "codes": []any{}, "tags": []any{"low"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := specLoad(t, fmt.Sprintf(`flow: ops
variables:
  retry_count: {type: integer, input: true, default: 0}
  max_retries: {type: integer, default: 3}
  code:        {type: string, input: true, default: ""}
  codes:       {type: list, input: true, default: []}
  tags:        {type: list, input: true, default: []}
  structured:  {type: boolean}
  bare:        {type: boolean}
start: s
nodes:
  s:
    decision:
      - when: %s
        next: s_yes
    default: s_no
  s_yes: {assign: {structured: true}, next: b}
  s_no: {assign: {structured: false}, next: b}
  b:
    decision:
      - when: %s
        next: b_yes
    default: b_no
  b_yes: {assign: {bare: true}, next: done}
  b_no: {assign: {bare: false}, next: done}
  done: {end: success}
`, tc.structured, strconv.Quote(tc.bare)))
			seen := map[any]bool{}
			for _, in := range inputs {
				res := specRun(t, f, in)
				if res.Outcome != "success" {
					t.Fatalf("inputs %v: outcome %s, error %+v", in, res.Outcome, res.Error)
				}
				s, b := res.Variables["structured"], res.Variables["bare"]
				if s != b {
					t.Errorf("inputs %v: structured form decided %v, bare %q decided %v", in, s, tc.bare, b)
				}
				seen[b] = true
			}
			if !seen[true] || !seen[false] {
				t.Errorf("the inputs never made %q both true and false; the case proves little", tc.bare)
			}
		})
	}
}

// The seed's structured escalation check, exactly as SPEC §1 writes it.
func TestStructuredOperandsOfTheSeed(t *testing.T) {
	t.Parallel()
	f := specLoad(t, `flow: seed
variables:
  retry_count: {type: integer, input: true, default: 0}
  max_retries: {type: integer, default: 3}
start: classify
nodes:
  classify:
    decision:
      - when: {operator: AND, operands: [{field: retry_count, op: ">=", value: "{{ max_retries }}"}]}
        next: escalate
    default: bump
  bump: {end: retry}
  escalate: {end: escalated}
`)
	for rc, want := range map[int]string{0: "retry", 2: "retry", 3: "escalated", 4: "escalated"} {
		if got := specRun(t, f, map[string]any{"retry_count": rc}).Outcome; got != want {
			t.Errorf("retry_count %d: outcome %s, want %s", rc, got, want)
		}
	}
}
