package tester

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/failure"
	"github.com/archflow/archflow/engine/scripted"
	"github.com/archflow/archflow/engine/yamldoc"
)

// Expectation is one key of a case's expect: with the line it was written on.
type Expectation struct {
	Key   string
	Pos   yamldoc.Pos
	check func(o *observed) []miss
}

// miss is an unmet expectation; pos, when set, is the line of the entry that missed (a variable,
// a request), more precise than the expectation's key.
type miss struct {
	pos yamldoc.Pos
	msg string
}

// observed is what a case's instance did, as the expectations read it.
type observed struct {
	result *engine.Result
	calls  []scripted.Call
}

var expectKeys = []string{"outcome", "path", "path_contains", "not_visited", "variables", "outputs", "calls", "waits", "notifications", "requests", "error"}

func decodeExpect(d *yamldoc.Decoder, flow *engine.Flow, n *yaml.Node) []*Expectation {
	fields, ok := d.Fields(n)
	if !ok {
		return nil
	}
	var out []*Expectation
	for _, f := range fields {
		if !slices.Contains(expectKeys, f.Key.Value) {
			d.Errorf(f.Key, "unknown expectation %q%s", f.Key.Value, yamldoc.DidYouMean(f.Key.Value, expectKeys))
			continue
		}
		if f.Key.Value == "path" {
			for _, g := range fields {
				if g.Key.Value == "path_contains" {
					d.Errorf(g.Key, "give path (the exact path) or path_contains, not both")
				}
			}
		}
		e := &Expectation{Key: f.Key.Value, Pos: d.Pos(f.Key)}
		switch f.Key.Value {
		case "outcome":
			if want, ok := d.String(f.Value); ok {
				e.check = func(o *observed) []miss {
					if o.result.Outcome != want {
						msg := fmt.Sprintf("expected %q, got %q", want, o.result.Outcome)
						if o.result.Error != nil {
							msg += " (error: " + o.result.Error.Message + ")"
						}
						return []miss{{msg: msg}}
					}
					return nil
				}
			}
		case "path":
			want := nodeList(d, flow, f.Value)
			e.check = func(o *observed) []miss { return checkPath(want, o.result.Path) }
		case "path_contains":
			want := nodeList(d, flow, f.Value)
			e.check = func(o *observed) []miss { return checkPathContains(want, o.result.Path) }
		case "not_visited":
			want := nodeList(d, flow, f.Value)
			e.check = func(o *observed) []miss { return checkNotVisited(want, o.result.Path) }
		case "variables", "outputs":
			e.check = decodeVariables(d, flow, f.Value, f.Key.Value == "outputs")
		case "calls":
			e.check = decodeCalls(d, flow, f.Value)
		case "waits":
			e.check = decodeWaits(d, f.Value)
		case "notifications":
			e.check = decodeNotifications(d, flow, f.Value)
		case "requests":
			e.check = decodeRequests(d, flow, f.Value)
		case "error":
			e.check = decodeError(d, f.Value)
		}
		if e.check != nil {
			out = append(out, e)
		}
	}
	return out
}

func nodeNames(flow *engine.Flow) []string {
	names := make([]string, len(flow.Nodes))
	for i, n := range flow.Nodes {
		names[i] = n.Name
	}
	return names
}

func nodeList(d *yamldoc.Decoder, flow *engine.Flow, n *yaml.Node) []string {
	items, ok := d.List(n)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, ok := d.String(it)
		if !ok {
			continue
		}
		if flow.Node(s) == nil {
			d.Errorf(it, "flow %s has no node %q%s", flow.Name, s, yamldoc.DidYouMean(s, nodeNames(flow)))
		}
		out = append(out, s)
	}
	return out
}

func list(xs []string) string { return "[" + strings.Join(xs, ", ") + "]" }

func checkPath(want, got []string) []miss {
	if reflect.DeepEqual(want, got) {
		return nil
	}
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	where := ""
	switch {
	case i < len(want) && i < len(got):
		where = fmt.Sprintf("step %d: expected %s, got %s", i+1, want[i], got[i])
	case i < len(want):
		where = fmt.Sprintf("the instance ended after step %d; expected %s next", i, want[i])
	default:
		where = fmt.Sprintf("the instance went on at step %d to %s", i+1, got[i])
	}
	return []miss{{msg: fmt.Sprintf("expected %s\n    got      %s\n    first difference at %s", list(want), list(got), where)}}
}

