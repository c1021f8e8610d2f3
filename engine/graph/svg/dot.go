package svg

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// ParseDOT reads the subset of Graphviz's DOT language that archflow writes: one digraph of
// `node [attrs]` / `edge [attrs]` defaults, node statements and `a -> b` edge statements, with
// the attributes label, shape, style, color, fillcolor, fontcolor, penwidth, peripheries and
// fontsize. Other attributes and graph-level settings are ignored.
func ParseDOT(src string) (*Graph, error) {
	toks, err := tokenize(src)
	if err != nil {
		return nil, err
	}
	p := &dotParser{toks: toks}
	return p.graph()
}

type token struct {
	text   string
	quoted bool
}

func tokenize(src string) ([]token, error) {
	var out []token
	r := []rune(src)
	for i := 0; i < len(r); {
		c := r[i]
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '/' && i+1 < len(r) && r[i+1] == '/', c == '#':
			for i < len(r) && r[i] != '\n' {
				i++
			}
		case c == '"':
			var b strings.Builder
			i++
			for ; i < len(r) && r[i] != '"'; i++ {
				if r[i] == '\\' && i+1 < len(r) {
					i++
					switch r[i] {
					case 'n', 'l', 'r':
						b.WriteRune('\n')
					default:
						b.WriteRune(r[i])
					}
					continue
				}
				b.WriteRune(r[i])
			}
			if i >= len(r) {
				return nil, fmt.Errorf("dot: unterminated string")
			}
			i++
			out = append(out, token{text: b.String(), quoted: true})
		case c == '-' && i+1 < len(r) && r[i+1] == '>':
			out = append(out, token{text: "->"})
			i += 2
		case strings.ContainsRune("{}[]=;,", c):
			out = append(out, token{text: string(c)})
			i++
		default:
			j := i
			for j < len(r) && (unicode.IsLetter(r[j]) || unicode.IsDigit(r[j]) || r[j] == '_' || r[j] == '.' || r[j] == '-' && !(j+1 < len(r) && r[j+1] == '>')) {
				j++
			}
			if j == i {
				return nil, fmt.Errorf("dot: unexpected %q", c)
			}
			out = append(out, token{text: string(r[i:j])})
			i = j
		}
	}
	return out, nil
}

type dotParser struct {
	toks []token
	i    int
}

func (p *dotParser) peek() *token {
	if p.i < len(p.toks) {
		return &p.toks[p.i]
	}
	return nil
}

func (p *dotParser) next() (token, error) {
	if p.i >= len(p.toks) {
		return token{}, fmt.Errorf("dot: unexpected end")
	}
	t := p.toks[p.i]
	p.i++
	return t, nil
}

func (p *dotParser) is(s string) bool {
	t := p.peek()
	return t != nil && !t.quoted && t.text == s
}

func (p *dotParser) expect(s string) error {
	t, err := p.next()
	if err != nil {
		return err
	}
	if t.quoted || t.text != s {
		return fmt.Errorf("dot: expected %q, got %q", s, t.text)
	}
	return nil
}

