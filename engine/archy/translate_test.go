package archy_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/archy"
	"github.com/archflow/archflow/engine/archy/dataaction"
	"github.com/archflow/archflow/engine/transport"
	"github.com/archflow/archflow/nodes"
)

func TestArchitectExpressions(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"x": "x", "name": "name", "items": "items", "contact": "contact", "count": "count_var", "t": "t", "n": "n"}
	resolve := func(scope, name string) (string, bool) {
		if scope == "State" && name == "s" {
			return "Main_s", true
		}
		v, ok := vars[name]
		return v, ok && scope == "Flow"
	}
	tests := []struct{ in, want string }{
		{`Flow.x == NOT_SET`, `x == nil`},
		{`Flow.x != not_set`, `x != nil`},
		{`IsSet(Flow.x) and Flow.x > 1`, `IsSet(x) && x > 1`},
		{`IsSet(Flow.x) AND Flow.x > 1 OR NOT IsSet(Flow.name)`, `IsSet(x) && x > 1 || !IsSet(name)`},
		{`Flow.x == 1 Or Flow.x == 2 aNd not(Flow.x == 3)`, `x == 1 || x == 2 && !(x == 3)`},
		{`(Flow.x == 1 or Flow.x == 2) and !IsNotSetOrEmpty(Flow.name)`, `(x == 1 || x == 2) && !IsNotSetOrEmpty(name)`},
		{`State.s + "!"`, `Main_s + "!"`},
		{`Flow.count + 1`, `count_var + 1`},
		{`If(IsSet(Flow.x), Flow.x, 0)`, `If(IsSet(x), x, 0)`},
		{`ToString(Flow.x)`, `ToString(x)`},
		{`ToInt("42")`, `ToInt("42")`},
		{`ToDecimal(Flow.x) / 2`, `float(x) / 2`},
		{`Append("a", Flow.name)`, `(ToString("a") + ToString(name))`},
		{`Count(Flow.items)`, `len(items ?? [])`},
		{`GetAt(Flow.items, 0)`, `(items)[0]`},
		{`Flow.items[Flow.x - 1]`, `items[x - 1]`},
		{`FindString(Flow.name, "@")`, `indexOf(name, "@")`},
		{`Contains(Flow.items, "a")`, `contains_(items, "a")`},
		{`Substring(Flow.name, 1, 3)`, `(name)[1:(1) + (3)]`},
		{`lower(Flow.name) == "x"`, `lower(name) == "x"`},
		{`UPPER(Trim(Flow.name))`, `upper(trim(name))`},
		{`GetJsonObjectProperty(Flow.contact, "email")`, `(contact)?.["email"]`},
		{`JsonParse("{\"a\": 1}")`, `fromJSON("{\"a\": 1}")`},
		{`Flow.contact.personalEmail`, `contact?.personalEmail`},
		{`Flow.contact.in`, `contact?.["in"]`},           // an expr keyword is no member name
		{`Flow.contact.matches`, `contact?.["matches"]`}, // nor is an operator word
		{`MakeDuration(0, 0, 5, 0, 0)`, `300`},
		{`MakeDuration(0, 0, Flow.x, 0, 0)`, `((0) * 86400 + (0) * 3600 + (x) * 60 + (0) + (0) / 1000.0)`},
		{`GetCurrentDateTimeUtc()`, `now()`},
		{`AddMinutes(Flow.t, 5)`, `(t) + duration(ToString(5) + "m")`},
		{`DateTimeDiff(Flow.t, GetCurrentDateTimeUtc())`, `((t) - (now()))`},
		{`AddItem(Flow.items, "b")`, `concat(items ?? [], ["b"])`},
		{`ToString(Flow.items, ", ")`, `join(map(items ?? [], ToString(#)), ", ")`},
		{`-Flow.n * 2 <> 3`, `-n * 2 != 3`},
		{`"it's \"quoted\""`, `"it's \"quoted\""`},
		{`true == TRUE`, `true == true`},
	}
	for _, tt := range tests {
		got, errs := archy.TranslateExpr(tt.in, resolve)
		if len(errs) > 0 {
			t.Errorf("%s: %v", tt.in, errs[0])
			continue
		}
		if got != tt.want {
			t.Errorf("%s\n got: %s\nwant: %s", tt.in, got, tt.want)
		}
	}
	// each translation is expr that archflow compiles against typed variables, and runs
	flow := `flow: exprs
variables:
  x: {type: integer}
  n: {type: integer, default: 2}
  name: {type: string, default: " Ann "}
  items: {type: list}
  contact: {type: object, default: {email: a@example.com}}
  t: {type: datetime}
  out: {type: string, output: true}
  num: {type: number, output: true}
  ok: {type: boolean, output: true}
start: a
nodes:
  a:
    assign:
      ok: "{{ x == nil && !IsSet(x) && IsNotSetOrEmpty(items) && len(items ?? []) == 0 }}"
      out: "{{ (ToString(\"[\") + ToString(upper(trim(name))) + ToString(contact?.email) + ToString((contact)?.[\"nope\"]) + \"]\") }}"
      num: "{{ float(n) / 4 + ((0) * 86400 + (0) * 3600 + (n) * 60 + (0) + (0) / 1000.0) }}"
      items: "{{ concat(items ?? [], [\"b\"]) }}"
    next: done
  done: {end: success}
`
	f, err := nodes.Builtins().Load("exprs.yaml", []byte(flow))
	if err != nil {
		t.Fatal(err)
	}
	r := specRun(t, f)
	if r.Outputs["ok"] != true || r.Outputs["out"] != "[ANNa@example.com]" || r.Outputs["num"] != 120.5 {
		t.Errorf("outputs %v", r.Outputs)
	}
	// what cannot be translated names its place, every one of them
	_, errs := archy.TranslateExpr(`Foo(Flow.x) + Flow.missing + Bar()`, resolve)
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.Msg)
	}
	if len(errs) != 3 || errs[0].Offset != 0 || errs[1].Offset != 14 || errs[2].Offset != 29 {
		t.Errorf("errors: %q at %v", msgs, errs)
	}
}

