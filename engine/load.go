package engine

import (
	"path/filepath"
	"sync"

	"github.com/archflow/archflow/engine/transport"
	"github.com/archflow/archflow/engine/yamldoc"
	"gopkg.in/yaml.v3"
)

// Compiler turns YAML nodes into a Flow. Node kinds, channel types and auth types use its
// helpers to compile their own sections, so their errors carry positions too. It reads YAML with
// the strict decoder that test files and mocks use (its Mapping, Fields, String, Int, Duration).
type Compiler struct {
	*yamldoc.Decoder
	reg   *Registry
	flow  *Flow
	scope *scope
	cur   *Node // the node being compiled, to record what it references
	wire  bool  // compiling a node's part that goes on the wire: secret() is allowed there
}

func newCompiler(file string, reg *Registry) *Compiler {
	f := &Flow{File: file, Registry: reg, httpTransport: sync.OnceValue(func() transport.Transport { return transport.NewHTTPTransport() })}
	return &Compiler{Decoder: &yamldoc.Decoder{File: file}, reg: reg, flow: f}
}

// Flow is the flow being compiled.
func (c *Compiler) Flow() *Flow { return c.flow }

// Warnf records a lint warning at n.
func (c *Compiler) Warnf(n *yaml.Node, rule, hint, format string, args ...any) {
	c.Errs.Warn(yamldoc.PosOf(c.File, n), rule, hint, format, args...)
}

// Pairs returns the key/value nodes of a mapping in file order.
func (c *Compiler) Pairs(n *yaml.Node) [][2]*yaml.Node {
	if n == nil {
		return nil
	}
	fields, _ := c.Fields(n)
	out := make([][2]*yaml.Node, len(fields))
	for i, f := range fields {
		out[i] = [2]*yaml.Node{f.Key, f.Value}
	}
	return out
}

// IsName tells a name that matches [A-Za-z_][A-Za-z0-9_]*: a variable's, a node's, an
// environment variable's, an identifier of expr. (Loops, not regexps: compiling them cost
// every validate ~20 µs.)
func IsName(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !wordByte(c) || (i == 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return s != ""
}

// isFlowName tells a flow name: [A-Za-z0-9_-]+.
func isFlowName(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !wordByte(c) && c != '-' {
			return false
		}
	}
	return s != ""
}

// wordByte tells [A-Za-z0-9_].
func wordByte(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// CheckName reports a name that does not match [A-Za-z_][A-Za-z0-9_]*.
func (c *Compiler) CheckName(n *yaml.Node, what string) bool {
	if !IsName(n.Value) {
		c.Errorf(n, "%s name %q must match [A-Za-z_][A-Za-z0-9_]*", what, n.Value)
		return false
	}
	return true
}

// Bool reads a boolean scalar; a missing one is false.
func (c *Compiler) Bool(n *yaml.Node) bool {
	if n == nil {
		return false
	}
	b, _ := c.Decoder.Bool(n)
	return b
}

// Number reads a number scalar.
func (c *Compiler) Number(n *yaml.Node) (float64, bool) {
	var f float64
	if n == nil || n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") || n.Decode(&f) != nil {
		got := yamldoc.ValueType(n)
		if n != nil && n.Kind == yaml.ScalarNode {
			got = n.Value
		}
		c.Errorf(n, "expected a number, got %q", got)
		return 0, false
	}
	return f, true
}

// includePath resolves an include: entry relative to the including file.
func includePath(from, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(from), p)
}
