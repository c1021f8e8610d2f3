package yamldoc

import (
	"math"
	"slices"
	"time"

	"gopkg.in/yaml.v3"
)

// Decoder reads YAML nodes strictly and collects every error with its file:line:col, so that a
// file's problems are reported together. Flows, test files and mocks are all read with it.
type Decoder struct {
	File string
	Errs ErrorList
}

// Errorf records an error at n.
func (d *Decoder) Errorf(n *yaml.Node, format string, args ...any) {
	d.Errs.Add(PosOf(d.File, n), format, args...)
}

// Pos is the position of n in the file.
func (d *Decoder) Pos(n *yaml.Node) Pos { return PosOf(d.File, n) }

// Resolve follows aliases to the node they name.
func Resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// Field is one key of a mapping, in file order.
type Field struct {
	Key   *yaml.Node
	Value *yaml.Node
}

// Mapping checks that n is a mapping whose keys are all allowed (nil allows any) and returns
// key → value. Unknown and duplicate keys are errors; an unknown key suggests the nearest one.
func (d *Decoder) Mapping(n *yaml.Node, allowed ...string) map[string]*yaml.Node {
	fields, ok := d.Fields(n)
	if !ok {
		return nil
	}
	out := make(map[string]*yaml.Node, len(fields))
	for _, f := range fields {
		if allowed != nil && !slices.Contains(allowed, f.Key.Value) {
			d.Errorf(f.Key, "unknown key %q%s", f.Key.Value, didYouMean(f.Key.Value, allowed))
			continue
		}
		out[f.Key.Value] = f.Value
	}
	return out
}

// Fields returns the pairs of a mapping in file order; duplicate keys are errors.
func (d *Decoder) Fields(n *yaml.Node) ([]Field, bool) {
	n = Resolve(n)
	if n == nil {
		return nil, false
	}
	if n.Kind != yaml.MappingNode {
		d.Errorf(n, "expected a mapping, got a %s", valueType(n))
		return nil, false
	}
	var out []Field
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], Resolve(n.Content[i+1])
		if k.Value == "<<" {
			d.Errorf(k, "merge keys (<<) are not supported here")
			continue
		}
		if seen[k.Value] {
			d.Errorf(k, "duplicate key %q", k.Value)
			continue
		}
		seen[k.Value] = true
		out = append(out, Field{Key: k, Value: v})
	}
	return out, true
}

// List checks that n is a sequence and returns its items.
func (d *Decoder) List(n *yaml.Node) ([]*yaml.Node, bool) {
	n = Resolve(n)
	if n == nil {
		return nil, false
	}
	if n.Kind != yaml.SequenceNode {
		d.Errorf(n, "expected a list, got a %s", valueType(n))
		return nil, false
	}
	out := make([]*yaml.Node, len(n.Content))
	for i, it := range n.Content {
		out[i] = Resolve(it)
	}
	return out, true
}

// String reads a scalar as a string (numbers and booleans keep their spelling).
func (d *Decoder) String(n *yaml.Node) (string, bool) {
	n = Resolve(n)
	if n == nil {
		return "", false
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.Errorf(n, "expected a string, got a %s", valueType(n))
		return "", false
	}
	return n.Value, true
}

// Strings reads a list of strings, or a single string as a list of one.
func (d *Decoder) Strings(n *yaml.Node) ([]string, bool) {
	n = Resolve(n)
	if n != nil && n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		return []string{n.Value}, true
	}
	items, ok := d.List(n)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		if s, ok := d.String(it); ok {
			out = append(out, s)
		} else {
			ok = false
		}
	}
	return out, ok
}

// Bool reads true or false.
func (d *Decoder) Bool(n *yaml.Node) (bool, bool) {
	n = Resolve(n)
	var b bool
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
		d.Errorf(n, "expected true or false, got %q", valueOf(n))
		return false, false
	}
	return b, true
}

// Int reads an integer.
func (d *Decoder) Int(n *yaml.Node) (int, bool) {
	n = Resolve(n)
	var i int
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&i) != nil {
		d.Errorf(n, "expected an integer, got %q", valueOf(n))
		return 0, false
	}
	return i, true
}

// Duration reads a duration: a Go duration string ("30s", "1m30s") or a number of seconds.
func (d *Decoder) Duration(n *yaml.Node) (time.Duration, bool) {
	n = Resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" || n.Tag == "!!bool" {
		d.Errorf(n, "expected a duration like 30s or a number of seconds, got %q", valueOf(n))
		return 0, false
	}
	x, err := ParseDuration(n.Value)
	if err != nil {
		d.Errorf(n, "%v", err)
		return 0, false
	}
	return x, true
}

// Time reads an RFC 3339 date-time.
func (d *Decoder) Time(n *yaml.Node) (time.Time, bool) {
	s, ok := d.String(n)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		d.Errorf(n, "expected an RFC 3339 time like 2000-01-01T00:00:00Z, got %q", s)
		return time.Time{}, false
	}
	return t, true
}

// Value converts a YAML node to the value JSON would give: map[string]any, []any, string, int,
// float64, bool or nil. Timestamps stay strings, as they would in JSON.
func (d *Decoder) Value(n *yaml.Node) any {
	n = Resolve(n)
	if n == nil {
		return nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		fields, _ := d.Fields(n)
		m := make(map[string]any, len(fields))
		for _, f := range fields {
			m[f.Key.Value] = d.Value(f.Value)
		}
		return m
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, it := range n.Content {
			l = append(l, d.Value(it))
		}
		return l
	case yaml.ScalarNode:
		return scalar(n)
	}
	d.Errorf(n, "unsupported YAML value")
	return nil
}

func scalar(n *yaml.Node) any {
	switch n.Tag {
	case "!!null":
		return nil
	case "!!bool":
		var b bool
		if n.Decode(&b) == nil {
			return b
		}
	case "!!int":
		var i int64
		if n.Decode(&i) == nil {
			return int(i)
		}
		var f float64
		if n.Decode(&f) == nil {
			return f
		}
	case "!!float":
		var f float64
		if n.Decode(&f) == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return f
		}
	}
	return n.Value
}

func valueOf(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		return valueType(n)
	}
	return n.Value
}

// didYouMean suggests the candidate nearest to name, if one is close.

// Entries lists the key/value nodes of a mapping in file order, and nothing for anything else:
// for readers of other tools' files (Archy, Genesys exports) that report their own errors.
func Entries(n *yaml.Node) [][2]*yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	out := make([][2]*yaml.Node, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, [2]*yaml.Node{n.Content[i], n.Content[i+1]})
	}
	return out
}
