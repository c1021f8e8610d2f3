package engine

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"gopkg.in/yaml.v3"
)

// Flow is a compiled flow: every reference resolved, every expression compiled. It is read-only
// once compiled and shared by all its instances.
type Flow struct {
	Name        string
	Description string
	File        string
	Vars        []*Variable
	varIndex    map[string]int
	Actions     map[string]*Action
	Auth        map[string]Auth
	Channels    map[string]*ChannelRef
	Nodes       []*Node
	nodeIndex   map[string]*Node
	Start       *Node
	OnError     *Node
	Edges       []*Edge
	EnvCalls    []envCall
	Diagnostics ErrorList // warnings (and errors, when Load failed)
	scope       *scope
	exprs       []*Expr // every expression, for lint rules
}

// Variable is a declared, typed, instance-scoped variable.
type Variable struct {
	Name       string
	Type       Type
	Input      bool
	Required   bool
	Output     bool
	HasDefault bool
	Default    any
	Pos        Pos
}

// Node is a compiled node. Step runs it; Edges are its outgoing routes.
type Node struct {
	Name  string
	Kind  string
	Pos   Pos
	Index int
	Step  Step
	Edges []*Edge
	// Retry is set by node kinds that retry on their own (data_action with retry:).
	Retry bool
	// What the node's compiler referenced, recorded by the Compiler for lint rules.
	Reads   []*Expr
	Sets    []*Variable
	Action  *Action
	Channel *ChannelRef
	Keys    []string
}

// Edge is a route between nodes; Label says which (next, on_failure, case 2, default ...).
type Edge struct {
	From  *Node
	To    *Node
	Label string
	Pos   Pos
	Index int
}

// Step is what a node kind compiles to. Exec runs the node for one instance and returns the
// edge taken, or nil when the instance ends.
type Step interface {
	Exec(ctx context.Context, in *Instance) (*Edge, error)
}

// Kind is a node kind: the key that names it in a node, the other keys it allows, and its compiler.
type Kind struct {
	Name    string
	Keys    []string
	Compile func(c *Compiler, n *Node, spec *yaml.Node, keys map[string]*yaml.Node) Step
}

var kinds = map[string]*Kind{}

// RegisterKind adds a node kind. Node kinds register themselves from package nodes.
func RegisterKind(k *Kind) { kinds[k.Name] = k }

// KindNames lists the registered node kinds, sorted.
func KindNames() []string { return sortedKeys(kinds) }

// Var looks a declared variable up by name.
func (f *Flow) Var(name string) *Variable {
	if i, ok := f.varIndex[name]; ok {
		return f.Vars[i]
	}
	return nil
}

// Node looks a node up by name.
func (f *Flow) Node(name string) *Node { return f.nodeIndex[name] }

// Exprs lists every compiled expression of the flow.
func (f *Flow) Exprs() []*Expr { return f.exprs }

var topKeys = []string{"flow", "description", "variables", "actions", "include", "auth", "channels", "start", "on_error", "nodes"}

