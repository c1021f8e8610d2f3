package engine

import (
	"maps"
	"math/bits"
	"sync"
)

// baseEnv is what every instance's expression environment starts with: the variables'
// defaults and the response scope before any data action, of the scope names the flow's
// expressions read. It is built once per flow and
// cloned per instance (a map clone copies its table, it does not insert key by key); only the
// values of one instance (inputs, instance, retries, the functions bound to it) are set after.
type baseEnv struct {
	once sync.Once
	env  map[string]any
}

func (f *Flow) newEnv() map[string]any {
	f.base.once.Do(func() {
		// sized to what it holds, and the names bound on first use that the flow may read: a map
		// of up to 8 entries is one group, cloned in one piece, and none grows
		n := len(f.Vars)
		if f.scope != nil {
			n += bits.OnesCount8(f.scope.lazy)
		}
		for _, k := range scopeNameList {
			if f.ReadsScope(k) {
				n++
			}
		}
		env := make(map[string]any, n)
		for _, v := range f.Vars {
			env[v.Name] = v.Default // nil (NOT_SET) when there is no default
		}
		// the scope names some expression reads, as they are before any data action; retries and
		// headers are set per instance, the names bound on first use when first read
		zero := map[string]any{"status": 0, "headers": nil, "body": nil, "text": "", "elapsed": 0.0, "error": nil, "retries": nil}
		for _, k := range scopeNameList {
			if f.ReadsScope(k) {
				env[k] = zero[k]
			}
		}
		f.base.env = env
	})
	return maps.Clone(f.base.env)
}

// ReadsScope reports whether some expression of the flow reads the scope name (status, headers,
// body, text, elapsed, error, retries): a step need not make what nothing reads. Any other name
// is reported read.
func (f *Flow) ReadsScope(name string) bool {
	b := scopeBit(name)
	return b == 0 || f.scope == nil || f.scope.reads&b != 0
}
