package nodes

import (
	"context"
	"slices"
	"strings"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/failure"
	"github.com/archflow/archflow/engine/trace"
	"gopkg.in/yaml.v3"
)

// assign sets variables in order; later entries see earlier ones.
type assign struct {
	sets []assignment
	// byName are the variables set, sorted by name, as the assign event lists them
	byName []*engine.Variable
	next   *engine.Edge
}

type assignment struct {
	v   *engine.Variable
	val *engine.Template // a scalar: a template, or a literal number, boolean or null
	obj *engine.Value    // a mapping or list, whose strings are templates
}

// Assign declares the assign kind.
func Assign() *engine.Kind {
	return &engine.Kind{
		Spec: engine.Spec{Name: "assign", Doc: "sets variables, in order; later entries see earlier ones. Routes: next.",
			Fields:  []engine.Field{nextField("The node after this one.")},
			Example: "init:\n  assign: {retry_count: 0, request_id: \"{{ uuid() }}\"}\n  next: call",
		},
		Value: engine.Field{Doc: "Variable name to value: a template, a literal number or boolean, null (makes it NOT_SET), or a mapping or list (an object or list whose strings are templates).",
			Schema: engine.SchemaJSON(`{"type": "object", "minProperties": 1, "propertyNames": {"$ref": "#/$defs/name"}}`)},
		Shape:    engine.ShapeBox,
		Describe: describeAssign,
		Compile:  compileAssign,
	}
}

// nextField declares the mandatory next: route.
func nextField(doc string) engine.Field {
	return engine.Field{Name: "next", Doc: doc, Schema: engine.Ref("nodeRef"), Required: true}
}

func compileAssign(c *engine.Compiler, n *engine.Node, spec *yaml.Node, keys map[string]*yaml.Node) engine.Step {
	s := &assign{}
	pairs := c.Pairs(spec)
	if len(pairs) == 0 && spec.Kind == yaml.MappingNode {
		c.Errorf(spec, "assign needs at least one variable")
	}
	for _, p := range pairs {
		v := c.VarRef(p[0])
		if p[1].Kind == yaml.MappingNode || p[1].Kind == yaml.SequenceNode {
			obj := c.Value(p[1])
			c.Track(obj.Exprs()...)
			if v != nil {
				s.sets = append(s.sets, assignment{v: v, obj: obj})
			}
			continue
		}
		var t *engine.Template
		if p[1].Kind == yaml.ScalarNode && p[1].Tag != "!!str" {
			// a literal number, boolean or null: keep its YAML type
			t = c.Template(literalTemplate(p[1]))
		} else {
			t = c.Template(p[1])
		}
		if v == nil || t == nil {
			continue
		}
		c.CheckAssign(p[1], v.Name, t)
		c.Track(t.Exprs()...)
		s.sets = append(s.sets, assignment{v: v, val: t})
	}
	for _, a := range s.sets {
		s.byName = append(s.byName, a.v)
	}
	slices.SortFunc(s.byName, func(a, b *engine.Variable) int { return strings.Compare(a.Name, b.Name) })
	s.next = requireNext(c, n, keys)
	return s
}

// literalTemplate turns a non-string scalar (42, true, null) into a {{ }} template of itself.
func literalTemplate(n *yaml.Node) *yaml.Node {
	cp := *n
	v := n.Value
	if n.Tag == "!!null" {
		v = "nil"
	}
	cp.Value = "{{ " + v + " }}"
	cp.Tag = "!!str"
	return &cp
}

func (s *assign) Exec(ctx context.Context, in *engine.Instance) (*engine.Edge, error) {
	for _, a := range s.sets {
		var val any
		var err error
		if a.obj != nil {
			val, err = a.obj.Eval(in)
		} else {
			val, err = a.val.Eval(in)
		}
		if err != nil {
			return nil, err
		}
		if err := in.Set(a.v, val); err != nil {
			pos := a.val.Pos // the position is formatted only for an error: a step allocates nothing for it
			if a.obj != nil {
				pos = a.obj.Pos
			}
			return nil, &failure.ErrorInfo{Class: failure.Permanent, Kind: failure.KindRuntime, Message: pos.String() + ": " + err.Error()}
		}
	}
	if in.Tracing() {
		set := in.NewEventSet(len(s.byName))
		for _, v := range s.byName {
			set = append(set, trace.Var{Name: v.Name, Value: in.Var(v)}) // as Set converted it
		}
		ev := in.NewEvent()
		ev.Node, ev.Kind, ev.Event, ev.Set = s.next.From.Name, "assign", "assign", set
		in.Emit(ev)
	}
	return s.next, nil
}

// requireNext resolves the mandatory next: of a node (its absence is reported from the declaration).
func requireNext(c *engine.Compiler, n *engine.Node, keys map[string]*yaml.Node) *engine.Edge {
	if keys["next"] == nil {
		return nil
	}
	return c.Edge(n, "next", keys["next"])
}

func describeAssign(e *trace.Event) (trace.Line, bool) {
	if e.Event != "assign" {
		return trace.Line{}, false
	}
	return trace.Line{Text: trace.FormatVars(e.Set.Map())}, true
}
