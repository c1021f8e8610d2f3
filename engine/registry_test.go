package engine_test

import (
	"strings"
	"testing"

	"github.com/archflow/archflow/engine"
)

// A registry forgotten (nil) or empty is a clear error naming the fix, not "give exactly one of"
// with an empty list of kinds.
func TestLoadWithoutComponentsSaysWhatToPass(t *testing.T) {
	t.Parallel()
	src := []byte("flow: f\nstart: a\nnodes:\n  a: {end: success}\n")
	for name, reg := range map[string]*engine.Registry{"nil": nil, "empty": engine.NewRegistry(nil, nil, nil)} {
		_, err := reg.Load("f.yaml", src)
		if err == nil || !strings.Contains(err.Error(), "f.yaml: error: no node kinds to compile with: pass a registry (nodes.Builtins() lists archflow's own)") {
			t.Errorf("%s registry: %v", name, err)
		}
	}
}
