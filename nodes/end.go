package nodes

import (
	"context"

	"github.com/archflow/archflow/engine"
	"gopkg.in/yaml.v3"
)

// end ends the instance with an outcome.
type end struct{ outcome string }

// End declares the end kind.
func End() *engine.Kind {
	return &engine.Kind{
		Spec: engine.Spec{Name: "end", Doc: "ends the instance with an outcome.",
			Example: "done: {end: success}"},
		Value: engine.Field{Doc: "The outcome: success, failure, escalated or any name but interrupted, error and running. `run` exits 0 only when every instance ends success.",
			Schema: engine.SchemaJSON(`{"anyOf": [{"enum": ["success", "failure", "escalated"]}, {"type": "string", "minLength": 1}]}`)},
		Shape:   engine.ShapeTerminal,
		Compile: compileEnd,
	}
}

// EndsInstance: an end node ends the instance.
func (e *end) EndsInstance() bool { return true }

func compileEnd(c *engine.Compiler, n *engine.Node, spec *yaml.Node, keys map[string]*yaml.Node) engine.Step {
	s, ok := c.String(spec)
	if !ok || s == "" {
		c.Errorf(spec, "end needs an outcome (success, failure, escalated or any name)")
	}
	return &end{outcome: s}
}

func (e *end) Exec(ctx context.Context, in *engine.Instance) (*engine.Edge, error) {
	in.SetOutcome(e.outcome)
	return nil, nil
}
