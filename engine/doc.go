// Package engine owns archflow's load → compile → run pipeline: reading flow files with
// positions, compiling every reference and expression once, and running instances with their own
// variables, clock and transport. Node kinds (package nodes), channel and auth types register
// themselves here; Clock, Transport and Channel are the seams that tests and replay replace.
package engine
