// Package archy translates Genesys Cloud Architect flows, as Archy exports them in YAML, into
// archflow flows (SPEC §12): variables with their scopes and NOT_SET, states and tasks, action
// lists with Architect's fall-through, the Architect expression language, and data actions (with
// package dataaction for the Genesys exports they call). The output is flow YAML built
// deliberately, key by key, so that it reads like a hand-written flow and diffs well.
package archy

import (
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/expr-lang/expr/builtin"
	"gopkg.in/yaml.v3"

	"github.com/archflow/archflow/engine/archy/dataaction"
	"github.com/archflow/archflow/engine/yamldoc"
)

// Diag is an error or warning of the import, at file:line:col of the Architect source.
type Diag struct {
	File      string
	Line, Col int
	Msg       string
}

func (d *Diag) Error() string { return fmt.Sprintf("%s:%d:%d: %s", d.File, d.Line, d.Col, d.Msg) }

// Options of an import.
type Options struct {
	Set     map[string]string    // Archy substitutions
	Exports []*dataaction.Export // data action exports, matched to callData by name
}

// Result is a translated flow.
type Result struct {
	YAML     []byte
	Warnings []*Diag
	Notes    []string // renamed and re-scoped variables, for the import report
}

// ExitReason is the output variable that End Workflow's exit reason goes to.
const ExitReason = "exit_reason"

// Import translates one Archy flow file. Every place it cannot translate is returned, sorted.
func Import(file string, data []byte, opts Options) (*Result, []*Diag) {
	src, subs, errs := substitute(file, data, opts.Set)
	if len(errs) > 0 {
		return nil, errs
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, []*Diag{yamlDiag(file, err)}
	}
	t := &translator{file: file, subs: subs, lines: strings.Split(string(src), "\n"), opts: opts, vars: map[string]string{}, varTypes: map[string]string{},
		names: map[string]bool{}, actions: map[string]*action{}, stateEntry: map[string]*node{}}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, []*Diag{{File: file, Line: 1, Col: 1, Msg: "not an Archy flow file: expected a mapping with workflow:"}}
	}
	root := doc.Content[0]
	wf := child(root, "workflow")
	if wf == nil {
		if wf = child(root, "commonModule"); wf != nil {
			t.flowScope = "Common" // a common module's variables are Common.x
		}
	}
	if wf == nil {
		if len(root.Content) == 0 {
			return nil, []*Diag{{File: file, Line: root.Line, Col: root.Column, Msg: "not an Archy flow file: expected workflow:"}}
		}
		k := root.Content[0]
		t.errorf(k, "flow type %q is not imported: archflow imports workflow: and commonModule: flows", k.Value)
		return nil, t.sorted(t.errs)
	}
	t.flowScope0()
	t.workflow(wf)
	t.checkRoutes(wf)
	if len(t.errs) > 0 {
		return nil, t.sorted(t.errs)
	}
	out := t.emit()
	return &Result{YAML: out, Warnings: t.sorted(t.warns), Notes: t.notes}, nil
}

var yamlLineRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`line (\d+)`) })

