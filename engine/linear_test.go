package engine_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/archflow/archflow/nodes"
)

// chainFlow is a chain of n nodes, every third a decision: the shape that made the graph checks
// quadratic (the reverse reachability fixpoint took one pass per node).
func chainFlow(n int) []byte {
	var b strings.Builder
	b.WriteString("flow: big\nvariables:\n  x: {type: integer, default: 0}\nstart: n0\nnodes:\n")
	for i := range n {
		next := fmt.Sprintf("n%d", i+1)
		if i+1 == n {
			next = "done"
		}
		if i%3 == 2 {
			fmt.Fprintf(&b, "  n%d:\n    decision:\n      - when: x > %d\n        next: %s\n    default: %s\n", i, i, next, next)
		} else {
			fmt.Fprintf(&b, "  n%d:\n    assign: {x: \"{{ x + 1 }}\"}\n    next: %s\n", i, next)
		}
	}
	b.WriteString("  done: {end: success}\n")
	return []byte(b.String())
}

// SPEC §11: validate is about linear in the number of nodes (10,000 in about a second). 16,000
// nodes load in about a second here; the quadratic graph check took half a minute. The bound is
// loose for a loaded machine; the race detector's slowdown makes timing meaningless.
func TestLoadIsLinearInNodes(t *testing.T) {
	t.Parallel()
	if testing.Short() || raceEnabled {
		t.Skip("times a load of 16,000 nodes")
	}
	src := chainFlow(16000)
	start := time.Now()
	if _, err := nodes.Builtins().Load("big.yaml", src); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("16,000 nodes took %s to load", took)
	}
}
