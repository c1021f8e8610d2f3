package engine

import (
	"fmt"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
)

// nilMemberHint explains "cannot fetch x from <nil>": the member access at the failing location,
// written with ?. so that a missing value gives nil (NOT_SET) instead of an error. The usual case
// is body.x on a response whose body is empty or not JSON.
func (e *Expr) nilMemberHint(fe *file.Error, msg string) string {
	if fe == nil || !strings.HasPrefix(msg, "cannot fetch ") || !strings.HasSuffix(msg, "from <nil>") {
		return ""
	}
	var found *ast.MemberNode
	root := e.prog.Node()
	ast.Walk(&root, visitorFunc(func(node *ast.Node) {
		if m, ok := (*node).(*ast.MemberNode); ok && found == nil && m.Location() == fe.Location {
			found = m
		}
	}))
	if found == nil {
		return ""
	}
	safe := *found
	safe.Optional = true
	what := "the value is nil"
	if id, ok := found.Node.(*ast.IdentifierNode); ok {
		what = id.Value + " is nil"
		if id.Value == "body" {
			what = "body is nil (the response is empty or not JSON)"
		}
	}
	return fmt.Sprintf(": %s: use %s", what, safe.String())
}
