// Package stamp is an example node kind, written the way a newcomer adds one: this one file,
// nothing else edited. It is not one of the built-ins; a registry takes it with
// reg.AddKind(stamp.Kind()), and from then on validate, schema, graph, coverage and run's text
// output know it (cmd/archflow/cli's TestANewNodeKindInOneFile shows each).
//
//	checkpoint:
//	  stamp: reached_at        # a datetime variable, set to the instance clock's now
//	  next: call
package stamp

import (
	"context"

	"gopkg.in/yaml.v3"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/trace"
)

// Kind declares the stamp kind: its keys, its docs, how it is drawn and how its event reads.
func Kind() *engine.Kind {
	return &engine.Kind{
		Spec: engine.Spec{Name: "stamp", Doc: "sets a datetime variable to the instance clock's time. Routes: next.",
			Fields:  []engine.Field{{Name: "next", Doc: "The node after this one.", Schema: engine.Ref("nodeRef"), Required: true}},
			Example: "checkpoint:\n  stamp: reached_at\n  next: call",
		},
		Value:    engine.Field{Doc: "The datetime variable to set.", Schema: engine.Ref("name")},
		Shape:    engine.ShapeBox,
		Describe: describe,
		Compile:  compile,
	}
}

type step struct {
	v    *engine.Variable
	next *engine.Edge
}

func compile(c *engine.Compiler, n *engine.Node, value *yaml.Node, keys map[string]*yaml.Node) engine.Step {
	s := &step{v: c.VarRef(value), next: c.Edge(n, "next", keys["next"])}
	if s.v != nil && s.v.Type != engine.TDatetime {
		c.Errorf(value, "stamp sets a datetime variable; %s is a %s", s.v.Name, s.v.Type)
	}
	return s
}

func (s *step) Exec(ctx context.Context, in *engine.Instance) (*engine.Edge, error) {
	now := in.Clock().Now()
	if err := in.Set(s.v, now); err != nil {
		return nil, err
	}
	if in.Tracing() {
		in.Emit(&trace.Event{Node: s.next.From.Name, Kind: "stamp", Event: "stamp", Set: trace.Vars{{Name: s.v.Name, Value: now}}})
	}
	return s.next, nil
}

func describe(e *trace.Event) (trace.Line, bool) {
	if e.Event != "stamp" {
		return trace.Line{}, false
	}
	return trace.Line{Text: "stamped " + trace.FormatVars(e.Set.Map())}, true
}
