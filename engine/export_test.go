package engine

// EvalVM is Eval on the VM, whatever the expression's shape: tests compare the two.
func (e *Expr) EvalVM(in *Instance) (any, error) { return e.evalVM(in) }

// RunsFast reports whether Eval runs e without the VM (setFast).
func (e *Expr) RunsFast() bool { return e.fast != fastNone }
