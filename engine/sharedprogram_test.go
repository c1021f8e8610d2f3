package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/archflow/archflow/nodes"
)

// An expression written in several nodes is compiled once and its nodes run one program; each
// node still reports its own failure at its own position.
func TestSameExpressionOneProgram(t *testing.T) {
	src := `flow: shared
variables:
  s: {type: string, default: "1"}
start: a
nodes:
  a:
    decision:
      - when: int(s) > 0
        next: set
    default: done
  set:
    assign: {s: "x"}
    next: b
  b:
    decision:
      - when: int(s) > 0
        next: done
    default: done
  done: {end: success}
`
	f, err := nodes.Builtins().Load("flow.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	a, b := f.Node("a").Reads[0], f.Node("b").Reads[0]
	if a.Program() != b.Program() {
		t.Errorf("int(s) > 0 in a and b compiled twice")
	}
	if a.Pos == b.Pos {
		t.Fatalf("a and b share a position: %v", a.Pos)
	}
	r := f.Run(context.Background(), nil, nil)
	if r.Outcome != "error" || r.Error == nil || r.Error.Node != "b" || !strings.Contains(r.Error.Message, b.Pos.String()) {
		t.Errorf("outcome %s, error %+v; want an error at b, %s", r.Outcome, r.Error, b.Pos)
	}
}
