package nodes

import (
	"context"

	"github.com/archflow/archflow/engine"
	"gopkg.in/yaml.v3"
)

// end ends the instance with an outcome.
type end struct{ outcome string }

func init() {
	engine.RegisterKind(&engine.Kind{Name: "end", Compile: compileEnd})
}

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
