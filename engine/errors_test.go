package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/clock"
	"github.com/archflow/archflow/engine/yamldoc"
)

// These tests follow SPEC §1 Rules and §9: every error names file:line:col of the offending YAML
// node, all errors of a file come together, sorted; plus the step guard of §4.

// where is the file:line:col of the first whole-word occurrence of needle in src, as an editor counts.
func where(t *testing.T, src, needle string) string {
	t.Helper()
	i := -1
	for from := 0; ; from = i + 1 {
		j := strings.Index(src[from:], needle)
		if j < 0 {
			t.Fatalf("%q is not in the source as a whole word", needle)
		}
		i = from + j
		if end := i + len(needle); end == len(src) || !isIdentByte(src[end]) {
			break
		}
	}
	line := strings.Count(src[:i], "\n") + 1
	col := i - strings.LastIndex(src[:i], "\n")
	return fmt.Sprintf("flow.yaml:%d:%d", line, col)
}

func isIdentByte(b byte) bool {
	return b == '_' || '0' <= b && b <= '9' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z'
}

// wantError checks that errs holds an error at the position of needle whose message has all of want.
func wantError(t *testing.T, errs yamldoc.ErrorList, src, needle string, want ...string) {
	t.Helper()
	pos := where(t, src, needle)
	for _, e := range errs {
		if e.Pos.String() != pos {
			continue
		}
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(e.Msg, w)
		}
		if ok {
			return
		}
	}
	t.Errorf("no error at %s (%q) saying %q; errors:\n%v", pos, needle, want, errs)
}

const errorsHead = `flow: errs
variables:
  retry_count: {type: integer, default: 0}
  max_retries: {type: integer, default: 3}
  request_id:  {type: string}
  out:         {type: string}
actions:
  push:
    method: POST
    url: "http://127.0.0.1:1/{{ request_id }}"
channels:
  console: {type: log}
start: a
nodes:
`

// An unknown variable is reported where it is written, with the nearest declared name.
func TestUnknownVariableSuggestsAndPointsAtIt(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		nodes string // holds the misspelt name once
		bad   string
		near  string
		at    string // where the error points, when not at bad
	}{
		{"plain condition", `  a:
    decision:
      - when: retry_count > 1 && retry_cont >= 3
        next: done
    default: done`, "retry_cont", "retry_count", ""},
		{"double-quoted condition", `  a:
    decision:
      - when: "retry_cont >= 3"
        next: done
    default: done`, "retry_cont", "retry_count", ""},
		{"single-quoted condition", `  a:
    decision:
      - when: 'max_retrie == 3'
        next: done
    default: done`, "max_retrie", "max_retries", ""},
		{"assignment target", `  a: {assign: {retry_cont: 1}, next: done}`, "retry_cont", "retry_count", ""},
		{"template in an assign", `  a: {assign: {retry_count: "{{ retry_cont + 1 }}"}, next: done}`, "retry_cont", "retry_count", ""},
		{"second template of a string", `  a:
    notify: {channel: console, subject: "id {{ request_id }} after {{ retry_cont }} tries"}
    next: done`, "retry_cont", "retry_count", ""},
		{"plain template", `  a:
    assign:
      out: x{{ max_retrie }}
    next: done`, "max_retrie", "max_retries", ""},
		{"wait", `  a: {wait: "{{ max_retrie * 10 }}", next: done}`, "max_retrie", "max_retries", ""},
		{"structured field", `  a:
    decision:
      - when: {operator: AND, operands: [{field: retry_cont, op: ">=", value: 3}]}
        next: done
    default: done`, "retry_cont", "retry_count", ""},
		{"structured value template", `  a:
    decision:
      - when: {operator: AND, operands: [{field: retry_count, op: ">=", value: "{{ max_retrie }}"}]}
        next: done
    default: done`, "max_retrie", "max_retries", ""},
		{"Flow alias", `  a:
    decision:
      - when: Flow.retry_count > 1 || Flow.retry_cont > 2
        next: done
    default: done`, "retry_cont", "retry_count", ""},
		// expr counts columns within one line: an error in a block scalar points at the scalar
		{"literal block condition", `  a:
    decision:
      - when: |
          retry_count > 1 &&
          retry_cont >= 3
        next: done
    default: done`, "retry_cont", "retry_count", "|"},
		{"multi-line template", `  a:
    notify:
      channel: console
      subject: "line one\nline two {{ retry_cont }}"
    next: done`, "retry_cont", "retry_count", `"line one`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := errorsHead + tc.nodes + "\n  done: {end: success}\n"
			errs := specLoadErrors(t, src)
			at := tc.at
			if at == "" {
				at = tc.bad
			}
			wantError(t, errs, src, at, fmt.Sprintf("unknown variable %q (did you mean %q?)", tc.bad, tc.near))
		})
	}
}

