package nodes

import (
	"context"
	"fmt"
	"strconv"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/trace"
	"gopkg.in/yaml.v3"
)

// decision evaluates its cases in order; the first true one wins, else default.
type decision struct {
	cases []decisionCase
	def   *engine.Edge
}

type decisionCase struct {
	when *engine.Expr
	next *engine.Edge
	num  string // the case's number as its trace event shows it
}

// Decision declares the decision kind.
func Decision() *engine.Kind {
	return &engine.Kind{
		Spec: engine.Spec{Name: "decision", Doc: "evaluates its cases in order, the first true one wins. Routes: each case's next, default (required).",
			Fields: []engine.Field{{Name: "default", Doc: "Where the decision goes when no case is true (required).",
				Schema: engine.Ref("nodeRef"), Required: true, Missing: "where it goes when no case is true"}},
			Example: "classify:\n  decision:\n    - when: error.class == \"permanent\"\n      next: escalate\n  default: bump",
		},
		Value: engine.Field{Doc: "The cases, in order: {when, next}.",
			Schema: engine.SchemaJSON(`{"type": "array", "items": {"type": "object", "additionalProperties": false, "required": ["when", "next"], "properties": {"when": {"description": "The case's condition.", "$ref": "#/$defs/condition"}, "next": {"description": "Where the case goes.", "$ref": "#/$defs/nodeRef"}}}}`)},
		Shape:    engine.ShapeDecision,
		Describe: describeDecision,
		Compile:  compileDecision,
	}
}

// DecidesRoute: a decision's routes are chosen by its cases.
func (d *decision) DecidesRoute() bool { return true }

// describeDecision reads a decision event (also a retry policy's decision after an attempt).
func describeDecision(e *trace.Event) (trace.Line, bool) {
	if e.Event != "decision" {
		return trace.Line{}, false
	}
	return trace.Line{Text: "→ " + e.Next, Note: "(case " + e.Case + ")"}, true
}

func compileDecision(c *engine.Compiler, n *engine.Node, spec *yaml.Node, keys map[string]*yaml.Node) engine.Step {
	d := &decision{}
	if spec.Kind != yaml.SequenceNode {
		c.Errorf(spec, "decision expects a list of {when, next} cases")
	} else {
		for i, it := range spec.Content {
			m := c.Mapping(it, "when", "next")
			if m == nil {
				continue
			}
			if m["when"] == nil || m["next"] == nil {
				c.Errorf(it, "a decision case needs when: and next:")
				continue
			}
			when := c.Cond(m["when"])
			c.Track(when)
			next := c.Edge(n, fmt.Sprintf("case %d", i+1), m["next"])
			d.cases = append(d.cases, decisionCase{when: when, next: next, num: strconv.Itoa(i + 1)})
		}
	}
	d.def = c.Edge(n, "default", keys["default"])
	return d
}

func (d *decision) Exec(ctx context.Context, in *engine.Instance) (*engine.Edge, error) {
	for _, cs := range d.cases {
		ok, err := cs.when.EvalBool(in)
		if err != nil {
			return nil, err
		}
		if ok {
			if in.Tracing() {
				emitDecision(in, cs.next, cs.num)
			}
			return cs.next, nil
		}
	}
	if in.Tracing() {
		emitDecision(in, d.def, "default")
	}
	return d.def, nil
}

func emitDecision(in *engine.Instance, e *engine.Edge, num string) {
	ev := in.NewEvent()
	ev.Node, ev.Kind, ev.Event, ev.Case, ev.Next = e.From.Name, "decision", "decision", num, e.To.Name
	in.Emit(ev)
}
