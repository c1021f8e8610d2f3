package engine

import (
	"maps"
	"sync"
)

// baseEnv is what every instance's expression environment starts with: the variables'
// defaults and the response scope before any data action. It is built once per flow and
// cloned per instance (a map clone copies its table, it does not insert key by key); only the
// values of one instance (inputs, instance, retries, the functions bound to it) are set after.
type baseEnv struct {
	once sync.Once
	env  map[string]any
}

func (f *Flow) newEnv() map[string]any {
	f.base.once.Do(func() {
		env := make(map[string]any, len(f.Vars)+16)
		for _, v := range f.Vars {
			env[v.Name] = v.Default // nil (NOT_SET) when there is no default
		}
		env["status"] = 0
		env["body"] = nil
		env["text"] = ""
		env["elapsed"] = 0.0
		env["error"] = nil
		// set per instance, here so that the clone has room for them
		for _, k := range []string{"retries", "headers", "instance", "now", "uuid", "env", "secret", "retry_after"} {
			env[k] = nil
		}
		f.base.env = env
	})
	return maps.Clone(f.base.env)
}