// Everything that cannot be translated is listed at once, at file:line:col of the source.
func TestUntranslatablePlaces(t *testing.T) {
	t.Parallel()
	src := filepath.Join(dir, "untranslatable.workflow.yaml")
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	_, diags := archy.Import(src, data, archy.Options{Set: map[string]string{"name": "Bad"}})
	var got []string
	for _, d := range diags {
		got = append(got, d.Error())
	}
	want := []string{
		src + ":18:22: in expression \"Frobnicate(Flow.a) == 1\": unknown or unsupported Architect function Frobnicate()",
		src + ":25:28: in expression \"Flow.nope + 1\": unknown variable Flow.nope",
		src + ":26:13: action playAudio is not supported by archflow import (it has no meaning outside Genesys Cloud or no public API)",
		src + ":28:13: action transferToAcd is not supported by archflow import (it has no meaning outside Genesys Cloud or no public API)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// an unresolved substitution names itself, at its place in the original file
	_, diags = archy.Import(src, data, archy.Options{})
	if len(diags) != 1 || diags[0].Error() != src+":3:10: Archy substitution {{name}} has no value: give it with --set name=VALUE or in --options" {
		t.Errorf("got %v", diags)
	}
}

// The real exports in ../shared/reference/archy import and validate. The repository stands alone:
// without them the test skips.
func TestReferenceWorkflows(t *testing.T) {
	t.Parallel()
	ref := filepath.Join("..", "..", "..", "shared", "reference", "archy")
	if _, err := os.Stat(ref); err != nil {
		t.Skip("no reference material beside the repository")
	}
	xs, probs := dataaction.LoadDir(ref)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	set := map[string]string{
		"flow_name": "Callback Prioritization", "workflow_name": "Send Transcript", "division": "Home", "default_language": "en-us",
		"data_action_category": "Genesys", "get_interaction_state": "Get Interaction State", "get_callback_priority": "Get Callback Priority",
		"update_callback_priority": "Update Callback Priority", "send_agentless_email": "Send Agentless Email",
		"fromAddress_email": "noreply@example.com", "replyToAddress_email": "noreply@example.com",
		"get_message_transcript": "Get Message Transcript", "common_module_name": "Merge Contact",
	}
	for _, name := range []string{"callback-prioritization", "proactive-callback-workbin", "send-message-transcript"} {
		src := filepath.Join(ref, name+".workflow.yaml")
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		res, diags := archy.Import(src, data, archy.Options{Set: set, Exports: xs})
		if len(diags) > 0 {
			t.Errorf("%s: %v", name, diags)
			continue
		}
		f, err := nodes.Builtins().Load(name+".yaml", res.YAML)
		if err != nil {
			t.Errorf("%s does not validate: %v\n%s", name, err, res.YAML)
			continue
		}
		if len(f.Nodes) < 5 {
			t.Errorf("%s: only %d nodes", name, len(f.Nodes))
		}
	}
}

func specRun(t *testing.T, f *engine.Flow) *engine.Result {
	t.Helper()
	in, err := f.Inputs(nil)
	if err != nil {
		t.Fatal(err)
	}
	return f.Run(t.Context(), in, &engine.Options{Channels: engine.Capture{}})
}

// Positions stay those of the original file when a substitution on the same line changed its length.
func TestPositionsAfterSubstitution(t *testing.T) {
	t.Parallel()
	src := "workflow:\n  name: W\n  startUpRef: \"/workflow/states/state[S]\"\n  states:\n    - state:\n        name: S\n        refId: S\n        actions:\n" +
		"          - endWorkflow: {name: E, exitReason: {exp: 'Append(\"{{greeting}}\", \"{{x}}\", Frobnicate())'}}\n"
	_, diags := archy.Import("w.yaml", []byte(src), archy.Options{Set: map[string]string{"greeting": "a much longer greeting than the placeholder", "x": ""}})
	col := strings.Index(strings.Split(src, "\n")[8], "Frobnicate") + 1
	if len(diags) != 1 || diags[0].Line != 9 || diags[0].Col != col {
		t.Errorf("got %v, want w.yaml:9:%d", diags, col)
	}
}

// Inside a double-quoted scalar, escapes take more room in the file than in the expression.
func TestPositionsInQuotedScalars(t *testing.T) {
	t.Parallel()
	line := `          - endWorkflow: {name: E, exitReason: {exp: "Append(\"a\\\"b\", Frobnicate())"}}`
	src := "workflow:\n  name: W\n  states:\n    - state:\n        name: S\n        refId: S\n        actions:\n" + line + "\n"
	_, diags := archy.Import("w.yaml", []byte(src), archy.Options{})
	col := strings.Index(line, "Frobnicate") + 1
	if len(diags) != 1 || diags[0].Line != 8 || diags[0].Col != col {
		t.Errorf("got %v, want w.yaml:8:%d", diags, col)
	}
}

// A common module file imports like a workflow; its variables are Common.x.
func TestCommonModule(t *testing.T) {
	t.Parallel()
	src := `commonModule:
  name: Greeting
  startUpRef: "/commonModule/states/state[Start_1]"
  variables:
    - stringVariable:
        name: Common.name
        initialValue:
          noValue: true
        isInput: true
    - stringVariable:
        name: Common.greeting
        initialValue:
          noValue: true
        isOutput: true
  states:
    - state:
        name: Start
        refId: Start_1
        actions:
          - updateData:
              name: Greet
              statements:
                - string:
                    variable: Common.greeting
                    value:
                      exp: Append("Hello, ", If(IsNotSetOrEmpty(Common.name), "you", Common.name))
          - endWorkflow:
              name: Done
              exitReason:
                noValue: true
`
	res, diags := archy.Import("greeting.yaml", []byte(src), archy.Options{})
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	f, err := nodes.Builtins().Load("greeting.flow.yaml", res.YAML)
	if err != nil {
		t.Fatalf("%v\n%s", err, res.YAML)
	}
	in, err := f.Inputs(map[string]any{"name": "Ann"})
	if err != nil {
		t.Fatal(err)
	}
	r := f.Run(t.Context(), in, &engine.Options{Channels: engine.Capture{}})
	if r.Outcome != "success" || r.Outputs["greeting"] != "Hello, Ann" || len(r.Path) != 2 {
		t.Errorf("outcome %s, outputs %v, path %v", r.Outcome, r.Outputs, r.Path)
	}
	// Flow. is not a common module's scope
	_, diags = archy.Import("greeting.yaml", []byte(strings.Replace(src, "exp: Append(", "exp: Flow.x + Append(", 1)), archy.Options{})
	if len(diags) != 1 || !strings.Contains(diags[0].Msg, "unknown variable Flow.x") {
		t.Errorf("got %v", diags)
	}
}

// Architect's failure outputs read the error body that Genesys Cloud sends.
func TestFailureOutputs(t *testing.T) {
	t.Parallel()
	outs := []string{"errorCode", "status", "correlationId", "entityId", "entityName", "userMessage", "userParamsMessage",
		"userParams.key", "userParams.value", "details.errorCode", "details.fieldName", "details.entityId", "details.entityName"}
	var vars, maps strings.Builder
	for i, o := range outs {
		fmt.Fprintf(&vars, "    - stringVariable: {name: Flow.v%d, initialValue: {noValue: true}, isOutput: true}\n", i)
		fmt.Fprintf(&maps, "                        %s: {var: Flow.v%d}\n", o, i)
	}
	src := "workflow:\n  name: F\n  variables:\n" + vars.String() + `  states:
    - state:
        name: S
        refId: S
        actions:
          - callData:
              name: Call
              category:
                X:
                  dataAction:
                    Act:
                      failureOutputs:
` + maps.String() + "          - endWorkflow: {name: E, exitReason: {noValue: true}}\n"
	res, diags := archy.Import("f.yaml", []byte(src), archy.Options{})
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	f, err := nodes.Builtins().Load("f.flow.yaml", res.YAML)
	if err != nil {
		t.Fatalf("%v\n%s", err, res.YAML)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Inin-Correlation-Id", "corr-1")
		w.WriteHeader(400)
		w.Write([]byte(`{"message": "Bad queue", "code": "bad.request", "status": 400, "messageWithParams": "Bad {q}",
			"messageParams": {"q": "q-9"}, "entityId": "e-1", "entityName": "queue",
			"details": [{"errorCode": "E1", "fieldName": "queueId", "entityId": "e-2", "entityName": "field"}]}`))
	}))
	defer srv.Close()
	in, err := f.Inputs(nil)
	if err != nil {
		t.Fatal(err)
	}
	r := f.Run(t.Context(), in, &engine.Options{Transport: transport.NewHTTPTransport(), Channels: engine.Capture{},
		Env: func(name string) (string, bool) { return srv.URL, name == "ACT_URL" }})
	if r.Outcome != "success" {
		t.Fatalf("outcome %s: %v", r.Outcome, r.Error)
	}
	want := []string{"bad.request", "400", "corr-1", "e-1", "queue", "Bad queue", "Bad {q}", "q", "q-9", "E1", "queueId", "e-2", "field"}
	for i, w := range want {
		if got := r.Outputs[fmt.Sprintf("v%d", i)]; got != w {
			t.Errorf("%s = %#v, want %q", outs[i], got, w)
		}
	}
}
