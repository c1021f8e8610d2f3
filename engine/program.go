package engine

import "github.com/expr-lang/expr/vm"

// Program is the expression's compiled expr program, for measuring the engine against a bare
// expr VM running the same program (the step benchmarks).
func (e *Expr) Program() *vm.Program { return e.prog }
