package engine

import (
	"fmt"
	"slices"

	"github.com/expr-lang/expr/builtin"
)

// ReservedNames lists the names a variable may not have: the response scope, archflow's
// functions, expr's built-in functions and its keywords. docs/flow-format.md lists them, and a
// test keeps the two in step.
func ReservedNames() []string {
	var out []string
	out = append(out, reservedNames...)
	out = append(out, scopeFuncNames...)
	out = append(out, pureFuncNames...)
	out = append(out, builtin.Names...)
	out = append(out, "true", "false", "nil", "in", "not", "and", "or", "matches", "contains", "startsWith", "endsWith", "let", "if", "else")
	slices.Sort(out)
	return slices.Compact(out)
}

// reservedMessage refuses a reserved variable name and offers names that are free.
func reservedMessage(name string) string {
	var alt []string
	for _, a := range []string{name + "_", "n_" + name, "my_" + name} {
		if !isReserved(a) && len(alt) < 2 {
			alt = append(alt, a)
		}
	}
	return fmt.Sprintf("%q is a reserved name and cannot be a variable: call it %s or %s (docs/flow-format.md lists the reserved names)", name, alt[0], alt[1])
}