func (c *Compiler) compileFlow(root *yaml.Node) *Flow {
	f := c.flow
	f.varIndex = map[string]int{}
	f.nodeIndex = map[string]*Node{}
	f.Actions = map[string]*Action{}
	f.Auth = map[string]Auth{}
	f.Channels = map[string]*ChannelRef{}
	m := c.mapping(root, topKeys...)
	if m == nil {
		return f
	}
	if n := m["flow"]; n == nil {
		c.errs.Add(PosOf(c.file, root), "missing flow: name")
	} else if s, ok := c.String(n); ok {
		if !flowNameRe.MatchString(s) {
			c.errs.Add(PosOf(c.file, n), "flow name %q may hold only letters, digits, - and _", s)
		}
		f.Name = s
	}
	if n := m["description"]; n != nil {
		f.Description, _ = c.String(n)
	}
	c.compileVariables(m["variables"])

	// Nodes with retry: are known before any expression compiles, for retries.<node>.
	retries := map[string]bool{}
	var nodePairs [][2]*yaml.Node
	if m["nodes"] == nil {
		c.errs.Add(PosOf(c.file, root), "missing nodes:")
	} else {
		nodePairs = c.Pairs(m["nodes"])
		for _, p := range nodePairs {
			if p[1].Kind == yaml.MappingNode {
				for i := 0; i+1 < len(p[1].Content); i += 2 {
					if p[1].Content[i].Value == "retry" {
						retries[p[0].Value] = true
					}
				}
			}
		}
	}
	vars := map[string]Type{}
	for _, v := range f.Vars {
		vars[v.Name] = v.Type
	}
	c.scope = newScope(vars, retries)
	f.scope = c.scope

	if n := m["include"]; n != nil {
		c.compileIncludes(n)
	}
	if n := m["auth"]; n != nil {
		c.compileAuth(n)
	}
	if n := m["actions"]; n != nil {
		c.compileActions(n)
	}
	if n := m["channels"]; n != nil {
		c.compileChannels(n)
	}

	// Create every node first so that edges resolve in any order.
	for i, p := range nodePairs {
		if !c.CheckName(p[0], "node") {
			continue
		}
		node := &Node{Name: p[0].Value, Pos: PosOf(c.file, p[0]), Index: i}
		f.nodeIndex[node.Name] = node
		f.Nodes = append(f.Nodes, node)
	}
	for i, node := range f.Nodes {
		node.Index = i
	}
	for _, p := range nodePairs {
		if node := f.nodeIndex[p[0].Value]; node != nil {
			c.compileNode(node, p[0], p[1])
		}
	}
	if n := m["start"]; n == nil {
		c.errs.Add(PosOf(c.file, root), "missing start: (the first node)")
	} else {
		f.Start = c.nodeRef(n, "start")
	}
	if n := m["on_error"]; n != nil {
		f.OnError = c.nodeRef(n, "on_error")
	}
	for i, e := range f.Edges {
		e.Index = i
	}
	if len(c.errs.Errors()) == 0 {
		c.graphChecks()
		c.lint()
	}
	return f
}

func (c *Compiler) compileVariables(n *yaml.Node) {
	f := c.flow
	for _, p := range c.Pairs(n) {
		k, v := p[0], p[1]
		if !c.CheckName(k, "variable") {
			continue
		}
		if isReserved(k.Value) {
			c.errs.Add(PosOf(c.file, k), "%q is a reserved name and cannot be a variable", k.Value)
			continue
		}
		vm := c.mapping(v, "type", "input", "required", "default", "output", "description")
		if vm == nil {
			continue
		}
		decl := &Variable{Name: k.Value, Pos: PosOf(c.file, k)}
		if t := vm["type"]; t == nil {
			c.errs.Add(PosOf(c.file, v), "variable %s needs a type (one of %v)", k.Value, Types)
		} else if !Type(t.Value).valid() {
			c.errs.Add(PosOf(c.file, t), "unknown type %q%s", t.Value, didYouMean(t.Value, typeStrings()))
		} else {
			decl.Type = Type(t.Value)
		}
		decl.Input = c.Bool(vm["input"])
		decl.Required = c.Bool(vm["required"])
		decl.Output = c.Bool(vm["output"])
		if decl.Required && !decl.Input {
			c.errs.Add(PosOf(c.file, vm["required"]), "required applies to inputs: add input: true")
		}
		if d := vm["default"]; d != nil && d.Tag != "!!null" && decl.Type != "" {
			var raw any
			if err := d.Decode(&raw); err != nil {
				c.errs.Add(PosOf(c.file, d), "%v", err)
			} else if val, err := decl.Type.Convert(normalizeYAML(raw)); err != nil {
				c.errs.Add(PosOf(c.file, d), "default of %s: %v", k.Value, err)
			} else if what, bad := nonFinite(val); bad {
				c.errs.Add(PosOf(c.file, d), "default of %s: %s is not a number that can be stored", k.Value, what)
			} else {
				decl.Default, decl.HasDefault = val, true
			}
		}
		f.varIndex[decl.Name] = len(f.Vars)
		f.Vars = append(f.Vars, decl)
	}
}

