package engine

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/archflow/archflow/engine/transport"
	"github.com/archflow/archflow/engine/yamldoc"
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
	Diagnostics yamldoc.ErrorList // warnings (and errors, when Load failed)
	// Registry holds the components the flow was compiled with.
	Registry *Registry
	// httpTransport is the real HTTP transport of instances run without one of their own.
	httpTransport func() transport.Transport
	scope         *scope
	exprs         []*Expr // every expression, for lint rules
	base          baseEnv // what every instance's environment starts with
	aside         asideOnce
	hints         routeHints
	results       sync.Pool // results handed back (Recycle) for instances run here to reuse
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
	Pos        yamldoc.Pos
}

// Node is a compiled node. Step runs it and answers what the rest of archflow asks of it (the
// traits in registry.go); Edges are its outgoing routes.
type Node struct {
	Name  string
	Kind  *Kind
	Pos   yamldoc.Pos
	Index int
	Step  Step
	Edges []*Edge
	// What the node's compiler referenced, recorded by the Compiler for lint rules.
	Reads []*Expr
	Sets  []*Variable
}

// Edge is a route between nodes; Label says which (next, on_failure, case 2, default ...).
type Edge struct {
	From  *Node
	To    *Node
	Label string
	Pos   yamldoc.Pos
	Index int
}

