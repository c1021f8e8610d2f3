package engine

import (
	"slices"

	"github.com/archflow/archflow/engine/yamldoc"
)

// checkSecretPlace enforces SPEC §11: secret() may appear only where its value goes on the wire,
// to the origin that needs it: an action's request, an auth entry, a channel's configuration
// (all compiled outside nodes). In a node (an assignment, a decision, a notification's text) its
// value would land in variables, traces or messages, where only redaction stood between it and a
// reader.
func (c *Compiler) checkSecretPlace(rc *refCollector, pos yamldoc.Pos) {
	if c.cur == nil || c.wire || !slices.Contains(rc.names, "secret") {
		return
	}
	c.Errs.Add(pos, "secret() may appear only where its value goes on the wire: an action's request, an auth entry or a channel's configuration (node %s uses it); use env() for values that are not secret", c.cur.Name)
}

// OnTheWire compiles what f compiles as part of a request (a data_action node's own
// idempotency_key), where secret() is allowed.
func (c *Compiler) OnTheWire(f func()) {
	saved := c.wire
	c.wire = true
	defer func() { c.wire = saved }()
	f()
}
