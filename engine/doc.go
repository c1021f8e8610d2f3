// Package engine owns archflow's flow model and its compile → run core: a Registry of the
// components a flow may use (node kinds, channel and auth types, each declaring itself), the
// Compiler that resolves every reference and compiles every expression once, and the Instance
// that runs a compiled Flow with its own variables and the seams it is given (Options: clock,
// transport, channels, stderr, env, tracer, ids). Reading YAML, HTTP, failure classes, clocks,
// traces, lint and batches live in the sub-packages named after them.
package engine
