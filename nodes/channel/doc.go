// Package channel holds the notify channel types (log, file, email, webhook), one file each.
// Each declares its settings once (an engine.ChannelType) and compiles its own entry; Types
// lists them for a registry.
package channel

import "github.com/archflow/archflow/engine"

// Types returns the built-in channel types.
func Types() []*engine.ChannelType {
	return []*engine.ChannelType{Email(), Webhook(), File(), Log()}
}
