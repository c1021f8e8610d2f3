package engine

import (
	"reflect"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
)

// notSetEqName is the hidden function that lets == and != compare a NOT_SET variable as nil.
// expr compiles `i == 3` on two ints (or two strings) to a specialised opcode that asserts its
// operands' Go types, so a NOT_SET (nil) integer or string failed with Go's "interface
// conversion" message, while a NOT_SET number compared fine. SPEC §1: ==/!= compare NOT_SET as
// nil; only arithmetic and ordering fail.
const notSetEqName = "$notset_eq"

func notSetEqFunction() expr.Option {
	return expr.Function(notSetEqName, func(p ...any) (any, error) { return p[0], nil }, new(func(any) any))
}

// notSetEqPatch wraps a declared variable that is an operand of == or != in notSetEqName, so
// that expr falls back to its generic, nil-safe equality. It runs after type checking of the
// original tree, so mismatched types (`i == "a"`) are still compile errors.
type notSetEqPatch struct{ vars map[string]Type }

func (p notSetEqPatch) Visit(node *ast.Node) {
	b, ok := (*node).(*ast.BinaryNode)
	if !ok || (b.Operator != "==" && b.Operator != "!=") {
		return
	}
	if b.Left.Type() == nil || b.Right.Type() == nil {
		return
	}
	l, r := b.Left.Type().Kind(), b.Right.Type().Kind()
	if l != r || (l != reflect.Int && l != reflect.String) {
		return // other kinds already compare through the generic, nil-safe path
	}
	for _, side := range []*ast.Node{&b.Left, &b.Right} {
		id, ok := (*side).(*ast.IdentifierNode)
		if !ok {
			continue
		}
		if _, declared := p.vars[id.Value]; !declared {
			continue
		}
		call := &ast.CallNode{Callee: &ast.IdentifierNode{Value: notSetEqName}, Arguments: []ast.Node{id}}
		ast.Patch(side, call)
	}
}
