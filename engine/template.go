package engine

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/archflow/archflow/engine/yamldoc"
	"gopkg.in/yaml.v3"
)

// Template is a string value with {{ expr }} parts, compiled once.
// A template that is exactly one {{ expr }} keeps the value's type.
type Template struct {
	Src   string
	Pos   yamldoc.Pos
	parts []tplPart
}

type tplPart struct {
	lit  string
	expr *Expr
}

// rawPart is a piece of template source: literal text or the source of an expression.
type rawPart struct {
	text string
	expr bool
	off  int // byte offset of text in the template source
}

// splitTemplate cuts s into literal text and {{ expr }} parts. Quotes inside an expression are
// honoured, so {{ "{{" }} writes a literal "{{".
func splitTemplate(s string) ([]rawPart, error) {
	var parts []rawPart
	i := 0
	for {
		j := strings.Index(s[i:], "{{")
		if j < 0 {
			if i < len(s) {
				parts = append(parts, rawPart{text: s[i:], off: i})
			}
			return parts, nil
		}
		if j > 0 {
			parts = append(parts, rawPart{text: s[i : i+j], off: i})
		}
		start := i + j + 2
		end := -1
		var quote byte
		depth := 0 // braces of map literals inside the expression
		for k := start; k < len(s); k++ {
			ch := s[k]
			if quote != 0 {
				if ch == '\\' && quote != '`' {
					k++
				} else if ch == quote {
					quote = 0
				}
				continue
			}
			if ch == '"' || ch == '\'' || ch == '`' {
				quote = ch
				continue
			}
			switch {
			case ch == '{':
				depth++
			case ch == '}' && depth > 0:
				depth--
			case ch == '}' && k+1 < len(s) && s[k+1] == '}':
				end = k
			}
			if end >= 0 {
				break
			}
		}
		if end < 0 {
			return nil, fmt.Errorf("unclosed {{ at offset %d in %q", i+j, s)
		}
		src := s[start:end]
		if strings.TrimSpace(src) == "" {
			return nil, fmt.Errorf("empty {{ }} in %q", s)
		}
		parts = append(parts, rawPart{text: src, expr: true, off: start})
		i = end + 2
	}
}

// Template compiles a template from a YAML scalar.
func (c *Compiler) Template(n *yaml.Node) *Template {
	if n == nil {
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		c.Errs.Add(yamldoc.PosOf(c.File, n), "expected a string, got a %s", yamldoc.ValueType(n))
		return nil
	}
	return c.templateString(n.Value, n)
}

func (c *Compiler) templateString(s string, n *yaml.Node) *Template {
	t := &Template{Src: s, Pos: yamldoc.PosOf(c.File, n)}
	raw, err := splitTemplate(s)
	if err != nil {
		c.Errs.Add(yamldoc.PosOf(c.File, n), "%v", err)
		return nil
	}
	ok := true
	for _, p := range raw {
		if !p.expr {
			t.parts = append(t.parts, tplPart{lit: p.text})
			continue
		}
		pos := scalarPos(c.File, n)
		pos.Col += p.off
		multiLine := strings.Contains(s, "\n")
		if multiLine {
			pos = yamldoc.PosOf(c.File, n)
		}
		before := len(c.Errs)
		e := c.compileExpr(p.text, pos)
		if multiLine {
			c.errorsAt(before, pos)
		}
		if e == nil {
			ok = false
			continue
		}
		e.Pos = yamldoc.PosOf(c.File, n)
		c.checkRetries(e, n)
		t.parts = append(t.parts, tplPart{expr: e})
	}
	if !ok {
		return nil
	}
	return t
}

// IsLiteral reports whether the template has no expression.
func (t *Template) IsLiteral() bool {
	for _, p := range t.parts {
		if p.expr != nil {
			return false
		}
	}
	return true
}

// Single returns the expression of a template that is exactly one {{ expr }}, else nil.
func (t *Template) Single() *Expr {
	if len(t.parts) == 1 {
		return t.parts[0].expr
	}
	return nil
}

// Exprs lists the template's expressions.
func (t *Template) Exprs() []*Expr {
	var out []*Expr
	for _, p := range t.parts {
		if p.expr != nil {
			out = append(out, p.expr)
		}
	}
	return out
}

// Type is the static type of the template's value: string, or the expression's type.
func (t *Template) Type() reflect.Type {
	if e := t.Single(); e != nil {
		return e.Type
	}
	return reflect.TypeOf("")
}

