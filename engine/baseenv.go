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
	// spare are the environments of instances that ended (recycle), cleared: a batch runs
	// instance after instance, and a cleared map keeps its table where a clone allocates one
	// (its bytes were the largest share of a batch instance's garbage)
	spare sync.Pool
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
	if m, ok := f.base.spare.Get().(map[string]any); ok {
		maps.Copy(m, f.base.env)
		return m
	}
	return maps.Clone(f.base.env)
}

// recycleEnv takes back the environment of an instance that ended, that nothing reads any more.
func (f *Flow) recycleEnv(m map[string]any) {
	clear(m)
	f.base.spare.Put(m)
}
