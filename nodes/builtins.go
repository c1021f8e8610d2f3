package nodes

import (
	"time"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/nodes/auth"
	"github.com/archflow/archflow/nodes/channel"
)

// Builtins returns a registry of archflow's own node kinds, channel types and auth types. Each
// call returns a new registry: add your own components to it without touching anyone else's.
func Builtins() *engine.Registry {
	return engine.NewRegistry(
		[]*engine.Kind{Assign(), DataAction(), Decision(), Wait(), Notify(), End()},
		channel.Types(),
		auth.Types(time.Now),
	)
}
