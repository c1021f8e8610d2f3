package engine_test

import (
	"testing"

	"github.com/expr-lang/expr"

	"github.com/archflow/archflow/engine"
)

// A string quoted for an expression evaluates to itself.
func TestQuoteExprEvaluatesToItself(t *testing.T) {
	for _, s := range []string{"", "plain", `quote " and \ back`, "line\nbreak\ttab", "bell\a\x00", "é 日本", "{{ x }}"} {
		out, err := expr.Eval(engine.QuoteExpr(s), nil)
		if err != nil || out != s {
			t.Errorf("%q quoted as %s evaluates to %q, %v", s, engine.QuoteExpr(s), out, err)
		}
	}
}
