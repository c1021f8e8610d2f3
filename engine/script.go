package engine

import (
	"errors"

	"github.com/archflow/archflow/engine/transport"
)

// KindScript is the TransportError kind of a scripted transport (a test case's http:, a --mock
// file) that has no response for a request. That is a problem of the script, not a failure of
// the flow: the instance ends at once with outcome error, taking neither on_failure nor on_error.
const KindScript = "script"

// IsScriptError reports whether err is a scripted transport's missing response.
func IsScriptError(err error) bool {
	if err == nil { // before te: its address escapes, a heap allocation at every call
		return false
	}
	var te *transport.TransportError
	return errors.As(err, &te) && te.Kind == KindScript
}
