package engine

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/archflow/archflow/engine/trace"
	"github.com/archflow/archflow/engine/yamldoc"
	"gopkg.in/yaml.v3"
)

// Schema is a JSON Schema fragment, as a component declares the value of one of its keys.
type Schema = map[string]any

// Field declares one configuration key of a component: its name, what it means, the JSON Schema
// of its value and whether it must be given. The one declaration drives decoding (allowed and
// required keys, with positioned errors), the generated JSON Schema and the reference docs.
type Field struct {
	Name     string
	Doc      string
	Schema   Schema
	Required bool
	// Missing says, when a required field is absent, what it is for ("where a failed call goes").
	Missing string
}

// Spec is what every component (node kind, channel type, auth type) declares about itself.
type Spec struct {
	// Name is the key that names the component: a node's kind key, a channel's or auth's type.
	Name string
	// Doc says what it does, in a sentence or two, for the schema and the reference.
	Doc string
	// Fields are its keys (for a node kind: the keys beside the kind key, its routes first).
	Fields []Field
	// Defs are JSON Schema definitions its fields refer to as #/$defs/<name>.
	Defs map[string]Schema
	// Constraints are further JSON Schema keywords of the whole entry (oneOf, dependentRequired).
	Constraints Schema
	// Example is a YAML snippet for the reference.
	Example string
}

// Ref is the schema of a value described by a shared definition (#/$defs/<def>): name, nodeRef,
// template, expression, condition, duration, headers.
func Ref(def string) Schema { return Schema{"$ref": "#/$defs/" + def} }

// Keys lists the field names.
func (s *Spec) Keys() []string {
	out := make([]string, len(s.Fields))
	for i, f := range s.Fields {
		out[i] = f.Name
	}
	return out
}

// Field looks a field up by name.
func (s *Spec) Field(name string) *Field {
	for i := range s.Fields {
		if s.Fields[i].Name == name {
			return &s.Fields[i]
		}
	}
	return nil
}

// Shape is how a node kind is drawn in graphs.
type Shape int

const (
	ShapeBox      Shape = iota // a plain step
	ShapeDecision              // a choice between routes (diamond)
	ShapeCall                  // a call out (box with double sides)
	ShapeWait                  // a pause (parallelogram)
	ShapeMessage               // a message sent (flag)
	ShapeTerminal              // the end of an instance (stadium)
)

// Kind is a node kind: its declaration (Spec, with Value for the kind key's own value), how it is
// drawn, how its trace events read, and its compiler. Everything else in archflow asks a compiled
// node (its Step) questions through the trait interfaces below, never compares kind names.
type Kind struct {
	Spec
	// Value declares the value under the kind key (its Name is ignored).
	Value Field
	// Shape is how graph draws it.
	Shape Shape
	// SelfRetryKey names the key whose presence makes a node retry by itself, so that
	// retries.<node> is in scope before any expression compiles; empty for kinds that do not.
	SelfRetryKey string
	// Describe says how one of its trace events reads in text output; false leaves the event
	// out (enter and end events, which the summary covers).
	Describe func(e *trace.Event) (trace.Line, bool)
	// Compile compiles a node of this kind. value is the kind key's value; keys holds the node's
	// other keys, already checked against Fields.
	Compile func(c *Compiler, n *Node, value *yaml.Node, keys map[string]*yaml.Node) Step
}

// ChannelType is a notify channel type (email, webhook, file, log).
type ChannelType struct {
	Spec
	// Compile compiles one channel entry; keys holds its settings (every key but type).
	Compile func(c *Compiler, name string, keys map[string]*yaml.Node, at *yaml.Node) Channel
}

// AuthType is an auth type (bearer, basic, api_key, oauth2_client_credentials).
type AuthType struct {
	Spec
	Compile func(c *Compiler, name string, keys map[string]*yaml.Node, at *yaml.Node) Auth
}

// Traits a compiled Step may have. Lint rules, graph, coverage and the text printer ask these.

// Ender is a node that ends the instance.
type Ender interface{ EndsInstance() bool }

// Waiter is a node that waits on the instance clock.
type Waiter interface{ WaitsOnClock() bool }

// Caller is a node that calls out: the action it sends (with the node's own overrides applied)
// and the outcomes that coverage counts for it.
type Caller interface {
	CallsAction() *Action
	Outcomes() []string
}

// SelfRetrier is a node that retries by itself (a retry: policy): retries.<node> reads it.
type SelfRetrier interface{ RetriesItself() bool }

// Notifier is a node that delivers to a channel.
type Notifier interface{ NotifiesChannel() *ChannelRef }

// Decider is a node whose routes are chosen by conditions (coverage counts them as cases).
type Decider interface{ DecidesRoute() bool }

// Is reports whether a node's step has the trait T and it holds.
func Ends(n *Node) bool        { t, ok := n.Step.(Ender); return ok && t.EndsInstance() }
func Waits(n *Node) bool       { t, ok := n.Step.(Waiter); return ok && t.WaitsOnClock() }
func Decides(n *Node) bool     { t, ok := n.Step.(Decider); return ok && t.DecidesRoute() }
func RetriesSelf(n *Node) bool { t, ok := n.Step.(SelfRetrier); return ok && t.RetriesItself() }

// CallsOut returns the action a node sends, or nil.
func CallsOut(n *Node) *Action {
	if t, ok := n.Step.(Caller); ok {
		return t.CallsAction()
	}
	return nil
}

// NotifiesOn returns the channel a node delivers to, or nil.
func NotifiesOn(n *Node) *ChannelRef {
	if t, ok := n.Step.(Notifier); ok {
		return t.NotifiesChannel()
	}
	return nil
}

