package engine_test

import (
	"strings"
	"testing"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/yamldoc"
	"github.com/archflow/archflow/nodes"
)

// The mistakes a new user made writing flows from the README alone (issue 14): each is reported
// at the place of the mistake, with the fix written out. The messages are checked exactly, as
// docs/mistakes.md quotes them.

func loadMessages(t *testing.T, src string) []string {
	t.Helper()
	_, err := nodes.Builtins().Load("flow.yaml", []byte(src))
	if err == nil {
		t.Fatalf("flow compiled; want errors\n%s", src)
	}
	l, ok := yamldoc.AsList(err)
	if !ok {
		t.Fatalf("error is %T: %v", err, err)
	}
	var out []string
	for _, e := range l {
		out = append(out, e.Error())
	}
	return out
}

func TestCommonMistakesAreTaught(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, src string
		want      []string
	}{
		{
			"unquoted template in an assign and a wait",
			"flow: t\nvariables:\n  n: {type: integer, default: 0}\nstart: a\nnodes:\n  a:\n    assign: {n: {{ n + 1 }}}\n    next: w\n  w:\n    wait: {{ n * 10 }}\n    next: d\n  d: {end: success}\n",
			[]string{
				`flow.yaml:7:17: error: a template must be quoted: write "{{ n + 1 }}"`,
				`flow.yaml:10:11: error: a template must be quoted: write "{{ n * 10 }}"`,
			},
		},
		{
			"? in a flow mapping",
			"flow: t\nactions:\n  a:\n    method: GET\n    outputs: {msg: body?.message}\n",
			[]string{`flow.yaml:5:24: error: invalid YAML: did not find expected ',' or '}': in a flow mapping {...} a ? starts a key: quote the expression, write "body?.message"`},
		},
		{
			"template starting a plain value",
			"flow: t\nactions:\n  a:\n    method: GET\n    url: {{ env(\"X\") }}/orders\n    timeout: 1s\n",
			[]string{`flow.yaml:5:10: error: invalid YAML: did not find expected key: a template must be quoted: write '{{ env("X") }}/orders'`},
		},
		{
			"tab indentation",
			"flow: t\nactions:\n  a:\n\tmethod: GET\n",
			[]string{`flow.yaml:4:1: error: invalid YAML: found character that cannot start any token: tabs are not allowed in YAML: indent with spaces`},
		},
		{
			"tab after spaces",
			"flow: t\nactions:\n  a:\n    method: GET\n  \ttimeout: 1\n",
			[]string{`flow.yaml:5:3: error: invalid YAML: found a tab character that violates indentation: tabs are not allowed in YAML: indent with spaces`},
		},
		{
			"a line indented less than its siblings",
			"flow: t\nstart: a\nnodes:\n  a:\n    assign: {x: 1}\n   next: d\n  d: {end: success}\n",
			[]string{`flow.yaml:6:4: error: invalid YAML: did not find expected key: this line is indented 3 spaces: indent it 4, like the lines above it`},
		},
		{
			"a line indented more than its siblings",
			"flow: t\nstart: a\nnodes:\n  a:\n    assign: {x: 1}\n     next: d\n  d: {end: success}\n",
			[]string{`flow.yaml:6:6: error: invalid YAML: did not find expected key: this line is indented 5 spaces: indent it 4, like the lines above it`},
		},
		{
			"braces in a bare expression",
			"flow: t\nvariables:\n  order_id: {type: string}\nstart: d\nnodes:\n  d:\n    decision:\n      - when: \"{{ order_id }} == 'x'\"\n        next: e\n    default: e\n  e: {end: success}\n",
			[]string{`flow.yaml:8:15: error: bare expressions take no {{ }}: write order_id == 'x'`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := loadMessages(t, tc.src)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

// SPEC §1: == and != compare NOT_SET as nil for every type; ordering and arithmetic fail naming
// the variable.
func TestNotSetComparesAsNil(t *testing.T) {
	t.Parallel()
	src := `flow: t
variables:
  s: {type: string}
  i: {type: integer}
  x: {type: number}
  b: {type: boolean}
  r: {type: boolean, output: true}
start: a
nodes:
  a:
    assign:
      r: "{{ (s == nil) && (i == nil) && (x == nil) && (s != 'a') && (i != 3) && !(i == 3) && (Flow.i != 4) && (b != true) && (3 != i) }}"
    next: d
  d: {end: success}
`
	r := specRun(t, specLoad(t, src), nil)
	if r.Outcome != engine.OutcomeSuccess || r.Outputs["r"] != true {
		t.Fatalf("outcome %s, r=%v, error %+v", r.Outcome, r.Outputs["r"], r.Error)
	}
	for _, tc := range []struct{ expr, want string }{
		{"i < 3", `flow.yaml:12:10: variable i is NOT_SET in " i < 3 " (invalid operation: <nil> < int)`},
		{"i + 1 == 2", `flow.yaml:12:10: variable i is NOT_SET in " i + 1 == 2 " (invalid operation: <nil> + int)`},
		{"s + 'a' == 'b'", `flow.yaml:12:10: variable s is NOT_SET in " s + 'a' == 'b' " (invalid operation: <nil> + string)`},
	} {
		bad := strings.Replace(src, `"{{ (s == nil)`, `"{{ `+tc.expr+` }}" # `, 1)
		r := specRun(t, specLoad(t, bad), nil)
		if r.Error == nil || !strings.HasPrefix(r.Error.Message, tc.want) {
			t.Errorf("%s: error %+v, want it to start %q", tc.expr, r.Error, tc.want)
		}
	}
	// the types are still checked: an integer is not compared with a string
	if msgs := loadMessages(t, strings.Replace(src, "(i != 3)", `(i != '3')`, 1)); !strings.Contains(strings.Join(msgs, "\n"), "mismatched types int and string") {
		t.Errorf("i != \"3\" compiled: %v", msgs)
	}
}

func TestReservedNameOffersFreeNames(t *testing.T) {
	t.Parallel()
	got := loadMessages(t, "flow: t\nvariables:\n  count: {type: integer}\n  contains: {type: string}\nstart: d\nnodes:\n  d: {end: success}\n")
	want := []string{
		`flow.yaml:3:3: error: "count" is a reserved name and cannot be a variable: call it count_ or n_count (docs/flow-format.md lists the reserved names)`,
		`flow.yaml:4:3: error: "contains" is a reserved name and cannot be a variable: call it n_contains or my_contains (docs/flow-format.md lists the reserved names)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}
