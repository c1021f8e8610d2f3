package engine

import (
	"github.com/archflow/archflow/engine/failure"
	"github.com/archflow/archflow/engine/trace"
)

// EndWithError ends the instance with outcome error and info as the result's error, without
// going to on_error: for failures the contract ends on, such as an undelivered notification
// with no on_failure (which on_error would re-enter). The node returns a nil edge after it.
func (in *Instance) EndWithError(info *failure.ErrorInfo) {
	cp := *info
	cp.Message = in.redactor.String(cp.Message)
	if cp.Node == "" && in.node != nil {
		cp.Node = in.node.Name
	}
	if in.Tracing() {
		ev := &trace.Event{Node: cp.Node, Event: "error", Error: &cp}
		if in.node != nil {
			ev.Kind = in.node.Kind.Name
		}
		in.Emit(ev)
	}
	in.outcome = OutcomeError
	in.res.Error = &cp
}
