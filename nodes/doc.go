// Package nodes holds archflow's node kinds, one file each. Each kind declares its keys and
// compiles its own section of a node; it registers itself with the engine when this package is
// imported. Channel types live in nodes/channel and auth types in nodes/auth.
package nodes

import (
	_ "github.com/archflow/archflow/nodes/auth"    // auth types register themselves
	_ "github.com/archflow/archflow/nodes/channel" // channel types register themselves
)
