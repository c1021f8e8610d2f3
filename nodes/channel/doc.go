// Package channel holds the notify channel types (log, file, email, webhook), one file each.
// Each registers itself with the engine and compiles its own settings.
package channel
