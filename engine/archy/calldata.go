package archy

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/archflow/archflow/engine/archy/dataaction"
	"github.com/archflow/archflow/engine/yamldoc"
)

// GenesysAuth is the auth entry of Platform API calls.
const GenesysAuth = "genesys"

// failureOutputs are Architect's failure outputs of a data action, read from the error body that
// Genesys Cloud (and most APIs) send; every one is a string, as in Architect.
var failureOutputs = map[string]string{
	"errorCode":          "body?.code ?? body?.errorCode ?? error?.kind",
	"status":             "body?.status ?? status",
	"correlationId":      `body?.contextId ?? headers["Inin-Correlation-Id"]`,
	"entityId":           "body?.entityId",
	"entityName":         "body?.entityName",
	"userMessage":        "body?.message ?? error?.message",
	"userParamsMessage":  "body?.messageWithParams",
	"userParams.key":     `first(sort(keys(body?.messageParams ?? {})))`,
	"userParams.value":   `body?.messageParams?.[first(sort(keys(body?.messageParams ?? {}))) ?? ""]`,
	"details.errorCode":  `jsonpath(body, "$.details[0].errorCode", [nil])[0]`,
	"details.fieldName":  `jsonpath(body, "$.details[0].fieldName", [nil])[0]`,
	"details.entityId":   `jsonpath(body, "$.details[0].entityId", [nil])[0]`,
	"details.entityName": `jsonpath(body, "$.details[0].entityName", [nil])[0]`,
}

