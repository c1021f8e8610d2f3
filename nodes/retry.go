package nodes

import (
	"context"

	"github.com/archflow/archflow/engine"
	"gopkg.in/yaml.v3"
)

// retryPolicy is a data_action node's retry: shorthand.
type retryPolicy struct {
	maxAttempts int
}

func compileRetry(c *engine.Compiler, n *yaml.Node) *retryPolicy {
	c.Errorf(n, "retry: is not supported yet")
	return &retryPolicy{maxAttempts: 1}
}

func (p *retryPolicy) run(ctx context.Context, in *engine.Instance, node string, try func(n int) (attempt, error)) (attempt, error) {
	return try(1)
}