// A condition must give a boolean, and its operands must fit together; errors in the structured
// form point at the mapping or, for a template value, into the template.
func TestConditionErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		when   string
		needle string
		want   string
	}{
		{"integer condition", "retry_count + 1", "retry_count + 1", `condition "retry_count + 1" gives integer, not a boolean`},
		{"string condition", "request_id", "request_id\n", `condition "request_id" gives string, not a boolean`},
		{"template where a bare expression goes", `"{{ retry_count > 1 }}"`, `"{{ retry_count > 1 }}"`, "bare expressions take no {{ }}: write retry_count > 1"},
		{"mismatched operands", "retry_count >= request_id", ">= request_id", "mismatched types int and string"},
		{"structured mismatched operands", `{operator: AND, operands: [{field: retry_count, op: ">=", value: "{{ request_id }}"}]}`,
			"{operator", "mismatched types int and string"},
		{"structured unknown op", `{operator: AND, operands: [{field: retry_count, op: "=>", value: 1}]}`,
			`"=>"`, `op must be one of == != < <= > >= in contains matches, not "=>"`},
		{"structured unknown operator", `{operator: XOR, operands: [{field: retry_count, op: "==", value: 1}]}`,
			"XOR", `operator must be AND, OR or NOT, not "XOR"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := errorsHead + "  a:\n    decision:\n      - when: " + tc.when + "\n        next: done\n    default: done\n  done: {end: success}\n"
			errs := specLoadErrors(t, src)
			wantError(t, errs, src, tc.needle, tc.want)
		})
	}
}

// Template syntax: an unclosed or empty {{ is reported at the string, a bad expression inside it
// where it goes wrong.
func TestTemplateSyntaxErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		value  string
		needle string
		want   string
	}{
		{"unclosed", `"id-{{ request_id"`, `"id-{{`, `unclosed {{`},
		{"empty", `"id-{{  }}"`, `"id-{{`, `empty {{ }}`},
		{"bad expression", `"id-{{ retry_count + request_id }}"`, "+ request_id", `mismatched types int and string`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := errorsHead + "  a:\n    assign:\n      out: " + tc.value + "\n    next: done\n  done: {end: success}\n"
			errs := specLoadErrors(t, src)
			wantError(t, errs, src, tc.needle, tc.want)
		})
	}
}

// Reserved names cannot be variables: the response scope, error, instance, retries, Flow, and
// expr's built-in function names.
func TestReservedNamesAreNotVariables(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"status", "headers", "body", "text", "elapsed", "error", "instance", "retries", "Flow",
		"count", "len", "filter", "now", "uuid", "env", "secret", "retry_after", "backoff", "If", "IsSet", "ToInt"} {
		t.Run(name, func(t *testing.T) {
			src := "flow: reserved\nvariables:\n  ok: {type: string}\n  " + name + ": {type: integer}\nstart: done\nnodes:\n  done: {end: success}\n"
			errs := specLoadErrors(t, src)
			wantError(t, errs, src, name+":", fmt.Sprintf("%q is a reserved name", name))
		})
	}
}

