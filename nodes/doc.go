// Package nodes holds archflow's node kinds, one file each. A kind declares its keys once (an
// engine.Kind: docs, schema, routes), compiles its own section of a node, and answers what lint,
// graph, coverage and the text printer ask through the engine's trait interfaces. Builtins lists
// every built-in component; channel types live in nodes/channel and auth types in nodes/auth.
package nodes