func checkPathContains(want, got []string) []miss {
	j := 0
	for _, n := range got {
		if j < len(want) && n == want[j] {
			j++
		}
	}
	if j == len(want) {
		return nil
	}
	return []miss{{msg: fmt.Sprintf("expected the path to pass through %s in this order; %s is missing after %s\n    got %s",
		list(want), want[j], list(want[:j]), list(got))}}
}

func checkNotVisited(want, got []string) []miss {
	var bad []string
	for _, n := range want {
		for i, p := range got {
			if p == n {
				bad = append(bad, fmt.Sprintf("%s was visited (step %d)", n, i+1))
				break
			}
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return []miss{{msg: fmt.Sprintf("expected %s not visited, but %s\n    path %s", list(want), strings.Join(bad, ", "), list(got))}}
}

// ---- values ----

// normalize turns a result value into the form JSON would give, for comparison and messages:
// numbers as float64, durations as seconds, datetimes as RFC 3339 strings.
func normalize(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case time.Duration:
		return x.Seconds()
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = normalize(e)
		}
		return m
	case map[string]string:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = e
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = normalize(e)
		}
		return l
	case string, bool, float64:
		return x
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(rv.Uint())
	case reflect.Float32:
		return rv.Float()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return string(b)
	}
	return out
}

// show formats a value for a message; nil is NOT_SET, as Architect calls it.
func show(v any) string {
	if v == nil {
		return "NOT_SET"
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSpace(buf.String())
}

// expectedValue converts an expected YAML value for a variable of type t, so that "30s" can be
// expected of a duration and an RFC 3339 string of a datetime.
func expectedValue(t engine.Type, v any) any {
	switch t {
	case engine.TDuration:
		if s, err := engine.Seconds(v); err == nil {
			return s
		}
	case engine.TDatetime:
		if s, ok := v.(string); ok {
			if tm, err := time.Parse(time.RFC3339Nano, s); err == nil {
				return tm.UTC().Format(time.RFC3339Nano)
			}
		}
	}
	return normalize(v)
}

func decodeVariables(d *yamldoc.Decoder, flow *engine.Flow, n *yaml.Node, outputs bool) func(o *observed) []miss {
	fields, ok := d.Fields(n)
	if !ok {
		return nil
	}
	type want struct {
		name string
		typ  engine.Type
		val  any
		pos  yamldoc.Pos
	}
	var wants []want
	var names []string
	for _, v := range flow.Vars {
		if !outputs || v.Output {
			names = append(names, v.Name)
		}
	}
	for _, f := range fields {
		v := flow.Var(f.Key.Value)
		switch {
		case v == nil:
			d.Errorf(f.Key, "flow %s has no variable %q%s", flow.Name, f.Key.Value, yamldoc.DidYouMean(f.Key.Value, names))
			continue
		case outputs && !v.Output:
			d.Errorf(f.Key, "%s is not an output of flow %s (declare it with output: true, or expect it under variables:)", v.Name, flow.Name)
			continue
		}
		wants = append(wants, want{name: v.Name, typ: v.Type, val: expectedValue(v.Type, d.Value(f.Value)), pos: d.Pos(f.Key)})
	}
	return func(o *observed) []miss {
		src := o.result.Variables
		if outputs {
			src = o.result.Outputs
		}
		var msgs []miss
		for _, w := range wants {
			got := normalize(src[w.name])
			if !reflect.DeepEqual(w.val, got) {
				msgs = append(msgs, miss{pos: w.pos, msg: fmt.Sprintf("%s: expected %s, got %s", w.name, show(w.val), show(got))})
			}
		}
		return msgs
	}
}

func decodeCalls(d *yamldoc.Decoder, flow *engine.Flow, n *yaml.Node) func(o *observed) []miss {
	fields, ok := d.Fields(n)
	if !ok {
		return nil
	}
	var actions []string
	for name := range flow.Actions {
		actions = append(actions, name)
	}
	sort.Strings(actions)
	want := map[string]int{}
	at := map[string]yamldoc.Pos{}
	var order []string
	for _, f := range fields {
		if flow.Actions[f.Key.Value] == nil {
			d.Errorf(f.Key, "flow %s has no action %q%s", flow.Name, f.Key.Value, yamldoc.DidYouMean(f.Key.Value, actions))
			continue
		}
		if c, ok := d.Int(f.Value); ok {
			if c < 0 {
				d.Errorf(f.Value, "a number of calls cannot be negative")
			}
			want[f.Key.Value] = c
			at[f.Key.Value] = d.Pos(f.Key)
			order = append(order, f.Key.Value)
		}
	}
	return func(o *observed) []miss {
		var msgs []miss
		for _, a := range order {
			if got := o.result.Calls[a]; got != want[a] {
				msgs = append(msgs, miss{pos: at[a], msg: fmt.Sprintf("%s: expected %d, got %d", a, want[a], got)})
			}
		}
		return msgs
	}
}

func seconds(s float64) string {
	d := time.Duration(math.Round(s * float64(time.Second)))
	return d.String()
}

func decodeWaits(d *yamldoc.Decoder, n *yaml.Node) func(o *observed) []miss {
	items, ok := d.List(n)
	if !ok {
		return nil
	}
	want := make([]float64, 0, len(items))
	for _, it := range items {
		if dur, ok := d.Duration(it); ok {
			want = append(want, dur.Seconds())
		}
	}
	return func(o *observed) []miss {
		got := o.result.Waits
		same := len(got) == len(want)
		for i := 0; same && i < len(want); i++ {
			same = math.Abs(got[i]-want[i]) < 1e-6
		}
		if same {
			return nil
		}
		ws, gs := make([]string, len(want)), make([]string, len(got))
		for i, s := range want {
			ws[i] = seconds(s)
		}
		for i, s := range got {
			gs[i] = seconds(s)
		}
		return []miss{{msg: fmt.Sprintf("expected %s, got %s", list(ws), list(gs))}}
	}
}

func decodeNotifications(d *yamldoc.Decoder, flow *engine.Flow, n *yaml.Node) func(o *observed) []miss {
	items, ok := d.List(n)
	if !ok {
		return nil
	}
	type want struct {
		channel  string
		contains []string
		pos      yamldoc.Pos
	}
	var channels []string
	for name := range flow.Channels {
		channels = append(channels, name)
	}
	sort.Strings(channels)
	var wants []want
	for _, it := range items {
		m := d.Mapping(it, "channel", "contains")
		if m == nil {
			continue
		}
		w := want{pos: d.Pos(it)}
		if m["channel"] == nil {
			d.Errorf(it, "a notification needs channel:")
		} else if s, ok := d.String(m["channel"]); ok {
			if flow.Channels[s] == nil {
				d.Errorf(m["channel"], "flow %s has no channel %q%s", flow.Name, s, yamldoc.DidYouMean(s, channels))
			}
			w.channel = s
		}
		if x := m["contains"]; x != nil {
			w.contains, _ = d.Strings(x)
		}
		wants = append(wants, w)
	}
	return func(o *observed) []miss {
		got := o.result.Notifications
		describe := func() string {
			var parts []string
			for _, nt := range got {
				parts = append(parts, fmt.Sprintf("%s: %q", nt.Channel, nt.Subject))
			}
			return list(parts)
		}
		if len(got) != len(wants) {
			return []miss{{msg: fmt.Sprintf("expected %d notification(s), got %d: %s", len(wants), len(got), describe())}}
		}
		var msgs []miss
		for i, w := range wants {
			nt := got[i]
			if nt.Channel != w.channel {
				msgs = append(msgs, miss{pos: w.pos, msg: fmt.Sprintf("notification %d: expected channel %s, got %s", i+1, w.channel, nt.Channel)})
				continue
			}
			text := nt.Subject + "\n" + nt.Body
			if nt.Payload != nil {
				text += "\n" + show(normalize(nt.Payload))
			}
			for _, s := range w.contains {
				if !strings.Contains(text, s) {
					msgs = append(msgs, miss{pos: w.pos, msg: fmt.Sprintf("notification %d (%s): expected it to contain %q\n    subject %q\n    body    %q", i+1, nt.Channel, s, nt.Subject, nt.Body)})
				}
			}
		}
		return msgs
	}
}

// ---- requests ----

type wantRequest struct {
	action, node, method string
	url                  string
	urlGlob              *regexp.Regexp
	attempt              int
	header               map[string]string
	body                 any
	hasBody              bool
	pos                  yamldoc.Pos
}

func decodeRequests(d *yamldoc.Decoder, flow *engine.Flow, n *yaml.Node) func(o *observed) []miss {
	items, ok := d.List(n)
	if !ok {
		return nil
	}
	var wants []*wantRequest
	for _, it := range items {
		m := d.Mapping(it, "action", "node", "method", "url", "attempt", "header", "headers", "body")
		if m == nil {
			continue
		}
		w := &wantRequest{header: map[string]string{}, pos: d.Pos(it)}
		if x := m["action"]; x != nil {
			w.action, _ = d.String(x)
			if flow.Actions[w.action] == nil {
				d.Errorf(x, "flow %s has no action %q", flow.Name, w.action)
			}
		}
		if x := m["node"]; x != nil {
			w.node, _ = d.String(x)
			if flow.Node(w.node) == nil {
				d.Errorf(x, "flow %s has no node %q%s", flow.Name, w.node, yamldoc.DidYouMean(w.node, nodeNames(flow)))
			}
		}
		if x := m["method"]; x != nil {
			w.method, _ = d.String(x)
			w.method = strings.ToUpper(w.method)
		}
		if x := m["url"]; x != nil {
			w.url, _ = d.String(x)
			w.urlGlob = scripted.Glob(w.url)
		}
		if x := m["attempt"]; x != nil {
			w.attempt, _ = d.Int(x)
		}
		for _, k := range []string{"header", "headers"} {
			if x := m[k]; x != nil {
				fields, _ := d.Fields(x)
				for _, f := range fields {
					if s, ok := d.String(f.Value); ok {
						w.header[f.Key.Value] = s
					}
				}
			}
		}
		if x := m["body"]; x != nil {
			w.body, w.hasBody = normalize(d.Value(x)), true
		}
		wants = append(wants, w)
	}
	return func(o *observed) []miss {
		var got []scripted.Call
		for _, c := range o.calls {
			if !strings.HasPrefix(c.Action, scripted.AuthPrefix) {
				got = append(got, c)
			}
		}
		if len(got) != len(wants) {
			var parts []string
			for _, c := range got {
				parts = append(parts, c.Method+" "+c.URL)
			}
			return []miss{{msg: fmt.Sprintf("expected %d request(s), got %d: %s", len(wants), len(got), list(parts))}}
		}
		var msgs []miss
		for i, w := range wants {
			for _, m := range w.mismatches(got[i]) {
				msgs = append(msgs, miss{pos: w.pos, msg: fmt.Sprintf("request %d (%s %s): %s", i+1, got[i].Method, got[i].URL, m)})
			}
		}
		return msgs
	}
}

func (w *wantRequest) mismatches(c scripted.Call) []string {
	var out []string
	if w.action != "" && w.action != c.Action {
		out = append(out, fmt.Sprintf("action: expected %s, got %s", w.action, c.Action))
	}
	if w.node != "" && w.node != c.Node {
		out = append(out, fmt.Sprintf("node: expected %s, got %s", w.node, c.Node))
	}
	if w.method != "" && w.method != c.Method {
		out = append(out, fmt.Sprintf("method: expected %s, got %s", w.method, c.Method))
	}
	if w.url != "" {
		ok := w.url == c.URL
		if w.urlGlob != nil {
			ok = w.urlGlob.MatchString(c.URL)
		}
		if !ok {
			out = append(out, fmt.Sprintf("url: expected %s, got %s", w.url, c.URL))
		}
	}
	if w.attempt != 0 && w.attempt != c.Attempt {
		out = append(out, fmt.Sprintf("attempt: expected %d, got %d", w.attempt, c.Attempt))
	}
	names := make([]string, 0, len(w.header))
	for k := range w.header {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		want := w.header[k]
		vals := c.Header.Values(k)
		present := len(vals) > 0
		got := strings.Join(vals, ", ")
		ok := present && got == want
		if g := scripted.Glob(want); g != nil {
			ok = present && g.MatchString(got)
		}
		if !ok {
			if !present {
				got = "(absent)"
			} else {
				got = fmt.Sprintf("%q", got)
			}
			out = append(out, fmt.Sprintf("header %s: expected %q, got %s", k, want, got))
		}
	}
	if w.hasBody {
		var got any
		if err := json.Unmarshal(c.Body, &got); err != nil {
			got = string(c.Body)
		}
		if msg, ok := subset(w.body, normalize(got), "body"); !ok {
			out = append(out, msg)
		}
	}
	return out
}

// subset reports whether want is part of got: every key of a wanted mapping is in got with a
// matching value; lists match item by item; other values are equal. On a mismatch it says where,
// and what was wanted and found there.
func subset(want, got any, path string) (string, bool) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: expected an object, got %s", path, show(got)), false
		}
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			gv, present := g[k]
			if !present {
				return fmt.Sprintf("%s.%s: expected %s, got no such key", path, k, show(w[k])), false
			}
			if msg, ok := subset(w[k], gv, path+"."+k); !ok {
				return msg, false
			}
		}
		return "", true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s: expected %s, got %s", path, show(want), show(got)), false
		}
		for i := range w {
			if msg, ok := subset(w[i], g[i], fmt.Sprintf("%s[%d]", path, i)); !ok {
				return msg, false
			}
		}
		return "", true
	}
	if reflect.DeepEqual(normalize(want), normalize(got)) {
		return "", true
	}
	return fmt.Sprintf("%s: expected %s, got %s", path, show(want), show(got)), false
}

