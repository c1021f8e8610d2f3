// Package graph draws a compiled flow as Mermaid or Graphviz text: one box per node, shaped as
// its kind declares (engine.Shape), one arrow per route; with a trace, the path instances took.
package graph

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/yamldoc"
)

// Colours of the path a trace took, the same in every format.
const (
	takenStroke = "#2e7d32"
	takenFill   = "#e8f5e9"
)

// Graph is a compiled flow ready to draw, with what a trace says was taken.
type Graph struct {
	flow    *engine.Flow
	edges   []*gEdge // the flow's routes, then on_error routes seen in the trace
	entered map[string]int
	started int // instances that entered the start node
	traced  bool
}

// gEdge is a route; OnError marks the synthetic routes to the flow's on_error node.
type gEdge struct {
	from, to, label string
	onError         bool
	taken           int
}

// New prepares f for drawing.
func New(f *engine.Flow) *Graph {
	g := &Graph{flow: f, entered: map[string]int{}}
	for _, e := range f.Edges {
		g.edges = append(g.edges, &gEdge{from: e.From.Name, to: e.To.Name, label: e.Label})
	}
	return g
}

// traceEvent is the part of a trace event the graph reads.
type traceEvent struct {
	Instance string `json:"instance"`
	Event    string `json:"event"`
	Flow     string `json:"flow"`
	Node     string `json:"node"`
	From     string `json:"from"`
	Via      string `json:"via"`
}

// ReadTrace counts the nodes entered and the routes taken, from the enter events of a JSON
// Lines trace (path names it in messages); instance, when given, keeps only that instance's.
// It returns warnings (a trace of another flow version) and an error for a trace it cannot use.
func (g *Graph) ReadTrace(r io.Reader, path, instance string) (warnings []string, err error) {
	g.traced = true
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 64*1024*1024)
	unknown := map[string]bool{}
	line, seen := 0, 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var ev traceEvent
		if err := json.Unmarshal(b, &ev); err != nil {
			return warnings, fmt.Errorf("%s:%d: not a trace event: %v", path, line, err)
		}
		if instance != "" && ev.Instance != instance {
			continue
		}
		if ev.Event == "start" && ev.Flow != "" && ev.Flow != g.flow.Name {
			// highlighting another flow's steps would draw a path that was never taken
			return warnings, yamldoc.ErrorList{{Pos: yamldoc.Pos{File: path, Line: line, Col: 1}, Severity: yamldoc.SevError,
				Msg: fmt.Sprintf("the trace is of flow %s, not %s: pass a trace that run --trace wrote for %s", ev.Flow, g.flow.Name, g.flow.File)}}
		}
		if ev.Event != "enter" {
			continue
		}
		seen++
		if g.flow.Node(ev.Node) == nil {
			unknown[ev.Node] = true
			continue
		}
		g.entered[ev.Node]++
		if ev.From == "" {
			g.started++
			continue
		}
		g.take(ev.From, ev.Via, ev.Node)
	}
	if err := sc.Err(); err != nil {
		return warnings, fmt.Errorf("%s: %v", path, err)
	}
	if seen == 0 {
		if instance != "" {
			return warnings, fmt.Errorf("%s: no steps of instance %s", path, instance)
		}
		warnings = append(warnings, fmt.Sprintf("%s has no enter events: nothing to highlight", path))
	}
	if len(unknown) > 0 {
		names := make([]string, 0, len(unknown))
		for n := range unknown {
			names = append(names, n)
		}
		sort.Strings(names)
		warnings = append(warnings, fmt.Sprintf("the trace enters nodes the flow does not have (%s): was it written by another version of the flow?", strings.Join(names, ", ")))
	}
	return warnings, nil
}

func (g *Graph) take(from, via, to string) {
	for _, e := range g.edges {
		if e.from == from && e.to == to && e.label == via {
			e.taken++
			return
		}
	}
	// an on_error route (runtime errors route from any node), or a route of another version
	g.edges = append(g.edges, &gEdge{from: from, to: to, label: via, onError: via == "on_error", taken: 1})
}