func typeStrings() []string {
	var out []string
	for _, t := range Types {
		out = append(out, string(t))
	}
	return out
}

// normalizeYAML turns YAML-decoded maps into map[string]any, as JSON has them.
func normalizeYAML(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeYAML(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = normalizeYAML(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = normalizeYAML(e)
		}
		return x
	}
	return v
}

func (c *Compiler) compileNode(node *Node, key, v *yaml.Node) {
	if v.Kind != yaml.MappingNode {
		c.errs.Add(PosOf(c.file, v), "node %s must be a mapping with one kind key (%s)", node.Name, joinNames(KindNames()))
		return
	}
	var kindKeys []*yaml.Node
	for i := 0; i+1 < len(v.Content); i += 2 {
		if kinds[v.Content[i].Value] != nil {
			kindKeys = append(kindKeys, v.Content[i])
		}
	}
	switch len(kindKeys) {
	case 0:
		c.errs.Add(PosOf(c.file, key), "node %s has no kind: give exactly one of %s", node.Name, joinNames(KindNames()))
		return
	case 1:
	default:
		c.errs.Add(PosOf(c.file, kindKeys[1]), "node %s has two kinds (%s and %s): a node has exactly one", node.Name, kindKeys[0].Value, kindKeys[1].Value)
		return
	}
	k := kinds[kindKeys[0].Value]
	node.Kind = k.Name
	allowed := append([]string{k.Name, "description"}, k.Keys...)
	m := c.mapping(v, allowed...)
	if m == nil {
		return
	}
	for key := range m {
		node.Keys = append(node.Keys, key)
	}
	sort.Strings(node.Keys)
	c.cur = node
	node.Step = k.Compile(c, node, m[k.Name], m)
	c.cur = nil
}

func joinNames(names []string) string {
	s := ""
	for i, n := range names {
		if i > 0 {
			s += ", "
		}
		s += n
	}
	return s
}

// nodeRef resolves a node name; an unknown name is an error suggesting the nearest node.
func (c *Compiler) nodeRef(n *yaml.Node, what string) *Node {
	name, ok := c.String(n)
	if !ok {
		return nil
	}
	node := c.flow.nodeIndex[name]
	if node == nil {
		c.errs.Add(PosOf(c.file, n), "%s: undefined node %q%s", what, name, didYouMean(name, sortedKeys(c.flow.nodeIndex)))
	}
	return node
}

// Edge resolves a route from node to the node named by target and records it for the graph.
func (c *Compiler) Edge(from *Node, label string, target *yaml.Node) *Edge {
	if target == nil {
		return nil
	}
	to := c.nodeRef(target, label)
	if to == nil {
		return nil
	}
	e := &Edge{From: from, To: to, Label: label, Pos: PosOf(c.file, target)}
	from.Edges = append(from.Edges, e)
	c.flow.Edges = append(c.flow.Edges, e)
	return e
}

// Track records an expression for lint rules and coverage.
func (c *Compiler) Track(es ...*Expr) {
	for _, e := range es {
		if e != nil {
			c.flow.exprs = append(c.flow.exprs, e)
		}
	}
}

// CheckAssign reports at compile time a value whose static type cannot go into the variable.
func (c *Compiler) CheckAssign(n *yaml.Node, name string, t *Template) {
	v := c.flow.Var(name)
	if v == nil || t == nil {
		return
	}
	if !v.Type.accepts(t.Type()) {
		c.errs.Add(PosOf(c.file, n), "cannot assign %s to %s (type %s)", staticTypeName(t.Type()), name, v.Type)
	}
}

// VarRef checks that name is a declared variable, suggesting the nearest one.
func (c *Compiler) VarRef(n *yaml.Node) *Variable {
	v := c.flow.Var(n.Value)
	if c.cur != nil && v != nil {
		c.cur.Sets = append(c.cur.Sets, v)
	}
	if v == nil {
		var names []string
		for _, x := range c.flow.Vars {
			names = append(names, x.Name)
		}
		c.errs.Add(PosOf(c.file, n), "unknown variable %q%s", n.Value, didYouMean(n.Value, names))
	}
	return v
}