// callData becomes a data_action node on an action made for this call: Architect's inputs are
// expressions of the caller, so they are written into the action's templates.
func (t *translator) callData(k, v *yaml.Node, name string, next *node) *node {
	// category: {INTEGRATION: {dataAction: {NAME: spec}}}; the integration does not matter here
	var daName, spec *yaml.Node
	named := 0
	for _, p := range yamldoc.Entries(child(v, "category")) {
		for _, d := range yamldoc.Entries(child(p[1], "dataAction")) {
			daName, spec = d[0], d[1]
			named++
		}
	}
	if named > 1 {
		t.errorf(child(v, "category"), "callData names %d data actions; it calls one", named)
		return next
	}
	if daName == nil {
		t.errorf(k, "callData names no data action (category: {INTEGRATION: {dataAction: {NAME: ...}}})")
		return next
	}
	inputs := t.inputs(child(spec, "inputs"))
	a := &action{timeout: t.timeout(child(v, "timeout"))}
	x := dataaction.Find(t.opts.Exports, daName.Value)
	if x == nil {
		t.envAction(a, "data action", daName, inputs, "POST")
	} else {
		t.exportAction(a, x, daName, inputs)
		for _, r := range x.Required {
			given := false
			for _, in := range inputs {
				given = given || in.Name == r
			}
			if !given {
				t.warnf(daName, "data action %q requires input %s, which this call does not give (Genesys Cloud would refuse the call)", x.Name, r)
			}
		}
	}
	outs := map[string]string{}
	if x != nil {
		o, probs := x.Outputs()
		for _, p := range probs {
			t.errs = append(t.errs, &Diag{File: p.File, Line: p.Line, Col: p.Col, Msg: p.Msg})
		}
		outs = o
	}
	for _, p := range yamldoc.Entries(child(spec, "successOutputs")) {
		target := child(p[1], "var")
		if target == nil {
			continue // noValue: not mapped
		}
		vname, ok := t.varRef(target)
		if !ok {
			continue
		}
		e := ""
		if x != nil {
			var found bool
			e, found = dataaction.Output(outs, p[0].Value)
			if !found {
				t.errorf(p[0], "data action %q has no output %s (its success template gives %s)", x.Name, p[0].Value, strings.Join(sortedKeys(outs), ", "))
				continue
			}
		} else {
			e = "body" + memberPath(p[0].Value)
		}
		a.outputs = append(a.outputs, [2]string{vname, fmt.Sprintf("error == nil ? (%s) : %s", e, vname)})
	}
	for _, p := range yamldoc.Entries(child(spec, "failureOutputs")) {
		target := child(p[1], "var")
		if target == nil {
			continue
		}
		vname, ok := t.varRef(target)
		if !ok {
			continue
		}
		e, ok := failureOutputs[p[0].Value]
		if !ok {
			e = "body" + memberPath(p[0].Value)
		}
		a.outputs = append(a.outputs, [2]string{vname, fmt.Sprintf("error != nil ? ToString(%s) : %s", e, vname)})
	}
	an := t.addAction(validName(daName.Value, "action"), a)
	n := t.newNode("data_action", name, k)
	n.action = an
	outputs := child(v, "outputs")
	n.next = t.outputList(outputs, next, "success")
	n.onFailure = t.outputList(outputs, next, "failure")
	n.onTimeout = t.outputList(outputs, next, "timeout")
	return n
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		if k == "" {
			k = "the whole response"
		}
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// memberPath reads a dotted output name (conversation.id) as a nil-safe member chain.
func memberPath(field string) string { return dataaction.Member(strings.Split(field, ".")...) }

func (t *translator) inputs(n *yaml.Node) []dataaction.Input {
	var out []dataaction.Input
	for _, p := range yamldoc.Entries(n) {
		out = append(out, dataaction.Input{Name: p[0].Value, Expr: t.exprOf(p[1])})
	}
	return out
}

// timeout reads callData's timeout, within archflow's (and Architect's) 1s..60s.
func (t *translator) timeout(n *yaml.Node) string {
	l := child(n, "lit")
	if l == nil {
		return ""
	}
	s, err := durationSeconds(l)
	if err != nil {
		t.errorf(l, "%v", err)
		return ""
	}
	var f float64
	fmt.Sscan(s, &f)
	if f < 1 || f > 60 {
		t.warnf(l, "timeout of %ss is outside 1s..60s: archflow uses %s", s, map[bool]string{true: "1s", false: "60s"}[f < 1])
		if f < 1 {
			return "1s"
		}
		return "60s"
	}
	return s + "s"
}

func (t *translator) exportAction(a *action, x *dataaction.Export, at *yaml.Node, inputs []dataaction.Input) {
	r, probs := x.Request(inputs)
	for _, p := range probs {
		t.errs = append(t.errs, &Diag{File: p.File, Line: p.Line, Col: p.Col, Msg: p.Msg})
	}
	for _, w := range r.Warnings {
		t.warnf(at, "data action %q: %s", x.Name, w)
	}
	a.source = fmt.Sprintf("data action %q (%s)", x.Name, filepath.Base(x.File))
	a.method, a.url, a.query, a.headers = r.Method, r.URL, r.Query, r.Headers
	a.bodyRaw, a.hasBody, a.fields = r.BodyText, r.HasBody, r.BodyFields
	if x.Genesys() {
		a.auth = GenesysAuth
	}
}

// envAction stands for a data action whose export was not given: its URL comes from the
// environment, and without it a live call fails on a host that names the variable to set.
func (t *translator) envAction(a *action, what string, at *yaml.Node, inputs []dataaction.Input, method string) {
	env := strings.ToUpper(validName(at.Value, "action")) + "_URL"
	if what == "common module" {
		t.warnf(at, "common module %q is called as an action: it calls %s %s from the environment (import the module on its own)", at.Value, method, env)
	} else {
		t.warnf(at, "no export of data action %q (give --data-actions DIR): it calls %s %s from the environment", at.Value, method, env)
	}
	a.source = fmt.Sprintf("%s %q: no export given; set %s", what, at.Value, env)
	a.method = method
	host := strings.ToLower(strings.ReplaceAll(env, "_", "-"))
	a.url = fmt.Sprintf("{{ env(%s, %s) }}", QuoteExpr(env), QuoteExpr("http://set-"+host+".invalid"))
	a.hasBody = true
	for _, in := range inputs {
		a.fields = append(a.fields, dataaction.Input{Name: in.Name, Expr: "{{ " + in.Expr + " }}"})
	}
}

// addAction names an action, sharing it with an earlier call that made the same one.
func (t *translator) addAction(base string, a *action) string {
	a.key = fmt.Sprintf("%#v", *a)
	name := base
	for i := 2; ; i++ {
		old, taken := t.actions[name]
		if !taken {
			break
		}
		if old.key == a.key {
			return name
		}
		name = fmt.Sprintf("%s_%d", base, i)
	}
	a.name = name
	t.actions[name] = a
	t.actOrder = append(t.actOrder, name)
	return name
}

// ---- Platform actions with a public API ----

func (t *translator) platform(k, v *yaml.Node, name string, next *node) *node {
	a := &action{auth: GenesysAuth}
	base := GenesysBaseURL
	conv := ""
	if k.Value == "getConversationData" || k.Value == "setConversationData" {
		conv = t.exprOf(child(v, "conversationId"))
	}
	outputs := child(v, "outputs")
	n := t.newNode("data_action", name, k)
	switch k.Value {
	case "getConversationData":
		// Get Participant Data: the attributes of the participant (the first that has them when no
		// participantId is given); found when every attribute asked for is there.
		a.source = "Platform API: GET /api/v2/conversations/{conversationId}"
		a.method = "GET"
		a.url = base + "/api/v2/conversations/{{ " + conv + " }}"
		part := `"$.participants[*]"`
		if pid := child(v, "participantId"); pid != nil && child(pid, "noValue") == nil {
			part = `"$.participants[?@.id=='" + ToString(` + t.exprOf(pid) + `) + "']"`
		}
		var found []string
		for _, at := range seq(child(v, "attributes")) {
			_, body := single(at)
			attr := t.exprOf(child(body, "name"))
			vname, ok := t.varRef(child(body, "variable"))
			if !ok {
				continue
			}
			e := fmt.Sprintf(`jsonpath(body, %s + ".attributes[" + toJSON(%s) + "]", [nil])[0]`, part, attr)
			found = append(found, "("+e+") != nil")
			a.outputs = append(a.outputs, [2]string{vname, fmt.Sprintf("error == nil ? (%s) ?? %s : %s", e, vname, vname)})
		}
		a.success = "status >= 200 && status <= 299"
		if len(found) > 0 {
			a.success += " && " + strings.Join(found, " && ")
		}
		n.next = t.outputList(outputs, next, "found", "success")
		n.onFailure = t.outputList(outputs, next, "notFound", "failure")
	case "setConversationData":
		a.source = "Platform API: PATCH /api/v2/conversations/{conversationId}/participants/{participantId}/attributes"
		a.method = "PATCH"
		pid := "nil"
		if p := child(v, "participantId"); p != nil && child(p, "noValue") == nil {
			pid = t.exprOf(p)
		} else {
			t.warnf(k, "%s without participantId: the Platform API needs one; the imported call sends an empty id", k.Value)
		}
		a.url = base + "/api/v2/conversations/{{ " + conv + " }}/participants/{{ " + pid + " }}/attributes"
		var fields []string
		for _, at := range seq(child(v, "attributes")) {
			_, body := single(at)
			fields = append(fields, t.exprOf(child(body, "name"))+": "+t.exprOf(child(body, "value")))
		}
		a.bodyRaw = "{{ toJSON({\"attributes\": { " + strings.Join(fields, ", ") + " } }) }}"
		a.hasBody = true
		a.headers = [][2]string{{"Content-Type", "application/json"}}
		n.next = t.outputList(outputs, next, "success")
		n.onFailure = t.outputList(outputs, next, "failure")
	case "getExternalContact":
		a.source = "Platform API: GET /api/v2/externalcontacts/contacts/{externalId}"
		a.method = "GET"
		a.url = base + "/api/v2/externalcontacts/contacts/{{ " + t.exprOf(child(v, "externalId")) + " }}"
		if r := child(v, "externalResult"); r != nil {
			if vname, ok := t.varRef(r); ok {
				a.outputs = append(a.outputs, [2]string{vname, fmt.Sprintf("error == nil ? body : %s", vname)})
			}
		}
		n.next = t.outputList(outputs, next, "found", "success")
		n.onFailure = t.outputList(outputs, next, "notFound", "failure")
	case "dataTableLookup":
		// the table is named in the flow; the API needs its id, from the environment
		var table *yaml.Node
		var spec *yaml.Node
		for _, p := range yamldoc.Entries(child(v, "dataTable")) {
			table, spec = p[0], p[1]
		}
		if table == nil {
			t.errorf(k, "dataTableLookup names no data table (dataTable: {NAME: ...})")
			return next
		}
		env := "DATATABLE_" + strings.ToUpper(validName(table.Value, "table")) + "_ID"
		a.source = fmt.Sprintf("Platform API: GET /api/v2/flows/datatables/{id}/rows/{key} (data table %q, id from %s)", table.Value, env)
		a.method = "GET"
		a.url = base + "/api/v2/flows/datatables/{{ env(" + QuoteExpr(env) + ") }}/rows/{{ " + t.exprOf(child(v, "lookupValue")) + " }}"
		a.query = [][2]string{{"showbrief", "false"}}
		for _, p := range yamldoc.Entries(child(spec, "foundOutputs")) {
			target := child(p[1], "var")
			if target == nil {
				continue
			}
			if vname, ok := t.varRef(target); ok {
				a.outputs = append(a.outputs, [2]string{vname, fmt.Sprintf("error == nil ? body%s : %s", memberPath(p[0].Value), vname)})
			}
		}
		for _, p := range yamldoc.Entries(child(spec, "failureOutputs")) {
			target := child(p[1], "var")
			if target == nil {
				continue
			}
			if vname, ok := t.varRef(target); ok {
				e, ok := failureOutputs[p[0].Value]
				if !ok {
					e = "body" + memberPath(p[0].Value)
				}
				a.outputs = append(a.outputs, [2]string{vname, fmt.Sprintf("error != nil ? ToString(%s) : %s", e, vname)})
			}
		}
		n.next = t.outputList(outputs, next, "found", "success")
		notFound := t.outputList(outputs, next, "notFound")
		// a missing row is a 404: not found; any other failure takes the failure output
		a.success = "status >= 200 && status <= 299"
		n.onFailure = t.outputList(outputs, next, "failure")
		if notFound != n.onFailure {
			d := t.newNode("decision", name+"_not_found", k)
			d.comment = name + ": a missing row (404) is not found, anything else a failure"
			d.cases = []dcase{{when: "status == 404", next: notFound}}
			d.def = n.onFailure
			n.onFailure = d
		}
	case "callCommonModule":
		// A common module is another flow: import it on its own. Here the call is an
		// env-configured action, so this flow validates and runs with mocks.
		var mod *yaml.Node
		var spec *yaml.Node
		for _, p := range yamldoc.Entries(child(v, "commonModule")) {
			mod = p[0]
			for _, q := range yamldoc.Entries(p[1]) {
				spec = q[1]
			}
		}
		if mod == nil {
			t.errorf(k, "callCommonModule names no module")
			return next
		}
		a.auth = ""
		var ins []dataaction.Input
		for _, p := range yamldoc.Entries(child(spec, "inputs")) {
			ins = append(ins, dataaction.Input{Name: strings.TrimPrefix(p[0].Value, "Common."), Expr: t.exprOf(p[1])})
		}
		t.envAction(a, "common module", mod, ins, "POST")
		for _, p := range yamldoc.Entries(child(spec, "outputs")) {
			target := child(p[1], "var")
			if target == nil {
				continue
			}
			if vname, ok := t.varRef(target); ok {
				a.outputs = append(a.outputs, [2]string{vname, fmt.Sprintf("error == nil ? body%s : %s", memberPath(strings.TrimPrefix(p[0].Value, "Common.")), vname)})
			}
		}
		n.next = next
		n.onFailure = next
		n.action = t.addAction(validName(mod.Value, "module"), a)
		return n
	}
	a.timeout = t.timeout(child(v, "timeout"))
	n.action = t.addAction(validName(k.Value, "action"), a)
	return n
}

// GenesysBaseURL starts the URL of every Platform API request.
const GenesysBaseURL = dataaction.GenesysBase
