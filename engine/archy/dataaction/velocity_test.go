package dataaction

import (
	"strings"
	"testing"
)

// The Velocity that real exports use, translated into archflow templates at import time.
func TestRequestTemplates(t *testing.T) {
	t.Parallel()
	tr := &requestTranslator{inputs: []Input{{"id", "orderId"}, {"name", "customer"}}}
	tests := []struct{ in, want string }{
		{`/orders/${input.id}`, `/orders/{{ orderId }}`},
		{`/orders/$input.id/x`, `/orders/{{ orderId }}/x`},
		{`$!{input.missing}`, `{{ nil }}`},
		{`{"n": "$esc.jsonString(${input.name})"}`, `{"n": "{{ trimSuffix(trimPrefix(toJSON(ToString(customer)), "\""), "\"") }}"}`},
		{`$esc.quote${input.id}$esc.quote`, `"{{ orderId }}"`},
		{`${input.rawRequest}`, `{{ toJSON({ "id": orderId, "name": customer }) }}`},
		{`cost: $5 {{literal}}`, `cost: $5 {{ "{{" }}literal}}`},
	}
	for _, tt := range tests {
		got, err := tr.template(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("%s\n got: %s (%v)\nwant: %s", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{`#if($input.id)x#end`, `#foreach($i in $input.list)`, `${input.id`, `$unknown.thing`} {
		if _, err := tr.template(bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestSuccessTemplates(t *testing.T) {
	t.Parallel()
	x := &Export{
		TranslationMap: [][2]string{{"p", "$.items[?(@.ok==true)].p"}, {"s", "$.state"}, {"bad", "$.x["}},
		Defaults:       map[string]string{"p": "[0]", "s": "\"none\""},
		SuccessTemplate: `{"priority": ${successTemplateUtils.firstFromArray("${p}", "$esc.quote$esc.quote")}, ` +
			`"state": ${s}, "label": "state is ${s}", "nested": {"s": ${s}}}`,
		pos: nil,
	}
	outs, probs := x.Outputs()
	if len(probs) != 1 || !strings.Contains(probs[0].Msg, "translationMap bad: not RFC 9535 JSONPath") {
		t.Errorf("problems: %v", probs)
	}
	want := map[string]string{
		"priority": `(first(jsonpath(body, "$.items[?(@.ok==true)].p", [0])) ?? "")`,
		"state":    `(jsonpath(body, "$.state", ["none"])[0])`,
		"label":    `"state is " + ToString(jsonpath(body, "$.state", ["none"])[0])`,
		"nested.s": `(jsonpath(body, "$.state", ["none"])[0])`,
	}
	for k, w := range want {
		if outs[k] != w {
			t.Errorf("%s\n got: %s\nwant: %s", k, outs[k], w)
		}
	}
	if e, ok := Output(map[string]string{"": "(body)"}, "conversation.id"); !ok || e != "((body))?.conversation?.id" {
		t.Errorf("rawResult field: %s %v", e, ok)
	}
}

// A problem in an export names its place in the JSON file.
func TestExportProblemsHavePositions(t *testing.T) {
	t.Parallel()
	src := `{
  "name": "Bad Path",
  "config": {
    "request": {"requestUrlTemplate": "https://x.example.com/#foreach($i in $input.list)", "requestType": "GET"},
    "response": {
      "translationMap": {
        "ok": "$.ok",
        "bad": "$.items[?(@.a =="
      },
      "successTemplate": "{\"ok\": ${ok}}"
    }
  }
}`
	x, probs := Parse("bad.json", []byte(src))
	if x == nil || len(probs) != 0 {
		t.Fatalf("parse: %v", probs)
	}
	_, probs = x.Outputs()
	if len(probs) != 1 || probs[0].Error() != `bad.json:8:16: translationMap bad: not RFC 9535 JSONPath: `+probs[0].Msg[len("translationMap bad: not RFC 9535 JSONPath: "):] {
		t.Errorf("outputs: %v", probs)
	}
	_, probs = x.Request(nil)
	if len(probs) != 1 || !strings.HasPrefix(probs[0].Error(), "bad.json:4:39: requestUrlTemplate: Velocity directive #foreach is not supported") {
		t.Errorf("request: %v", probs)
	}
	if _, probs := Parse("broken.json", []byte("{\n  \"name\": \"x\",\n  oops\n}")); len(probs) != 1 || !strings.HasPrefix(probs[0].Error(), "broken.json:3:") {
		t.Errorf("invalid JSON: %v", probs)
	}
}