// graphChecks reports unreachable nodes and nodes with no path to an end.
func (c *Compiler) graphChecks() {
	f := c.flow
	if f.Start == nil {
		return
	}
	reach := map[*Node]bool{}
	var walk func(n *Node)
	walk = func(n *Node) {
		if reach[n] {
			return
		}
		reach[n] = true
		for _, e := range n.Edges {
			walk(e.To)
		}
	}
	walk(f.Start)
	if f.OnError != nil {
		walk(f.OnError)
	}
	for _, n := range f.Nodes {
		if !reach[n] {
			c.errs.Warn(n.Pos, "unreachable", "route to it or delete it", "node %s is unreachable from start", n.Name)
		}
	}
	// reverse reachability from end nodes: one walk over reversed edges, linear in the graph (a
	// fixpoint over the node list was quadratic on long chains)
	preds := make(map[*Node][]*Node, len(f.Nodes))
	toEnd := make(map[*Node]bool, len(f.Nodes))
	var queue []*Node
	for _, n := range f.Nodes {
		for _, e := range n.Edges {
			preds[e.To] = append(preds[e.To], n)
		}
		if n.Kind == "end" {
			toEnd[n] = true
			queue = append(queue, n)
		}
	}
	for len(queue) > 0 {
		n := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		for _, p := range preds[n] {
			if !toEnd[p] {
				toEnd[p] = true
				queue = append(queue, p)
			}
		}
	}
	for _, n := range f.Nodes {
		if reach[n] && !toEnd[n] {
			c.errs.Warn(n.Pos, "no-end", "give it a route that reaches an end node", "node %s has no path to an end node", n.Name)
		}
	}
}

// compileIncludes reads action (and auth) definitions from shared files.
func (c *Compiler) compileIncludes(n *yaml.Node) {
	if n.Kind != yaml.SequenceNode {
		c.errs.Add(PosOf(c.file, n), "include: expects a list of files")
		return
	}
	for _, it := range n.Content {
		p, ok := c.String(it)
		if !ok {
			continue
		}
		path := includePath(c.file, p)
		data, rerr := ReadUserFile(path)
		if rerr != nil {
			c.errs.Add(PosOf(c.file, it), "include %s: %s", p, rerr.Msg)
			continue
		}
		root, errs := ParseYAML(path, data)
		c.errs = append(c.errs, errs...)
		if root == nil {
			continue
		}
		saved := c.file
		c.file = path
		m := c.mapping(root, "actions", "auth")
		if m != nil {
			if a := m["auth"]; a != nil {
				c.compileAuth(a)
			}
			if a := m["actions"]; a != nil {
				c.compileActions(a)
			}
		}
		c.file = saved
	}
}

// ---- channels and auth: each type registers a compiler ----

// Notification is what a notify node delivers, and what the result keeps of it.
type Notification struct {
	Channel  string         `json:"channel"`
	Type     string         `json:"type"`
	Node     string         `json:"node"`
	Subject  string         `json:"subject,omitempty"`
	Body     string         `json:"body,omitempty"`
	Payload  any            `json:"payload,omitempty"`
	Time     time.Time      `json:"time"`
	Flow     string         `json:"flow"`
	Instance string         `json:"instance"`
	Outputs  map[string]any `json:"outputs,omitempty"`
	Error    string         `json:"error,omitempty"` // why delivery failed, when it did
}

// Channel delivers notifications. Channel types register a compiler with RegisterChannel; their
// settings may be templates, rendered with the instance that delivers.
type Channel interface {
	Deliver(ctx context.Context, in *Instance, n *Notification) error
}

// ChannelRef is a compiled channel entry of a flow.
type ChannelRef struct {
	Name    string
	Type    string
	Pos     Pos
	Channel Channel
}