func yamlDiag(file string, err error) *Diag {
	line := 1
	if m := yamlLineRe().FindStringSubmatch(err.Error()); m != nil {
		fmt.Sscan(m[1], &line)
	}
	return &Diag{File: file, Line: line, Col: 1, Msg: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
}

// ---- the intermediate flow ----

// node is a flow node being built; an alias stands for another node, known later (the next
// action of a list, a state not yet translated), and is resolved when the flow is written.
type node struct {
	base      string // Architect's name; made valid and unique when written
	name      string
	kind      string // alias, assign, decision, data_action, wait, end
	next      *node
	sets      [][2]string // assign: variable, YAML value
	cases     []dcase
	def       *node
	action    string
	onFailure *node
	onTimeout *node
	waitFor   string
	trim      bool
	outcome   string
	line      int    // Architect source line, for a comment
	comment   string // what a node archflow adds stands for (default: the Architect name)
}

type dcase struct {
	when string
	next *node
}

type variable struct {
	name, typ     string
	input, output bool
	def           string // YAML value, "" for none
	note          string
}

type action struct {
	name    string
	source  string // comment
	method  string
	url     string
	query   [][2]string
	headers [][2]string
	bodyRaw string
	hasBody bool
	fields  []dataaction.Input
	auth    string
	timeout string
	success string
	outputs [][2]string
	key     string // identity, to share an action between identical calls
}

type loopCtx struct {
	next, exit *node
}

// scopeCtx is the state or task whose actions are being translated.
type scopeCtx struct {
	kind string // State or Task
	name string
	vars map[string]string // Architect name (without scope) → archflow variable
}

type translator struct {
	flowScope  string     // Flow, or Common in a common module
	at         *yaml.Node // the action being translated, where a missing part is reported
	file       string
	subs       []substitution
	lines      []string // the substituted source, to place errors inside quoted scalars
	opts       Options
	errs       []*Diag
	warns      []*Diag
	notes      []string
	flowName   string
	desc       string
	variables  []*variable
	vars       map[string]string // Flow.x → archflow name
	varTypes   map[string]string // archflow name → type
	names      map[string]bool   // variable names taken
	nodes      []*node
	actions    map[string]*action
	actOrder   []string
	genesys    bool
	start      *node
	onError    *node
	stateEntry map[string]*node // refId → entry
	states     map[string]*yaml.Node
	tasks      map[string]*yaml.Node
	taskScopes map[string]*scopeCtx
	stateScope map[string]*scopeCtx
	scope      *scopeCtx
	loops      []loopCtx
	taskStack  []string
	taskExit   []func(path string) *node
	endNode    *node
}

func (t *translator) flowScope0() {
	if t.flowScope == "" {
		t.flowScope = "Flow"
	}
}

func (t *translator) pos(n *yaml.Node) (int, int) {
	if n == nil {
		n = t.at
	}
	if n == nil {
		return 1, 1
	}
	return n.Line, origCol(t.subs, n.Line, n.Column)
}

func (t *translator) errorf(n *yaml.Node, format string, args ...any) {
	l, c := t.pos(n)
	t.errs = append(t.errs, &Diag{File: t.file, Line: l, Col: c, Msg: fmt.Sprintf(format, args...)})
}

func (t *translator) warnf(n *yaml.Node, format string, args ...any) {
	l, c := t.pos(n)
	t.warns = append(t.warns, &Diag{File: t.file, Line: l, Col: c, Msg: fmt.Sprintf(format, args...)})
}

func (t *translator) sorted(l []*Diag) []*Diag {
	sort.SliceStable(l, func(i, j int) bool {
		if l[i].Line != l[j].Line {
			return l[i].Line < l[j].Line
		}
		return l[i].Col < l[j].Col
	})
	return l
}

func (t *translator) newNode(kind, base string, at *yaml.Node) *node {
	n := &node{kind: kind, base: base}
	if at != nil {
		n.line = at.Line
	}
	t.nodes = append(t.nodes, n)
	return n
}

func alias(to *node) *node { return &node{kind: "alias", next: to} }

// ---- YAML helpers ----

func child(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// childKey is child for Architect's yes/no outputs, however YAML 1.1 spelled the key.
func childKey(n *yaml.Node, names ...string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		for _, name := range names {
			if strings.EqualFold(n.Content[i].Value, name) {
				return n.Content[i+1]
			}
		}
	}
	return nil
}

// single reads a one-key mapping ({updateData: {...}}): its key node and value.
func single(n *yaml.Node) (*yaml.Node, *yaml.Node) {
	if n == nil || n.Kind != yaml.MappingNode || len(n.Content) < 2 {
		return nil, nil
	}
	return n.Content[0], n.Content[1]
}

func str(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// ---- names ----

// validName makes an Architect name a valid archflow name: [A-Za-z_][A-Za-z0-9_]*.
func validName(s, fallback string) string {
	var b strings.Builder
	under := false
	for _, r := range s {
		if r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			b.WriteRune(r)
			under = false
		} else if !under && b.Len() > 0 {
			b.WriteByte('_')
			under = true
		}
	}
	out := strings.TrimRight(b.String(), "_")
	if out == "" {
		out = fallback
	}
	if out[0] >= '0' && out[0] <= '9' {
		out = "_" + out
	}
	return out
}

// archflowNames cannot be variables in archflow (engine/expr.go: reserved names, archflow's
// functions, expr's keywords); expr's built-in functions are added from its own list.
var archflowNames = []string{"status", "headers", "body", "text", "elapsed", "error", "instance", "retries", "Flow",
	"now", "uuid", "env", "secret", "retry_after", "backoff", "jsonpath", "If", "IsSet", "IsNotSetOrEmpty", "ToString", "ToInt", "contains_",
	"true", "false", "nil", "in", "not", "and", "or", "matches", "contains", "startsWith", "endsWith", "let", "if", "else"}

func reserved(name string) bool {
	for _, n := range archflowNames {
		if n == name {
			return true
		}
	}
	for _, n := range builtin.Names {
		if n == name {
			return true
		}
	}
	return false
}

// declare adds a variable under a free archflow name and returns that name.
func (t *translator) declare(want string, v *variable) string {
	name := validName(want, "var")
	if reserved(name) {
		name += "_var"
	}
	base := name
	for i := 2; t.names[name]; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	t.names[name] = true
	v.name = name
	t.variables = append(t.variables, v)
	t.varTypes[name] = v.typ
	return name
}

// ---- the workflow ----

func (t *translator) workflow(wf *yaml.Node) {
	name := str(child(wf, "name"))
	t.flowName = strings.Trim(regexp.MustCompile(`[^A-Za-z0-9_-]+`).ReplaceAllString(name, "-"), "-")
	if t.flowName == "" {
		t.flowName = strings.TrimSuffix(filepath.Base(t.file), filepath.Ext(t.file))
		t.flowName = regexp.MustCompile(`[^A-Za-z0-9_-]+`).ReplaceAllString(t.flowName, "-")
	}
	t.desc = str(child(wf, "description"))
	t.names[ExitReason] = true // declared last, under this name
	var inits [][2]string
	for _, v := range seq(child(wf, "variables")) {
		if set := t.variable(v, t.flowScope, nil); set != nil {
			inits = append(inits, *set)
		}
	}
	t.states = map[string]*yaml.Node{}
	t.tasks = map[string]*yaml.Node{}
	t.taskScopes = map[string]*scopeCtx{}
	t.stateScope = map[string]*scopeCtx{}
	var stateOrder []string
	for _, s := range seq(child(wf, "states")) {
		_, st := single(s)
		ref := str(child(st, "refId"))
		if ref == "" {
			ref = str(child(st, "name"))
		}
		t.states[ref] = st
		stateOrder = append(stateOrder, ref)
		t.stateEntry[ref] = alias(nil)
	}
	for _, s := range seq(child(wf, "tasks")) {
		_, tk := single(s)
		ref := str(child(tk, "refId"))
		if ref == "" {
			ref = str(child(tk, "name"))
		}
		t.tasks[ref] = tk
	}
	// State and Task variables are declared up front, named after their state or task.
	for _, ref := range stateOrder {
		t.stateScope[ref] = t.scopeVars("State", t.states[ref])
	}
	taskRefs := make([]string, 0, len(t.tasks))
	for ref := range t.tasks {
		taskRefs = append(taskRefs, ref)
	}
	sort.Slice(taskRefs, func(i, j int) bool { return t.tasks[taskRefs[i]].Line < t.tasks[taskRefs[j]].Line })
	for _, ref := range taskRefs {
		t.taskScopes[ref] = t.scopeVars("Task", t.tasks[ref])
	}
	t.declareExitReason()

	startRef := child(wf, "startUpRef")
	var start *node
	if startRef == nil {
		if len(stateOrder) == 0 {
			t.errorf(wf, "the workflow has no states")
			return
		}
		start = t.stateEntry[stateOrder[0]]
	} else {
		ref := refTarget(str(startRef))
		start = t.stateEntry[ref]
		if start == nil {
			t.errorf(startRef, "startUpRef names no state: %q", startRef.Value)
			return
		}
	}
	if len(inits) > 0 {
		n := t.newNode("assign", "Initialize", wf)
		n.comment = "initial values given as expressions"
		n.sets = inits
		n.next = start
		start = n
	}
	t.start = start
	for _, ref := range stateOrder {
		t.state(ref)
	}
	t.errorHandling(child(wf, "settingsErrorHandling")) // after the states, so its nodes are written last
}

func seq(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}

var refRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\[(.*)\]\s*$`) })

// refTarget reads "/workflow/states/state[Initial State_10]" as "Initial State_10".
func refTarget(s string) string {
	if m := refRe().FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return s
}

func (t *translator) declareExitReason() {
	v := &variable{name: ExitReason, typ: "string", output: true, note: "End Workflow's exit reason"}
	t.variables = append(t.variables, v)
	t.varTypes[ExitReason] = "string"
}

// scopeVars declares the variables of a state or task, named <state>_<name>.
func (t *translator) scopeVars(kind string, n *yaml.Node) *scopeCtx {
	sc := &scopeCtx{kind: kind, name: str(child(n, "name")), vars: map[string]string{}}
	for _, v := range seq(child(n, "variables")) {
		t.variable(v, kind, sc)
	}
	return sc
}

var varTypes = map[string]string{
	"string": "string", "integer": "integer", "decimal": "number", "boolean": "boolean", "json": "object",
	"dateTime": "datetime", "duration": "duration", "date": "string", "time": "string", "currency": "object",
}

// variable declares one Archy variable; it returns an initial assignment when its initial value is
// an expression (a default must be a literal).
func (t *translator) variable(n *yaml.Node, scope string, sc *scopeCtx) *[2]string {
	k, v := single(n)
	if k == nil {
		t.errorf(n, "expected a variable like stringVariable: {name: ...}")
		return nil
	}
	kind := strings.TrimSuffix(k.Value, "Variable")
	typ, ok := varTypes[kind]
	switch {
	case ok:
	case strings.HasSuffix(kind, "Collection"):
		typ = "list"
	case kind != k.Value:
		typ = "object"
		t.warnf(k, "%s has no archflow type: imported as an object", k.Value)
	default:
		t.errorf(k, "unknown variable kind %q", k.Value)
		return nil
	}
	full := str(child(v, "name"))
	sc0, name, found := strings.Cut(full, ".")
	if !found {
		sc0, name = scope, full
	}
	if sc0 != scope {
		t.errorf(child(v, "name"), "variable %s is declared in a %s, not in scope %s.", full, strings.ToLower(scope), sc0)
		return nil
	}
	decl := &variable{typ: typ, input: truthy(child(v, "isInput")), output: truthy(child(v, "isOutput"))}
	want := name
	if sc != nil {
		want = validName(sc.name, scope) + "_" + name
	}
	got := t.declare(want, decl)
	switch {
	case sc != nil:
		sc.vars[name] = got
		t.notes = append(t.notes, fmt.Sprintf("%s.%s of %s %q is the flow variable %s, re-initialised each time the %s is entered",
			scope, name, strings.ToLower(scope), sc.name, got, strings.ToLower(scope)))
	default:
		t.vars[name] = got
		if got != validName(name, "var") {
			t.notes = append(t.notes, fmt.Sprintf("Flow.%s is renamed %s (%s is reserved in archflow)", name, got, name))
		}
	}
	iv := child(v, "initialValue")
	if sc != nil {
		// re-initialised at each entry: written by the entry node of the state or task
		return nil
	}
	if lit := child(iv, "lit"); lit != nil {
		val, err := t.literal(lit, typ)
		if err != nil {
			t.errorf(lit, "initial value of %s: %v", full, err)
		}
		// a default is a value, not a template: no {{ escaping
		decl.def = strings.ReplaceAll(val, `{{ \"{{\" }}`, "{{")
	} else if e := child(iv, "exp"); e != nil {
		return &[2]string{got, t.template(e)}
	}
	return nil
}

func truthy(n *yaml.Node) bool {
	s := strings.ToLower(str(n))
	return s == "true" || s == "yes"
}

// entrySets are the assignments that (re)initialise a state's or task's variables.
func (t *translator) entrySets(n *yaml.Node, sc *scopeCtx) [][2]string {
	var sets [][2]string
	for _, v := range seq(child(n, "variables")) {
		_, body := single(v)
		_, name, _ := strings.Cut(str(child(body, "name")), ".")
		got := sc.vars[name]
		if got == "" {
			continue
		}
		iv := child(body, "initialValue")
		val := "null"
		if lit := child(iv, "lit"); lit != nil {
			s, err := t.literal(lit, t.varTypes[got])
			if err != nil {
				t.errorf(lit, "initial value of %s: %v", name, err)
			}
			val = s
		} else if e := child(iv, "exp"); e != nil {
			val = t.template(e)
		}
		sets = append(sets, [2]string{got, val})
	}
	return sets
}

// errorHandling maps the workflow's error handling: End Workflow is archflow's own behaviour (the
// instance ends with outcome error); Handle Error runs a task, which becomes on_error.
func (t *translator) errorHandling(n *yaml.Node) {
	eh := child(n, "errorHandling")
	if eh == nil {
		return
	}
	if child(eh, "endWorkflow") != nil {
		return
	}
	var ref *yaml.Node
	var find func(x *yaml.Node)
	find = func(x *yaml.Node) {
		for _, p := range yamldoc.Entries(x) {
			if p[0].Value == "targetTaskRef" {
				ref = p[1]
			}
			find(p[1])
		}
	}
	find(eh)
	if ref == nil {
		k, _ := single(eh)
		t.errorf(k, "error handling %q is not supported (End Workflow and Handle Error with a task are)", str(k))
		return
	}
	t.onError = t.callTask(ref, nil, t.end(ref))
}

// end is the end node that End Workflow actions lead to.
func (t *translator) end(at *yaml.Node) *node {
	if t.endNode == nil {
		t.endNode = t.newNode("end", "Workflow_ended", at)
		t.endNode.comment = "where every End Workflow with an exit reason ends"
		t.endNode.outcome = "success"
	}
	return t.endNode
}

// ---- states, tasks and action lists ----

func (t *translator) state(ref string) {
	st := t.states[ref]
	sc := t.stateScope[ref]
	t.scope = sc
	defer func() { t.scope = nil }()
	var entry *node
	if sets := t.entrySets(st, sc); len(sets) > 0 {
		entry = t.newNode("assign", sc.name, st) // made first, so that it is written first
		entry.comment = "state " + strconv.Quote(sc.name) + ": its variables start again"
		entry.sets = sets
	}
	fall := t.newNode("end", "End_of_"+validName(sc.name, "state"), st)
	fall.comment = "the actions of state " + strconv.Quote(sc.name) + " ran out"
	fall.outcome = "success"
	body := t.list(child(st, "actions"), fall)
	if entry == nil {
		entry = body
	} else {
		entry.next = body
	}
	t.stateEntry[ref].next = entry
}

// list translates an action list; after its last action control goes to cont, as in Architect.
func (t *translator) list(actions *yaml.Node, cont *node) *node {
	items := seq(actions)
	if actions != nil && actions.Kind == yaml.MappingNode {
		items = seq(child(actions, "actions"))
	}
	if len(items) == 0 {
		return cont
	}
	holes := make([]*node, len(items)+1)
	holes[len(items)] = cont
	for i := range items {
		holes[i] = alias(nil)
	}
	for i, a := range items {
		holes[i].next = t.action(a, holes[i+1])
	}
	return holes[0]
}

// outputList is the actions under outputs.<name> (or cont when there are none).
func (t *translator) outputList(outputs *yaml.Node, cont *node, names ...string) *node {
	o := childKey(outputs, names...)
	if o == nil {
		return cont
	}
	return t.list(child(o, "actions"), cont)
}

func (t *translator) action(a *yaml.Node, next *node) *node {
	k, v := single(a)
	if k == nil {
		t.errorf(a, "expected an action like updateData: {...}")
		return next
	}
	saved := t.at
	t.at = k
	defer func() { t.at = saved }()
	name := str(child(v, "name"))
	if name == "" {
		name = k.Value
	}
	switch k.Value {
	case "updateData":
		return t.updateData(k, v, name, next)
	case "decision":
		n := t.newNode("decision", name, k)
		n.cases = []dcase{{when: t.condition(child(v, "condition")), next: t.outputList(child(v, "outputs"), next, "yes", "true", "y", "on")}}
		n.def = t.outputList(child(v, "outputs"), next, "no", "false", "n", "off")
		return n
	case "switch":
		return t.switchAction(k, v, name, next)
	case "loop":
		return t.loop(k, v, name, next)
	case "loopNext", "exitLoop":
		if len(t.loops) == 0 {
			t.errorf(k, "%s outside a loop", k.Value)
			return next
		}
		l := t.loops[len(t.loops)-1]
		if k.Value == "loopNext" {
			return l.next
		}
		return l.exit
	case "wait":
		n := t.newNode("wait", name, k)
		n.waitFor = t.duration(child(v, "duration"))
		n.trim = truthy(child(child(v, "trimDurationNearMaxRunningTime"), "lit"))
		n.next = next
		return n
	case "endWorkflow":
		reason := child(v, "exitReason")
		if reason == nil || child(reason, "noValue") != nil {
			n := t.newNode("end", name, k)
			n.outcome = "success"
			return n
		}
		n := t.newNode("assign", name, k)
		n.sets = [][2]string{{ExitReason, t.value(reason, "string")}}
		n.next = t.end(k)
		return n
	case "changeState":
		ref := child(v, "targetStateRef")
		e := t.stateEntry[refTarget(str(ref))]
		if e == nil {
			t.errorf(ref, "changeState names no state: %q", str(ref))
			return next
		}
		return e
	case "callTask":
		return t.callTask(child(v, "targetTaskRef"), child(v, "outputs"), next)
	case "endTask":
		if len(t.taskExit) == 0 {
			t.errorf(k, "endTask outside a task")
			return next
		}
		path := str(child(child(v, "outputPath"), "name"))
		return t.taskExit[len(t.taskExit)-1](path)
	case "callData":
		return t.callData(k, v, name, next)
	case "getConversationData", "setConversationData", "getExternalContact", "dataTableLookup", "callCommonModule":
		return t.platform(k, v, name, next)
	}
	t.errorf(k, "action %s is not supported by archflow import (it has no meaning outside Genesys Cloud or no public API)", k.Value)
	return next
}

func (t *translator) updateData(k, v *yaml.Node, name string, next *node) *node {
	n := t.newNode("assign", name, k)
	for _, s := range seq(child(v, "statements")) {
		sk, sv := single(s)
		if sk == nil {
			t.errorf(s, "expected a statement like string: {variable, value}")
			continue
		}
		target := child(sv, "variable")
		vname, ok := t.varRef(target)
		if !ok {
			continue
		}
		n.sets = append(n.sets, [2]string{vname, t.value(child(sv, "value"), t.varTypes[vname])})
	}
	if len(n.sets) == 0 {
		return next // an Update Data with no statements does nothing
	}
	n.next = next
	return n
}

// varRef resolves the variable an action writes (Flow.x, State.x, Task.x).
func (t *translator) varRef(n *yaml.Node) (string, bool) {
	full := str(n)
	if v := child(n, "var"); v != nil {
		full = str(v)
		n = v
	}
	scope, name, _ := strings.Cut(full, ".")
	if got, ok := t.resolve(scope, name); ok {
		return got, true
	}
	t.errorf(n, "unknown variable %s", full)
	return "", false
}

func (t *translator) resolve(scope, name string) (string, bool) {
	switch scope {
	case "Flow", "Common":
		if scope != t.flowScope {
			return "", false
		}
		v, ok := t.vars[name]
		if !ok && scope == "Flow" {
			// the error handling task reads what went wrong
			switch name {
			case "ErrorType":
				return "error?.kind", true
			case "ErrorMessage", "ErrorDetails":
				return "error?.message", true
			}
		}
		return v, ok
	case "State", "Task":
		if t.scope != nil && t.scope.kind == scope {
			v, ok := t.scope.vars[name]
			return v, ok
		}
	}
	return "", false
}

func (t *translator) switchAction(k, v *yaml.Node, name string, next *node) *node {
	ev := child(v, "evaluate")
	n := t.newNode("decision", name, k)
	if ft := child(ev, "firstTrue"); ft != nil {
		for _, c := range seq(child(ft, "cases")) {
			_, cv := single(c)
			n.cases = append(n.cases, dcase{when: t.condition(child(cv, "value")), next: t.list(child(cv, "actions"), next)})
		}
		n.def = t.list(child(child(ft, "default"), "actions"), next)
		return n
	}
	fm := child(ev, "firstMatch")
	if fm == nil {
		t.errorf(k, "switch needs evaluate: firstTrue or firstMatch")
		return next
	}
	tk, body := single(fm)
	if tk == nil {
		t.errorf(fm, "firstMatch needs a typed value (string: {value, cases})")
		return next
	}
	subject := t.exprOf(child(body, "value"))
	for _, c := range seq(child(body, "cases")) {
		_, cv := single(c)
		val := t.exprOf(child(cv, "value"))
		n.cases = append(n.cases, dcase{when: "(" + subject + ") == (" + val + ")", next: t.list(child(cv, "actions"), next)})
	}
	n.def = t.list(child(child(body, "default"), "actions"), next)
	return n
}

// loop is a counter, a decision and a back edge: Loop (index = 0) → Loop_check → body →
// Loop_next (index + 1) → Loop_check; loopNext goes to Loop_next, exitLoop to what follows.
func (t *translator) loop(k, v *yaml.Node, name string, next *node) *node {
	idx := ""
	if ci := child(v, "currentIndex"); ci != nil {
		if got, ok := t.varRef(ci); ok {
			idx = got
		}
	}
	if idx == "" {
		idx = t.declare(validName(name, "loop")+"_index", &variable{typ: "integer", note: "loop counter"})
	}
	count := t.exprOf(child(v, "loopCount"))
	init := t.newNode("assign", name, k)
	init.comment = name + ": the index starts at 0"
	init.sets = [][2]string{{idx, "0"}}
	check := t.newNode("decision", name+"_check", k)
	check.comment = name + ": another round?"
	step := t.newNode("assign", name+"_next", k)
	step.comment = name + ": next round (Next Loop comes here)"
	step.sets = [][2]string{{idx, template(idx + " + 1")}}
	step.next = check
	init.next = check
	t.loops = append(t.loops, loopCtx{next: step, exit: next})
	body := t.outputList(child(v, "outputs"), step, "loop")
	t.loops = t.loops[:len(t.loops)-1]
	check.cases = []dcase{{when: idx + " < (" + count + ")", next: body}}
	check.def = next
	return init
}

// callTask inlines a task at its call site: Architect returns to the caller at End Task, which
// archflow (with no call stack) expresses by giving each call its own copy of the task's nodes.
func (t *translator) callTask(ref, outputs *yaml.Node, next *node) *node {
	target := refTarget(str(ref))
	tk := t.tasks[target]
	if tk == nil {
		t.errorf(ref, "no task %q", str(ref))
		return next
	}
	for _, s := range t.taskStack {
		if s == target {
			t.errorf(ref, "task %q calls itself: archflow cannot inline a recursive task", target)
			return next
		}
	}
	saved := t.scope
	savedLoops := t.loops
	t.scope, t.loops = t.taskScopes[target], nil
	t.taskStack = append(t.taskStack, target)
	t.taskExit = append(t.taskExit, func(path string) *node {
		if path == "" || path == "default" {
			return next
		}
		return t.outputList(outputs, next, path)
	})
	var entry *node
	if sets := t.entrySets(tk, t.scope); len(sets) > 0 {
		entry = t.newNode("assign", str(child(tk, "name")), tk)
		entry.comment = "task " + strconv.Quote(str(child(tk, "name"))) + ": its variables start again"
		entry.sets = sets
	}
	body := t.list(child(tk, "actions"), next) // a task whose actions run out returns, as End Task does
	if entry == nil {
		entry = body
	} else {
		entry.next = body
	}
	t.taskExit = t.taskExit[:len(t.taskExit)-1]
	t.taskStack = t.taskStack[:len(t.taskStack)-1]
	t.scope, t.loops = saved, savedLoops
	return entry
}

// ---- values and expressions ----

// translate turns an Architect expression (an exp: scalar) into expr source, reporting problems
// at their place in the file.
func (t *translator) translate(n *yaml.Node) string {
	out, errs := TranslateExpr(n.Value, t.resolve)
	for _, e := range errs {
		l, c := n.Line, n.Column
		if !strings.Contains(n.Value, "\n") {
			// the offset counts in the expression as substituted; map the column back after it
			c += t.rawOffset(n, e.Offset)
		}
		c = origCol(t.subs, l, c)
		t.errs = append(t.errs, &Diag{File: t.file, Line: l, Col: c, Msg: fmt.Sprintf("in expression %q: %s", n.Value, e.Msg)})
	}
	if len(errs) > 0 {
		return "nil"
	}
	return out
}

// rawOffset is how far into the source line the value offset off of a scalar is: quotes and
// escape sequences take more room in the file than in the value.
func (t *translator) rawOffset(n *yaml.Node, off int) int {
	if n.Style != yaml.DoubleQuotedStyle && n.Style != yaml.SingleQuotedStyle {
		return off
	}
	if n.Line < 1 || n.Line > len(t.lines) {
		return off + 1
	}
	line := t.lines[n.Line-1]
	i := n.Column // the byte after the opening quote (columns count from 1)
	for v := 0; v < off && i < len(line); v++ {
		switch {
		case n.Style == yaml.SingleQuotedStyle && strings.HasPrefix(line[i:], "''"):
			i += 2
		case n.Style == yaml.DoubleQuotedStyle && line[i] == '\\' && i+1 < len(line):
			switch line[i+1] {
			case 'x':
				i += 4
			case 'u':
				i += 6
			case 'U':
				i += 10
			default:
				i += 2
			}
		default:
			i++
		}
	}
	return i - n.Column + 1
}

// exprOf reads {exp: E} or {lit: V} as expr source.
func (t *translator) exprOf(n *yaml.Node) string {
	if e := child(n, "exp"); e != nil {
		return t.translate(e)
	}
	if l := child(n, "lit"); l != nil {
		if l.Kind == yaml.ScalarNode && l.Tag == "!!str" {
			return QuoteExpr(l.Value)
		}
		if l.Kind == yaml.MappingNode {
			if s, err := durationSeconds(l); err == nil {
				return s
			}
		}
		return l.Value
	}
	if child(n, "noValue") != nil {
		return "nil"
	}
	if n != nil && n.Kind == yaml.ScalarNode {
		return t.translate(n)
	}
	t.errorf(n, "expected exp:, lit: or noValue:")
	return "nil"
}

// condition is a bare expression for a decision case.
func (t *translator) condition(n *yaml.Node) string {
	if l := child(n, "lit"); l != nil {
		v, err := t.literal(l, "boolean")
		if err != nil || v == "null" {
			t.errorf(l, "a condition's literal must be true or false, not %q", l.Value)
			return "false"
		}
		return v
	}
	return t.exprOf(n)
}

func template(e string) string { return yamlString("{{ " + e + " }}") }

// template reads an exp: scalar as an archflow template that keeps the value's type.
func (t *translator) template(e *yaml.Node) string { return template(t.translate(e)) }

// value reads {lit | exp | noValue} as a YAML value for an assignment to a variable of type typ.
func (t *translator) value(n *yaml.Node, typ string) string {
	if e := child(n, "exp"); e != nil {
		return t.template(e)
	}
	if l := child(n, "lit"); l != nil {
		s, err := t.literal(l, typ)
		if err != nil {
			t.errorf(l, "%v", err)
		}
		return s
	}
	if child(n, "noValue") != nil || n == nil {
		return "null"
	}
	if n.Kind == yaml.ScalarNode {
		return t.template(n)
	}
	t.errorf(n, "expected exp:, lit: or noValue:")
	return "null"
}

// literal writes an Archy literal as a YAML value of the given archflow type.
func (t *translator) literal(l *yaml.Node, typ string) (string, error) {
	switch l.Kind {
	case yaml.MappingNode:
		s, err := durationSeconds(l)
		if err != nil {
			return "null", err
		}
		return s, nil
	case yaml.SequenceNode:
		var items []string
		for _, it := range l.Content {
			s, err := t.literal(it, "")
			if err != nil {
				return "null", err
			}
			items = append(items, s)
		}
		return "[" + strings.Join(items, ", ") + "]", nil
	}
	switch typ {
	case "boolean":
		switch strings.ToLower(l.Value) {
		case "true", "yes", "on", "y":
			return "true", nil
		case "false", "no", "off", "n":
			return "false", nil
		case "":
			return "null", nil
		}
		return "null", fmt.Errorf("%q is not a boolean", l.Value)
	case "integer", "number":
		if l.Tag == "!!str" && l.Value == "" {
			return "null", nil
		}
		if l.Tag != "!!int" && l.Tag != "!!float" {
			return "null", fmt.Errorf("%q is not a number", l.Value)
		}
		return l.Value, nil
	}
	if l.Tag == "!!null" {
		return "null", nil
	}
	if typ == "" && l.Tag != "!!str" {
		return l.Value, nil
	}
	return yamlString(strings.ReplaceAll(l.Value, "{{", `{{ "{{" }}`)), nil
}

// durationSeconds reads Archy's {days, hours, minutes, seconds, milliseconds} as seconds.
func durationSeconds(n *yaml.Node) (string, error) {
	mult := map[string]float64{"days": 86400, "hours": 3600, "minutes": 60, "seconds": 1, "milliseconds": 0.001}
	total := 0.0
	for _, p := range yamldoc.Entries(n) {
		m, ok := mult[p[0].Value]
		if !ok {
			return "", fmt.Errorf("unknown duration field %q (days, hours, minutes, seconds, milliseconds)", p[0].Value)
		}
		var f float64
		if _, err := fmt.Sscan(p[1].Value, &f); err != nil {
			return "", fmt.Errorf("duration %s: %q is not a number", p[0].Value, p[1].Value)
		}
		total += f * m
	}
	return trimFloat(total), nil
}

func trimFloat(f float64) string {
	s := fmt.Sprintf("%.3f", f)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

// duration reads a wait's duration: a literal becomes a Go duration, an expression seconds.
func (t *translator) duration(n *yaml.Node) string {
	if l := child(n, "lit"); l != nil {
		if l.Kind == yaml.MappingNode {
			s, err := durationSeconds(l)
			if err != nil {
				t.errorf(l, "%v", err)
				return "0"
			}
			return s + "s"
		}
		if d, ok := isoDuration(l.Value); ok {
			return d
		}
		return yamlString(l.Value)
	}
	if e := child(n, "exp"); e != nil {
		return t.template(e)
	}
	t.errorf(n, "wait needs duration: {lit: ...} or {exp: ...}")
	return "0"
}

var isoRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$`)
})

// isoDuration reads an ISO 8601 duration (PT5M) as seconds.
func isoDuration(s string) (string, bool) {
	m := isoRe().FindStringSubmatch(s)
	if m == nil || s == "P" || s == "PT" {
		return "", false
	}
	total := 0.0
	for i, mult := range []float64{86400, 3600, 60, 1} {
		if m[i+1] != "" {
			var f float64
			fmt.Sscan(m[i+1], &f)
			total += f * mult
		}
	}
	return trimFloat(total) + "s", true
}

// yamlString writes a YAML string scalar: plain when that reads back as the same string,
// double-quoted otherwise (YAML's double-quoted style reads Go's escapes).
func yamlString(s string) string {
	if plainSafe(s) {
		return s
	}
	return strconv.Quote(s)
}

var plainRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_./-]*$`) })

func plainSafe(s string) bool {
	if !plainRe().MatchString(s) {
		return false
	}
	switch strings.ToLower(s) {
	case "true", "false", "yes", "no", "y", "n", "on", "off", "null":
		return false
	}
	return true
}