// Registry holds the components a flow may use. Build one with NewRegistry (package nodes has
// Builtins, which lists archflow's own) and pass it to Load; nothing registers itself globally.
type Registry struct {
	kinds    map[string]*Kind
	channels map[string]*ChannelType
	auth     map[string]*AuthType
	order    []string // kind:, channel:, auth: names in the order they were added (schema, docs)
}

// NewRegistry returns a registry holding the given components.
func NewRegistry(kinds []*Kind, channels []*ChannelType, auth []*AuthType) *Registry {
	r := &Registry{kinds: map[string]*Kind{}, channels: map[string]*ChannelType{}, auth: map[string]*AuthType{}}
	for _, k := range kinds {
		r.AddKind(k)
	}
	for _, c := range channels {
		r.AddChannel(c)
	}
	for _, a := range auth {
		r.AddAuth(a)
	}
	return r
}

// AddKind adds (or replaces) a node kind.
func (r *Registry) AddKind(k *Kind) { r.add("kind:", k.Name); r.kinds[k.Name] = k }

// AddChannel adds (or replaces) a channel type.
func (r *Registry) AddChannel(t *ChannelType) { r.add("channel:", t.Name); r.channels[t.Name] = t }

// AddAuth adds (or replaces) an auth type.
func (r *Registry) AddAuth(t *AuthType) { r.add("auth:", t.Name); r.auth[t.Name] = t }

func (r *Registry) add(prefix, name string) {
	if !slices.Contains(r.order, prefix+name) {
		r.order = append(r.order, prefix+name)
	}
}

// inOrder lists the values of m in the order their names were added.
func inOrder[V any](r *Registry, prefix string, m map[string]V) []V {
	var out []V
	for _, o := range r.order {
		if name, ok := strings.CutPrefix(o, prefix); ok {
			out = append(out, m[name])
		}
	}
	return out
}

// Kind looks a node kind up by name.
func (r *Registry) Kind(name string) *Kind { return r.kinds[name] }

// Kinds lists the node kinds in the order they were added.
func (r *Registry) Kinds() []*Kind { return inOrder(r, "kind:", r.kinds) }

// Channels lists the channel types in the order they were added.
func (r *Registry) Channels() []*ChannelType { return inOrder(r, "channel:", r.channels) }

// AuthTypes lists the auth types in the order they were added.
func (r *Registry) AuthTypes() []*AuthType { return inOrder(r, "auth:", r.auth) }

// KindNames lists the node kinds' names, sorted.
func (r *Registry) KindNames() []string { return sortedKeys(r.kinds) }

// errNoRegistry is what Load says when it is given no components to compile with.
func errNoRegistry(file string) error {
	return yamldoc.ErrorList{{Pos: yamldoc.Pos{File: file}, Severity: yamldoc.SevError,
		Msg: "no node kinds to compile with: pass a registry (nodes.Builtins() lists archflow's own)"}}
}

// LoadFile reads and compiles a flow file. Every error of the file is returned together, sorted,
// as an ErrorList; warnings (lint) are kept on the Flow.
func (r *Registry) LoadFile(path string) (*Flow, error) {
	data, rerr := yamldoc.ReadUserFile(path)
	if rerr != nil {
		return nil, yamldoc.ErrorList{rerr}
	}
	return r.Load(path, data)
}

// Load compiles flow source; file names the source in errors and resolves include: paths.
func (r *Registry) Load(file string, data []byte) (*Flow, error) {
	if r == nil || len(r.kinds) == 0 {
		return nil, errNoRegistry(file)
	}
	root, errs := yamldoc.ParseYAML(file, data)
	if root == nil {
		return nil, errs.Sort()
	}
	c := newCompiler(file, r)
	c.Errs = append(c.Errs, errs...)
	f := c.compileFlow(root)
	f.Diagnostics = c.Errs.Sort()
	if err := f.Diagnostics.Err(); err != nil {
		return f, err
	}
	return f, nil
}

// allowedKeys lists what a node of kind k may hold: the kind key, description, and its fields.
func allowedKeys(k *Kind) []string {
	return slices.Concat([]string{k.Name, "description"}, k.Keys())
}

// requireFields reports the declared required fields that m lacks, at the entry's position.
func (c *Compiler) requireFields(at *yaml.Node, what string, fields []Field, m map[string]*yaml.Node) {
	for _, f := range fields {
		if f.Required && m[f.Name] == nil {
			msg := fmt.Sprintf("%s needs %s:", what, f.Name)
			if f.Missing != "" {
				msg += " (" + f.Missing + ")"
			}
			c.Errs.Add(yamldoc.PosOf(c.File, at), "%s", msg)
		}
	}
}

// schemaTextKey marks a fragment declared as JSON text (SchemaJSON) and not parsed yet.
const schemaTextKey = "\x00json"

// SchemaJSON is a JSON Schema fragment written as JSON text in a declaration. The text is kept
// as it is until a schema or reference is generated (ParsedSchema): building a registry, which
// every command does, parses nothing.
func SchemaJSON(text string) Schema { return Schema{schemaTextKey: text} }

// ParsedSchema is s with a fragment declared as JSON text parsed. The text is the component
// author's, not a user's: a mistake panics, and the test that keeps the generated schema up to
// date finds it.
func ParsedSchema(s Schema) Schema {
	text, ok := s[schemaTextKey].(string)
	if !ok || len(s) != 1 {
		return s
	}
	var out Schema
	if err := json.Unmarshal([]byte(text), &out); err != nil {
		panic(fmt.Sprintf("schema fragment %.40q: %v", text, err))
	}
	return out
}