// ChannelType compiles one channel entry's settings (every key but type).
type ChannelType struct {
	Name    string
	Keys    []string
	Compile func(c *Compiler, name string, keys map[string]*yaml.Node, at *yaml.Node) Channel
}

var channelTypes = map[string]*ChannelType{}

// RegisterChannel adds a channel type.
func RegisterChannel(t *ChannelType) { channelTypes[t.Name] = t }

func (c *Compiler) compileChannels(n *yaml.Node) {
	c.typedEntries(n, "channel", sortedKeys(channelTypes),
		func(typ string) []string {
			if t := channelTypes[typ]; t != nil {
				return t.Keys
			}
			return nil
		},
		func(k, v *yaml.Node, typ string, m map[string]*yaml.Node) {
			ct := channelTypes[typ]
			ref := &ChannelRef{Name: k.Value, Type: ct.Name, Pos: PosOf(c.file, k)}
			ref.Channel = ct.Compile(c, k.Value, m, v)
			c.flow.Channels[k.Value] = ref
		})
}

// typedEntries compiles a section of named entries that each carry a type: (channels, auth):
// it checks names, finds the type, checks keys against that type's, and hands the rest on.
func (c *Compiler) typedEntries(n *yaml.Node, what string, types []string, keysOf func(string) []string,
	compile func(k, v *yaml.Node, typ string, m map[string]*yaml.Node)) {
	for _, p := range c.Pairs(n) {
		k, v := p[0], p[1]
		if !c.CheckName(k, what) {
			continue
		}
		var typ *yaml.Node
		if v.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(v.Content); i += 2 {
				if v.Content[i].Value == "type" {
					typ = v.Content[i+1]
				}
			}
		}
		if typ == nil {
			c.errs.Add(PosOf(c.file, v), "%s %s needs a type (one of %s)", what, k.Value, joinNames(types))
			continue
		}
		keys := keysOf(typ.Value)
		if keys == nil && !slices.Contains(types, typ.Value) {
			c.errs.Add(PosOf(c.file, typ), "unknown %s type %q (one of %s)%s", what, typ.Value, joinNames(types), didYouMean(typ.Value, types))
			continue
		}
		m := c.mapping(v, append([]string{"type"}, keys...)...)
		if m == nil {
			continue
		}
		delete(m, "type")
		compile(k, v, typ.Value, m)
	}
}

// ChannelRef resolves a channel name.
func (c *Compiler) ChannelRef(n *yaml.Node) *ChannelRef {
	name, ok := c.String(n)
	if !ok {
		return nil
	}
	ch := c.flow.Channels[name]
	if c.cur != nil {
		c.cur.Channel = ch
	}
	if ch == nil {
		c.errs.Add(PosOf(c.file, n), "undefined channel %q%s", name, didYouMean(name, sortedKeys(c.flow.Channels)))
	}
	return ch
}

// Auth adds credentials to a request. refresh asks for new credentials after a 401 (only
// token-based auth can do anything about it; it returns false when it cannot).
type Auth interface {
	Apply(ctx context.Context, in *Instance, req *Request, refresh bool) (bool, error)
}

// AuthType compiles one auth entry.
type AuthType struct {
	Name    string
	Keys    []string
	Compile func(c *Compiler, name string, keys map[string]*yaml.Node, at *yaml.Node) Auth
}

var authTypes = map[string]*AuthType{}

// RegisterAuth adds an auth type.
func RegisterAuth(t *AuthType) { authTypes[t.Name] = t }

func (c *Compiler) compileAuth(n *yaml.Node) {
	c.typedEntries(n, "auth", sortedKeys(authTypes),
		func(typ string) []string {
			if t := authTypes[typ]; t != nil {
				return t.Keys
			}
			return nil
		},
		func(k, v *yaml.Node, typ string, m map[string]*yaml.Node) {
			if _, dup := c.flow.Auth[k.Value]; dup {
				c.errs.Add(PosOf(c.file, k), "auth %s is defined twice", k.Value)
				return
			}
			c.flow.Auth[k.Value] = authTypes[typ].Compile(c, k.Value, m, v)
		})
}
