package engine

import (
	"fmt"
	"math"

	"github.com/archflow/archflow/engine/trace"
)

// nonFinite finds a NaN or ±Inf in v (in lists and maps too) and names it. Such a value is never
// stored in a variable (SPEC §11 Numbers): JSON cannot hold it, so a result, a dead letter or a
// trace line carrying it could not be written, and arithmetic on it only spreads it.
func nonFinite(v any) (string, bool) {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return trace.FormatFloat(x), true
		}
	case float32:
		return nonFinite(float64(x))
	case []any:
		for _, e := range x {
			if s, ok := nonFinite(e); ok {
				return s, true
			}
		}
	case map[string]any:
		for _, e := range x {
			if s, ok := nonFinite(e); ok {
				return s, true
			}
		}
	}
	return "", false
}

// finiteError is the error of storing a non-finite value in the named variable.
func finiteError(name, what string) error {
	return fmt.Errorf("%s: the value is %s (a division by zero?); NaN and ±Inf are never stored in a variable", name, what)
}