// Unknown keys are errors at the key, suggesting the nearest allowed one.
func TestUnknownKeysSuggestTheNearest(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		src  string
		bad  string
		near string
	}{
		{"top level", "flow: k\nvaraibles: {}\nstart: done\nnodes:\n  done: {end: success}\n", "varaibles", "variables"},
		{"variable declaration", "flow: k\nvariables:\n  n: {type: integer, defualt: 0}\nstart: done\nnodes:\n  done: {end: success}\n", "defualt", "default"},
		{"node", "flow: k\nstart: a\nnodes:\n  a: {wait: 1, nxt: done}\n  done: {end: success}\n", "nxt", "next"},
		{"action", "flow: k\nactions:\n  get: {url: http://127.0.0.1:1/, methd: GET}\nstart: done\nnodes:\n  done: {end: success}\n", "methd", "method"},
		{"decision case", "flow: k\nstart: a\nnodes:\n  a:\n    decision:\n      - wehn: true\n        next: done\n    default: done\n  done: {end: success}\n", "wehn", "when"},
		{"structured operand", "flow: k\nvariables:\n  n: {type: integer, default: 0}\nstart: a\nnodes:\n  a:\n    decision:\n      - when: {operator: AND, operands: [{feild: n, op: \"==\", value: 1}]}\n        next: done\n    default: done\n  done: {end: success}\n", "feild", "field"},
		{"wait", "flow: k\nstart: a\nnodes:\n  a: {wait: {fro: 10s}, next: done}\n  done: {end: success}\n", "fro", "for"},
		{"channel", "flow: k\nchannels:\n  dead: {type: file, pth: x.jsonl}\nstart: done\nnodes:\n  done: {end: success}\n", "pth", "path"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			errs := specLoadErrors(t, tc.src)
			wantError(t, errs, tc.src, tc.bad+":", fmt.Sprintf("unknown key %q (did you mean %q?)", tc.bad, tc.near))
		})
	}
}

// Every error of a file is reported in one go, sorted by position, each as file:line:col.
func TestAllErrorsOfAFileTogetherAndSorted(t *testing.T) {
	t.Parallel()
	src := `flow: many
variables:
  status: {type: integer}
  retry_count: {type: integer, defualt: 0}
start: a
nodes:
  a:
    assign: {retry_count: "{{ retry_cont + 1 }}"}
    next: b
  b:
    decision:
      - when: retry_count > max_retries
        next: nowhere
    default: a
  c: {wait: 5, next: a, extra: 1}
`
	errs := specLoadErrors(t, src)
	wantError(t, errs, src, "status:", `"status" is a reserved name`)
	wantError(t, errs, src, "defualt", `unknown key "defualt"`)
	wantError(t, errs, src, "retry_cont ", `unknown variable "retry_cont"`)
	wantError(t, errs, src, "max_retries", `unknown variable "max_retries"`)
	wantError(t, errs, src, "nowhere", `undefined node "nowhere"`)
	wantError(t, errs, src, "extra", `unknown key "extra"`)
	if n := len(errs.Errors()); n < 6 {
		t.Errorf("%d errors, want at least 6:\n%v", n, errs)
	}
	for i := 1; i < len(errs); i++ {
		a, b := errs[i-1].Pos, errs[i].Pos
		if a.Line > b.Line || (a.Line == b.Line && a.Col > b.Col) {
			t.Errorf("errors not sorted: %s before %s", a, b)
		}
	}
	for _, line := range strings.Split(errs.Error(), "\n") {
		var l, c int
		if _, err := fmt.Sscanf(line, "flow.yaml:%d:%d: error: ", &l, &c); err != nil || l == 0 || c == 0 {
			t.Errorf("%q does not start with flow.yaml:line:col: error:", line)
		}
	}
}

// A loop with no end stops after Options.MaxSteps node executions with outcome error.
// The guard is not a runtime error: on_error, which could loop again, is not taken.
func TestMaxStepsStopsALoopWithoutEnd(t *testing.T) {
	t.Parallel()
	f := specLoad(t, `flow: spin
variables:
  laps: {type: integer, default: 0}
start: a
on_error: handler
nodes:
  a: {assign: {laps: "{{ laps + 1 }}"}, next: b}
  b: {wait: 0, next: a}
  handler: {end: handled}
`)
	for _, max := range []int{1, 7, 100} {
		res := f.Run(context.Background(), nil, &engine.Options{
			Clock:    func() clock.Clock { return clock.NewVirtualClock(specStart) },
			MaxSteps: max,
		})
		if res.Outcome != "error" {
			t.Fatalf("max %d: outcome %s, want error", max, res.Outcome)
		}
		if len(res.Path) != max {
			t.Errorf("max %d: ran %d nodes", max, len(res.Path))
		}
		if res.Error == nil || !strings.Contains(res.Error.Message, fmt.Sprint(max)) || !strings.Contains(res.Error.Message, "max-steps") {
			t.Errorf("max %d: error %+v, want a message naming the limit", max, res.Error)
		}
		if want := (max + 1) / 2; res.Variables["laps"] != want {
			t.Errorf("max %d: laps = %v, want %d", max, res.Variables["laps"], want)
		}
		for _, n := range res.Path {
			if n == "handler" {
				t.Errorf("max %d: the guard went to on_error: path %v", max, res.Path)
				break
			}
		}
	}
}