// Step is what a node kind compiles to. Exec runs the node for one instance and returns the
// edge taken, or nil when the instance ends.
type Step interface {
	Exec(ctx context.Context, in *Instance) (*Edge, error)
}

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
	m := c.Mapping(root, topKeys...)
	if m == nil {
		return f
	}
	if n := m["flow"]; n == nil {
		c.Errs.Add(yamldoc.PosOf(c.File, root), "missing flow: name")
	} else if s, ok := c.String(n); ok {
		if !isFlowName(s) {
			c.Errs.Add(yamldoc.PosOf(c.File, n), "flow name %q may hold only letters, digits, - and _", s)
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
		c.Errs.Add(yamldoc.PosOf(c.File, root), "missing nodes:")
	} else {
		nodePairs = c.Pairs(m["nodes"])
		for _, p := range nodePairs {
			if p[1].Kind == yaml.MappingNode {
				if k := c.kindOf(p[1]); k != nil && k.SelfRetryKey != "" && c.has(p[1], k.SelfRetryKey) {
					retries[p[0].Value] = true
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
		node := &Node{Name: p[0].Value, Pos: yamldoc.PosOf(c.File, p[0]), Index: i}
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
		c.Errs.Add(yamldoc.PosOf(c.File, root), "missing start: (the first node)")
	} else {
		f.Start = c.nodeRef(n, "start")
	}
	if n := m["on_error"]; n != nil {
		f.OnError = c.nodeRef(n, "on_error")
	}
	for i, e := range f.Edges {
		e.Index = i
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
			c.Errs.Add(yamldoc.PosOf(c.File, k), "%s", reservedMessage(k.Value))
			continue
		}
		vm := c.Mapping(v, "type", "input", "required", "default", "output", "description")
		if vm == nil {
			continue
		}
		decl := &Variable{Name: k.Value, Pos: yamldoc.PosOf(c.File, k)}
		if t := vm["type"]; t == nil {
			c.Errs.Add(yamldoc.PosOf(c.File, v), "variable %s needs a type (one of %v)", k.Value, Types)
		} else if !Type(t.Value).valid() {
			c.Errs.Add(yamldoc.PosOf(c.File, t), "unknown type %q%s", t.Value, yamldoc.DidYouMean(t.Value, typeStrings()))
		} else {
			decl.Type = Type(t.Value)
		}
		decl.Input = c.Bool(vm["input"])
		decl.Required = c.Bool(vm["required"])
		decl.Output = c.Bool(vm["output"])
		if decl.Required && !decl.Input {
			c.Errs.Add(yamldoc.PosOf(c.File, vm["required"]), "required applies to inputs: add input: true")
		}
		if d := vm["default"]; d != nil && d.Tag != "!!null" && decl.Type != "" {
			var raw any
			if err := d.Decode(&raw); err != nil {
				c.Errs.Add(yamldoc.PosOf(c.File, d), "%v", err)
			} else if val, err := decl.Type.Convert(normalizeYAML(raw)); err != nil {
				c.Errs.Add(yamldoc.PosOf(c.File, d), "default of %s: %v", k.Value, err)
			} else if what, bad := nonFinite(val); bad {
				c.Errs.Add(yamldoc.PosOf(c.File, d), "default of %s: %s is not a number that can be stored", k.Value, what)
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

// kindOf finds the node kind a node mapping names (the first kind key), or nil.
func (c *Compiler) kindOf(v *yaml.Node) *Kind {
	for i := 0; i+1 < len(v.Content); i += 2 {
		if k := c.reg.kinds[v.Content[i].Value]; k != nil {
			return k
		}
	}
	return nil
}

// has reports whether mapping v has key.
func (c *Compiler) has(v *yaml.Node, key string) bool {
	for i := 0; i+1 < len(v.Content); i += 2 {
		if v.Content[i].Value == key {
			return true
		}
	}
	return false
}

func (c *Compiler) compileNode(node *Node, key, v *yaml.Node) {
	names := c.reg.KindNames()
	if v.Kind != yaml.MappingNode {
		c.Errs.Add(yamldoc.PosOf(c.File, v), "node %s must be a mapping with one kind key (%s)", node.Name, joinNames(names))
		return
	}
	var kindKeys []*yaml.Node
	for i := 0; i+1 < len(v.Content); i += 2 {
		if c.reg.kinds[v.Content[i].Value] != nil {
			kindKeys = append(kindKeys, v.Content[i])
		}
	}
	switch len(kindKeys) {
	case 0:
		c.Errs.Add(yamldoc.PosOf(c.File, key), "node %s has no kind: give exactly one of %s", node.Name, joinNames(names))
		return
	case 1:
	default:
		c.Errs.Add(yamldoc.PosOf(c.File, kindKeys[1]), "node %s has two kinds (%s and %s): a node has exactly one", node.Name, kindKeys[0].Value, kindKeys[1].Value)
		return
	}
	k := c.reg.kinds[kindKeys[0].Value]
	node.Kind = k
	m := c.Mapping(v, allowedKeys(k)...)
	if m == nil {
		return
	}
	c.requireFields(v, "node "+node.Name, k.Fields, m)
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
		c.Errs.Add(yamldoc.PosOf(c.File, n), "%s: undefined node %q%s", what, name, yamldoc.DidYouMean(name, sortedKeys(c.flow.nodeIndex)))
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
	e := &Edge{From: from, To: to, Label: label, Pos: yamldoc.PosOf(c.File, target)}
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
		c.Errs.Add(yamldoc.PosOf(c.File, n), "cannot assign %s to %s (type %s)", staticTypeName(t.Type()), name, v.Type)
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
		c.Errs.Add(yamldoc.PosOf(c.File, n), "unknown variable %q%s", n.Value, yamldoc.DidYouMean(n.Value, names))
	}
	return v
}

// compileIncludes reads action (and auth) definitions from shared files.
func (c *Compiler) compileIncludes(n *yaml.Node) {
	if n.Kind != yaml.SequenceNode {
		c.Errs.Add(yamldoc.PosOf(c.File, n), "include: expects a list of files")
		return
	}
	for _, it := range n.Content {
		p, ok := c.String(it)
		if !ok {
			continue
		}
		path := includePath(c.File, p)
		data, rerr := yamldoc.ReadUserFile(path)
		if rerr != nil {
			c.Errs.Add(yamldoc.PosOf(c.File, it), "include %s: %s", p, rerr.Msg)
			continue
		}
		root, errs := yamldoc.ParseYAML(path, data)
		c.Errs = append(c.Errs, errs...)
		if root == nil {
			continue
		}
		saved := c.File
		c.File = path
		m := c.Mapping(root, "actions", "auth")
		if m != nil {
			if a := m["auth"]; a != nil {
				c.compileAuth(a)
			}
			if a := m["actions"]; a != nil {
				c.compileActions(a)
			}
		}
		c.File = saved
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
	Pos     yamldoc.Pos
	Channel Channel
}

func (c *Compiler) compileChannels(n *yaml.Node) {
	types := c.reg.channels
	c.typedEntries(n, "channel", sortedKeys(types),
		func(typ string) *Spec {
			if t := types[typ]; t != nil {
				return &t.Spec
			}
			return nil
		},
		func(k, v *yaml.Node, typ string, m map[string]*yaml.Node) {
			ct := types[typ]
			ref := &ChannelRef{Name: k.Value, Type: ct.Name, Pos: yamldoc.PosOf(c.File, k)}
			ref.Channel = ct.Compile(c, k.Value, m, v)
			c.flow.Channels[k.Value] = ref
		})
}

// typedEntries compiles a section of named entries that each carry a type: (channels, auth):
// it checks names, finds the type, checks keys against that type's, and hands the rest on.
func (c *Compiler) typedEntries(n *yaml.Node, what string, types []string, specOf func(string) *Spec,
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
			c.Errs.Add(yamldoc.PosOf(c.File, v), "%s %s needs a type (one of %s)", what, k.Value, joinNames(types))
			continue
		}
		spec := specOf(typ.Value)
		if spec == nil {
			c.Errs.Add(yamldoc.PosOf(c.File, typ), "unknown %s type %q (one of %s)%s", what, typ.Value, joinNames(types), yamldoc.DidYouMean(typ.Value, types))
			continue
		}
		m := c.Mapping(v, append([]string{"type"}, spec.Keys()...)...)
		if m == nil {
			continue
		}
		delete(m, "type")
		c.requireFields(v, typ.Value+" "+what+" "+k.Value, spec.Fields, m)
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
	if ch == nil {
		c.Errs.Add(yamldoc.PosOf(c.File, n), "undefined channel %q%s", name, yamldoc.DidYouMean(name, sortedKeys(c.flow.Channels)))
	}
	return ch
}

// Auth adds credentials to a request. refresh asks for new credentials after a 401 (only
// token-based auth can do anything about it; it returns false when it cannot).
type Auth interface {
	Apply(ctx context.Context, in *Instance, req *transport.Request, refresh bool) (bool, error)
}

func (c *Compiler) compileAuth(n *yaml.Node) {
	types := c.reg.auth
	c.typedEntries(n, "auth", sortedKeys(types),
		func(typ string) *Spec {
			if t := types[typ]; t != nil {
				return &t.Spec
			}
			return nil
		},
		func(k, v *yaml.Node, typ string, m map[string]*yaml.Node) {
			if _, dup := c.flow.Auth[k.Value]; dup {
				c.Errs.Add(yamldoc.PosOf(c.File, k), "auth %s is defined twice", k.Value)
				return
			}
			c.flow.Auth[k.Value] = types[typ].Compile(c, k.Value, m, v)
		})
}