// Eval renders the template; a single {{ expr }} keeps its type.
func (t *Template) Eval(in *Instance) (any, error) {
	if e := t.Single(); e != nil {
		return e.Eval(in)
	}
	return t.Render(in)
}

// Render renders the template to a string; NOT_SET renders as "".
func (t *Template) Render(in *Instance) (string, error) {
	if len(t.parts) == 1 {
		p := t.parts[0]
		if p.expr == nil {
			return p.lit, nil
		}
		v, err := p.expr.Eval(in)
		if err != nil {
			return "", err
		}
		return ToString(v), nil // one value is its own string: nothing to copy
	}
	// the parts first, then one string of their length (a builder grown part by part made one
	// copy per growth)
	var small [8]string
	strs := small[:0]
	n := 0
	for _, p := range t.parts {
		s := p.lit
		if p.expr != nil {
			v, err := p.expr.Eval(in)
			if err != nil {
				return "", err
			}
			s = ToString(v)
		}
		strs = append(strs, s)
		n += len(s)
	}
	var b strings.Builder
	b.Grow(n)
	for _, s := range strs {
		b.WriteString(s)
	}
	return b.String(), nil
}

// ToString formats a value the way templates show it: NOT_SET as "", whole numbers without a
// fraction, times as RFC 3339, objects and lists as JSON.
func ToString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32)
	case int:
		return strconv.Itoa(x)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case time.Duration:
		return x.String()
	case fmt.Stringer:
		return x.String()
	case map[string]any, []any, map[string]string:
		b, err := json.Marshal(x)
		if err == nil {
			return string(b)
		}
	}
	return fmt.Sprint(v)
}

// Value is a structured value (a request body, a payload): mappings, lists, literal scalars and
// templates, compiled once.
type Value struct {
	Pos   yamldoc.Pos
	tpl   *Template
	lit   any
	keys  []string
	vals  []*Value
	items []*Value
	kind  yaml.Kind
	json  valueJSON // how AppendJSON writes it (valuejson.go)
}

// Value compiles a YAML value whose strings are templates.
func (c *Compiler) Value(n *yaml.Node) *Value {
	v := c.value(n)
	v.prepareJSON()
	return v
}

func (c *Compiler) value(n *yaml.Node) *Value {
	if n == nil {
		return nil
	}
	v := &Value{Pos: yamldoc.PosOf(c.File, n), kind: n.Kind}
	switch n.Kind {
	case yaml.MappingNode:
		// as everywhere in a flow file: a key twice (the later entry would silently win) and a
		// merge key (it would be sent as the key "<<") are errors
		fields, _ := c.Fields(n)
		for _, f := range fields {
			v.keys = append(v.keys, f.Key.Value)
			v.vals = append(v.vals, c.value(f.Value))
		}
	case yaml.SequenceNode:
		for _, it := range n.Content {
			v.items = append(v.items, c.value(it))
		}
	case yaml.ScalarNode:
		if n.Tag == "!!str" {
			v.tpl = c.Template(n)
			return v
		}
		var lit any
		if err := n.Decode(&lit); err != nil {
			c.Errs.Add(yamldoc.PosOf(c.File, n), "%v", err)
		}
		v.lit = lit
	case yaml.AliasNode:
		return c.value(n.Alias)
	}
	return v
}

// Eval builds the value in the instance's scope.
func (v *Value) Eval(in *Instance) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch v.kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(v.keys))
		for i, k := range v.keys {
			x, err := v.vals[i].Eval(in)
			if err != nil {
				return nil, err
			}
			m[k] = x
		}
		return m, nil
	case yaml.SequenceNode:
		l := make([]any, len(v.items))
		for i, it := range v.items {
			x, err := it.Eval(in)
			if err != nil {
				return nil, err
			}
			l[i] = x
		}
		return l, nil
	}
	if v.tpl != nil {
		return v.tpl.Eval(in)
	}
	return v.lit, nil
}

// Exprs lists every expression inside the value.
func (v *Value) Exprs() []*Expr {
	if v == nil {
		return nil
	}
	var out []*Expr
	if v.tpl != nil {
		out = append(out, v.tpl.Exprs()...)
	}
	for _, x := range v.vals {
		out = append(out, x.Exprs()...)
	}
	for _, x := range v.items {
		out = append(out, x.Exprs()...)
	}
	return out
}

// IsString reports whether the value is a single string template (sent as is, not as JSON).
func (v *Value) IsString() bool { return v != nil && v.kind == yaml.ScalarNode && v.tpl != nil }

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