func (p *dotParser) graph() (*Graph, error) {
	t, err := p.next()
	if err != nil {
		return nil, err
	}
	if t.text == "strict" {
		if t, err = p.next(); err != nil {
			return nil, err
		}
	}
	if t.text != "digraph" && t.text != "graph" {
		return nil, fmt.Errorf("dot: expected digraph, got %q", t.text)
	}
	g := &Graph{}
	if !p.is("{") {
		name, _ := p.next()
		g.Name = name.text
	}
	if err := p.expect("{"); err != nil {
		return nil, err
	}
	nodeDefaults, edgeDefaults := map[string]string{}, map[string]string{}
	nodes := map[string]*Node{}
	addNode := func(id string, attrs map[string]string) *Node {
		n := nodes[id]
		if n == nil {
			n = &Node{ID: id, Label: id}
			nodes[id] = n
			g.Nodes = append(g.Nodes, n)
			applyNode(n, nodeDefaults)
		}
		applyNode(n, attrs)
		return n
	}
	for !p.is("}") {
		if p.peek() == nil {
			return nil, fmt.Errorf("dot: missing }")
		}
		if p.is(";") {
			p.i++
			continue
		}
		id, _ := p.next()
		switch {
		case !id.quoted && (id.text == "node" || id.text == "edge" || id.text == "graph") && p.is("["):
			attrs, err := p.attrs()
			if err != nil {
				return nil, err
			}
			target := map[string]map[string]string{"node": nodeDefaults, "edge": edgeDefaults}[id.text]
			for k, v := range attrs {
				if target != nil {
					target[k] = v
				}
			}
		case p.is("="): // graph attribute
			p.i++
			if _, err := p.next(); err != nil {
				return nil, err
			}
		case p.is("->"):
			p.i++
			to, err := p.next()
			if err != nil {
				return nil, err
			}
			attrs := map[string]string{}
			if p.is("[") {
				if attrs, err = p.attrs(); err != nil {
					return nil, err
				}
			}
			addNode(id.text, nil)
			addNode(to.text, nil)
			e := &Edge{From: id.text, To: to.text}
			applyEdge(e, edgeDefaults)
			applyEdge(e, attrs)
			g.Edges = append(g.Edges, e)
		default:
			attrs := map[string]string{}
			if p.is("[") {
				var err error
				if attrs, err = p.attrs(); err != nil {
					return nil, err
				}
			}
			addNode(id.text, attrs)
		}
	}
	return g, nil
}

func (p *dotParser) attrs() (map[string]string, error) {
	if err := p.expect("["); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for !p.is("]") {
		if p.is(",") || p.is(";") {
			p.i++
			continue
		}
		k, err := p.next()
		if err != nil {
			return nil, err
		}
		if err := p.expect("="); err != nil {
			return nil, err
		}
		v, err := p.next()
		if err != nil {
			return nil, err
		}
		out[k.text] = v.text
	}
	p.i++
	return out, nil
}

func num(s string) float64 {
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

func applyNode(n *Node, a map[string]string) {
	if v, ok := a["label"]; ok {
		n.Label = v
	}
	if v, ok := a["color"]; ok {
		n.Stroke = v
	}
	if v, ok := a["penwidth"]; ok {
		n.PenWidth = num(v)
	}
	if v, ok := a["peripheries"]; ok {
		n.Peripheries = int(num(v))
	}
	if v, ok := a["fontsize"]; ok {
		n.FontSize = num(v)
	}
	if v, ok := a["tooltip"]; ok {
		n.Title = v
	}
	shape, hasShape := a["shape"]
	style, hasStyle := a["style"]
	if hasShape || hasStyle {
		if !hasShape {
			shape = n.Shape
			if shape == "rounded" {
				shape = "box"
			}
		}
		if shape == "ellipse" {
			shape = "oval"
		}
		if shape == "box" || shape == "rect" || shape == "rectangle" || shape == "" {
			shape = "box"
			if strings.Contains(style, "rounded") {
				shape = "rounded"
			}
		}
		n.Shape = shape
	}
	if hasStyle {
		n.Dashed = strings.Contains(style, "dashed")
		if strings.Contains(style, "bold") && n.PenWidth == 0 {
			n.PenWidth = 2
		}
		n.Fill = ""
		if strings.Contains(style, "filled") {
			n.Fill = "#eeeeee"
		}
	}
	if v, ok := a["fillcolor"]; ok && (n.Fill != "" || strings.Contains(a["style"], "filled")) {
		n.Fill = v
	}
}

func applyEdge(e *Edge, a map[string]string) {
	if v, ok := a["label"]; ok {
		e.Label = v
	}
	if v, ok := a["color"]; ok {
		e.Color = v
	}
	if v, ok := a["fontcolor"]; ok {
		e.FontColor = v
	}
	if v, ok := a["penwidth"]; ok {
		e.PenWidth = num(v)
	}
	if v, ok := a["style"]; ok {
		e.Dashed = strings.Contains(v, "dashed")
	}
	if v, ok := a["tooltip"]; ok {
		e.Title = v
	}
}