// ---- error ----

func decodeError(d *yamldoc.Decoder, n *yaml.Node) func(o *observed) []miss {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return func(o *observed) []miss {
			if e := o.result.Error; e != nil {
				return []miss{{msg: fmt.Sprintf("expected no error, got %s", showError(e))}}
			}
			return nil
		}
	}
	want := map[string]any{}
	if n.Kind == yaml.ScalarNode {
		if s, ok := d.String(n); ok {
			want["message"] = s
		}
	} else if m := d.Mapping(n, "class", "kind", "message", "status", "node"); m != nil {
		for _, k := range []string{"class", "kind", "message", "node"} {
			if m[k] != nil {
				want[k], _ = d.String(m[k])
			}
		}
		if m["status"] != nil {
			want["status"], _ = d.Int(m["status"])
		}
	}
	return func(o *observed) []miss {
		e := o.result.Error
		if e == nil {
			return []miss{{msg: fmt.Sprintf("expected an error %s, got none (outcome %q)", show(want), o.result.Outcome)}}
		}
		var msgs []miss
		check := func(key, got string) {
			w, ok := want[key].(string)
			if !ok {
				return
			}
			if key == "message" && strings.Contains(got, w) || key != "message" && got == w {
				return
			}
			verb := "expected"
			if key == "message" {
				verb = "expected it to contain"
			}
			msgs = append(msgs, miss{msg: fmt.Sprintf("%s: %s %q, got %q", key, verb, w, got)})
		}
		check("class", e.Class)
		check("kind", e.Kind)
		check("node", e.Node)
		check("message", e.Message)
		if s, ok := want["status"].(int); ok && s != e.Status {
			msgs = append(msgs, miss{msg: fmt.Sprintf("status: expected %d, got %d", s, e.Status)})
		}
		return msgs
	}
}

func showError(e *failure.ErrorInfo) string {
	s := fmt.Sprintf("{class: %s, kind: %s", e.Class, e.Kind)
	if e.Status != 0 {
		s += fmt.Sprintf(", status: %d", e.Status)
	}
	if e.Node != "" {
		s += ", node: " + e.Node
	}
	return s + fmt.Sprintf(", message: %q}", e.Message)
}
