package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"gopkg.in/yaml.v3"
)

// LoadFile reads and compiles a flow file. Every error of the file is returned together, sorted,
// as an ErrorList; warnings (lint) are kept on the Flow.
func LoadFile(path string) (*Flow, error) {
	data, rerr := ReadUserFile(path)
	if rerr != nil {
		return nil, ErrorList{rerr}
	}
	return Load(path, data)
}

func readError(err error) string {
	if os.IsNotExist(err) {
		return "no such file"
	}
	return err.Error()
}

// Load compiles flow source; file names the source in errors and resolves include: paths.
func Load(file string, data []byte) (*Flow, error) {
	root, errs := ParseYAML(file, data)
	if root == nil {
		return nil, errs.Sort()
	}
	c := newCompiler(file)
	c.errs = append(c.errs, errs...)
	f := c.compileFlow(root)
	f.Diagnostics = c.errs.Sort()
	if err := f.Diagnostics.Err(); err != nil {
		return f, err
	}
	return f, nil
}

// ParseYAML parses one YAML document and returns its top mapping node.
func ParseYAML(file string, data []byte) (*yaml.Node, ErrorList) {
	doc, errs := DecodeYAML(file, data)
	if doc == nil {
		return nil, errs
	}
	if len(doc.Content) == 0 {
		return nil, ErrorList{{Pos: Pos{File: file, Line: 1, Col: 1}, Severity: SevError, Msg: "empty file"}}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, ErrorList{{Pos: PosOf(file, root), Severity: SevError, Msg: "expected a mapping at the top of the file"}}
	}
	return root, nil
}

var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// YAMLError gives a YAML syntax error the file:line:col form.
func YAMLError(file string, err error) *Error { return yamlError(file, err) }

func yamlError(file string, err error) *Error {
	msg := err.Error()
	line := 1
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		fmt.Sscan(m[1], &line)
		msg = m[2]
	}
	return &Error{Pos: Pos{File: file, Line: line, Col: 1}, Severity: SevError, Msg: "invalid YAML: " + msg}
}

// Compiler turns YAML nodes into a Flow. Node kinds, channel types and auth types use its
// helpers to compile their own sections, so their errors carry positions too.
type Compiler struct {
	file  string
	errs  ErrorList
	flow  *Flow
	scope *scope
	cur   *Node // the node being compiled, to record what it references
	wire  bool  // compiling a node's part that goes on the wire: secret() is allowed there
}

func newCompiler(file string) *Compiler {
	return &Compiler{file: file, flow: &Flow{File: file}}
}

// File is the file being compiled.
func (c *Compiler) File() string { return c.file }

// Flow is the flow being compiled.
func (c *Compiler) Flow() *Flow { return c.flow }

// Errorf records an error at n.
func (c *Compiler) Errorf(n *yaml.Node, format string, args ...any) {
	c.errs.Add(PosOf(c.file, n), format, args...)
}

// Warnf records a lint warning at n.
func (c *Compiler) Warnf(n *yaml.Node, rule, hint, format string, args ...any) {
	c.errs.Warn(PosOf(c.file, n), rule, hint, format, args...)
}

// KindName names a YAML node's kind the way error messages say it.
func KindName(n *yaml.Node) string { return kindName(n) }

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return "scalar"
	}
	return "value"
}

// Mapping checks that n is a mapping with only the allowed keys and returns key → value.
// Unknown and duplicate keys are errors that suggest the nearest allowed key.
func (c *Compiler) Mapping(n *yaml.Node, allowed ...string) map[string]*yaml.Node {
	return c.mapping(n, allowed...)
}

func (c *Compiler) mapping(n *yaml.Node, allowed ...string) map[string]*yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		c.errs.Add(PosOf(c.file, n), "expected a mapping, got a %s", kindName(n))
		return nil
	}
	out := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		ok := allowed == nil
		for _, a := range allowed {
			if a == k.Value {
				ok = true
				break
			}
		}
		if !ok {
			c.errs.Add(PosOf(c.file, k), "unknown key %q%s", k.Value, didYouMean(k.Value, allowed))
			continue
		}
		if _, dup := out[k.Value]; dup {
			c.errs.Add(PosOf(c.file, k), "duplicate key %q", k.Value)
			continue
		}
		out[k.Value] = v
	}
	return out
}

// Pairs returns the key/value nodes of a mapping in file order.
func (c *Compiler) Pairs(n *yaml.Node) [][2]*yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		c.errs.Add(PosOf(c.file, n), "expected a mapping, got a %s", kindName(n))
		return nil
	}
	var out [][2]*yaml.Node
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if seen[k.Value] {
			c.errs.Add(PosOf(c.file, k), "duplicate key %q", k.Value)
			continue
		}
		seen[k.Value] = true
		out = append(out, [2]*yaml.Node{k, n.Content[i+1]})
	}
	return out
}

var nameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
var flowNameRe = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// CheckName reports a name that does not match [A-Za-z_][A-Za-z0-9_]*.
func (c *Compiler) CheckName(n *yaml.Node, what string) bool {
	if !nameRe.MatchString(n.Value) {
		c.errs.Add(PosOf(c.file, n), "%s name %q must match [A-Za-z_][A-Za-z0-9_]*", what, n.Value)
		return false
	}
	return true
}

// String reads a plain string scalar.
func (c *Compiler) String(n *yaml.Node) (string, bool) {
	if n == nil {
		return "", false
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		c.errs.Add(PosOf(c.file, n), "expected a string, got a %s", kindName(n))
		return "", false
	}
	return n.Value, true
}

// Bool reads a boolean scalar.
func (c *Compiler) Bool(n *yaml.Node) bool {
	if n == nil {
		return false
	}
	var b bool
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
		c.errs.Add(PosOf(c.file, n), "expected true or false, got %q", n.Value)
	}
	return b
}

// Int reads an integer scalar.
func (c *Compiler) Int(n *yaml.Node) (int, bool) {
	var i int
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&i) != nil {
		c.errs.Add(PosOf(c.file, n), "expected an integer, got %q", valueOf(n))
		return 0, false
	}
	return i, true
}

// Number reads a number scalar.
func (c *Compiler) Number(n *yaml.Node) (float64, bool) {
	var f float64
	if n == nil || n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") || n.Decode(&f) != nil {
		c.errs.Add(PosOf(c.file, n), "expected a number, got %q", valueOf(n))
		return 0, false
	}
	return f, true
}

// Duration reads a literal duration: a Go duration string or a number of seconds.
func (c *Compiler) Duration(n *yaml.Node) (time.Duration, bool) {
	if n == nil || n.Kind != yaml.ScalarNode {
		c.errs.Add(PosOf(c.file, n), "expected a duration like 30s or a number of seconds")
		return 0, false
	}
	x, err := ParseDuration(n.Value)
	if err != nil {
		c.errs.Add(PosOf(c.file, n), "%v", err)
		return 0, false
	}
	return x, true
}

func valueOf(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		return kindName(n)
	}
	return n.Value
}

// includePath resolves an include: entry relative to the including file.
func includePath(from, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(from), p)
}