func (g *Graph) nodeLabel(n *engine.Node) string {
	s := n.Name + "\n" + n.Kind.Name
	if engine.RetriesSelf(n) {
		s += " + retry"
	}
	if c := g.entered[n.Name]; c > 1 {
		s += fmt.Sprintf("\n×%d", c)
	}
	return s
}

func (g *Graph) edgeLabel(e *gEdge) string {
	if e.taken > 1 {
		return fmt.Sprintf("%s ×%d", e.label, e.taken)
	}
	return e.label
}

// ---- Mermaid ----

// mermaidID prefixes node names: "end" and a few other words are Mermaid keywords.
func mermaidID(name string) string { return "n_" + name }

func mermaidText(s string) string {
	r := strings.NewReplacer(`"`, "#quot;", "\n", "<br/>", "<", "#lt;", ">", "#gt;", "|", "#124;")
	return r.Replace(s)
}

// Mermaid draws the flow as a Mermaid flowchart.
func (g *Graph) Mermaid() string {
	var b strings.Builder
	f := g.flow
	fmt.Fprintf(&b, "---\ntitle: %s\n---\nflowchart TD\n", f.Name)
	b.WriteString("  start_((start))\n")
	if f.OnError != nil {
		b.WriteString("  on_error_((on_error))\n")
	}
	for _, n := range f.Nodes {
		open, close := mermaidShape(n.Kind.Shape)
		fmt.Fprintf(&b, "  %s%s%s%s\n", mermaidID(n.Name), open, mermaidText(g.nodeLabel(n)), close)
	}
	link := 0
	var takenLinks []string
	if f.Start != nil {
		fmt.Fprintf(&b, "  start_ --> %s\n", mermaidID(f.Start.Name))
		if g.started > 0 {
			takenLinks = append(takenLinks, fmt.Sprint(link))
		}
		link++
	}
	if f.OnError != nil {
		fmt.Fprintf(&b, "  on_error_ -.-> %s\n", mermaidID(f.OnError.Name))
		link++
	}
	for _, e := range g.edges {
		arrow := "-->"
		if e.onError {
			arrow = "-.->"
		}
		fmt.Fprintf(&b, "  %s %s|%s| %s\n", mermaidID(e.from), arrow, mermaidText(g.edgeLabel(e)), mermaidID(e.to))
		if e.taken > 0 {
			takenLinks = append(takenLinks, fmt.Sprint(link))
		}
		link++
	}
	if g.traced {
		var nodes []string
		for _, n := range f.Nodes {
			if g.entered[n.Name] > 0 {
				nodes = append(nodes, mermaidID(n.Name))
			}
		}
		fmt.Fprintf(&b, "  classDef taken fill:%s,stroke:%s,stroke-width:2px\n", takenFill, takenStroke)
		if len(nodes) > 0 {
			fmt.Fprintf(&b, "  class %s taken\n", strings.Join(nodes, ","))
		}
		if len(takenLinks) > 0 {
			fmt.Fprintf(&b, "  linkStyle %s stroke:%s,stroke-width:3px\n", strings.Join(takenLinks, ","), takenStroke)
		}
	}
	return b.String()
}

// ---- Graphviz ----

func dotQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// Dot draws the flow in Graphviz's dot language.
func (g *Graph) Dot() string {
	var b strings.Builder
	f := g.flow
	fmt.Fprintf(&b, "digraph %s {\n", dotQuote(f.Name))
	b.WriteString("  rankdir=TB;\n")
	b.WriteString("  node [shape=box, style=rounded, fontname=\"Helvetica\", fontsize=11];\n")
	b.WriteString("  edge [fontname=\"Helvetica\", fontsize=9];\n")
	b.WriteString("  \"start\" [label=\"start\", shape=circle, style=filled, fillcolor=\"#eeeeee\", fontsize=9];\n")
	if f.OnError != nil {
		b.WriteString("  \"on_error\" [label=\"on_error\", shape=circle, style=dashed, fontsize=9];\n")
	}
	for _, n := range f.Nodes {
		attrs := append([]string{"label=" + dotQuote(g.nodeLabel(n))}, dotShape[n.Kind.Shape]...)
		if g.entered[n.Name] > 0 {
			attrs = append(attrs, "color="+dotQuote(takenStroke), "penwidth=2", "fillcolor="+dotQuote(takenFill))
			attrs = append(attrs, dotFilled[n.Kind.Shape])
		}
		fmt.Fprintf(&b, "  %s [%s];\n", dotQuote("n_"+n.Name), dedupeStyle(attrs))
	}
	if f.Start != nil {
		attrs := ""
		if g.started > 0 {
			attrs = fmt.Sprintf(" [color=%s, penwidth=2.5]", dotQuote(takenStroke))
		}
		fmt.Fprintf(&b, "  \"start\" -> %s%s;\n", dotQuote("n_"+f.Start.Name), attrs)
	}
	if f.OnError != nil {
		fmt.Fprintf(&b, "  \"on_error\" -> %s [style=dashed];\n", dotQuote("n_"+f.OnError.Name))
	}
	for _, e := range g.edges {
		attrs := []string{"label=" + dotQuote(g.edgeLabel(e))}
		if e.onError {
			attrs = append(attrs, "style=dashed")
		}
		if e.taken > 0 {
			attrs = append(attrs, "color="+dotQuote(takenStroke), "fontcolor="+dotQuote(takenStroke), "penwidth=2.5")
		}
		fmt.Fprintf(&b, "  %s -> %s [%s];\n", dotQuote("n_"+e.from), dotQuote("n_"+e.to), strings.Join(attrs, ", "))
	}
	b.WriteString("}\n")
	return b.String()
}

// dedupeStyle keeps the last style= of a node's attributes: highlighting overrides the kind's.
func dedupeStyle(attrs []string) string {
	last := -1
	for i, a := range attrs {
		if strings.HasPrefix(a, "style=") {
			last = i
		}
	}
	var out []string
	for i, a := range attrs {
		if strings.HasPrefix(a, "style=") && i != last {
			continue
		}
		out = append(out, a)
	}
	return strings.Join(out, ", ")
}

// mermaidShape is how Mermaid draws a shape: the brackets around the label.
func mermaidShape(s engine.Shape) (open, close string) {
	switch s {
	case engine.ShapeDecision:
		return `{"`, `"}`
	case engine.ShapeTerminal:
		return `(["`, `"])`
	case engine.ShapeCall:
		return `[["`, `"]]`
	case engine.ShapeWait:
		return `[/"`, `"/]`
	case engine.ShapeMessage:
		return `>"`, `"]`
	}
	return `["`, `"]`
}

// dotShape and dotFilled are how Graphviz draws a shape, plain and highlighted.
var dotShape = map[engine.Shape][]string{
	engine.ShapeDecision: {"shape=diamond", `style=""`},
	engine.ShapeTerminal: {"shape=oval", "peripheries=2"},
	engine.ShapeCall:     {"shape=box", `style="rounded,bold"`},
	engine.ShapeWait:     {"shape=parallelogram", `style=""`},
	engine.ShapeMessage:  {"shape=note", `style=""`},
}

var dotFilled = map[engine.Shape]string{
	engine.ShapeBox:      `style="rounded,filled"`,
	engine.ShapeTerminal: `style="rounded,filled"`,
	engine.ShapeDecision: "style=filled",
	engine.ShapeWait:     "style=filled",
	engine.ShapeMessage:  "style=filled",
	engine.ShapeCall:     `style="rounded,bold,filled"`,
}
