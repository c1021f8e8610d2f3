package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/graph/svg"
)

// Colours of the path a trace took, the same in every format.
const (
	takenStroke = "#2e7d32"
	takenFill   = "#e8f5e9"
)

type graphFlags struct {
	format   string
	trace    string
	instance string
}

func newGraphCmd() *cobra.Command {
	var gf graphFlags
	cmd := &cobra.Command{
		Use:   "graph FLOW",
		Short: "Draw a flow as a Mermaid or Graphviz graph; with --trace, the path an instance took",
		Long: `Draw the compiled flow: one box per node (its name and kind) and one arrow per route,
labelled next, on_failure, on_timeout, case N or default. A trace written by
run --trace (or a snapshot: true test case's golden trace) highlights the nodes entered
and the routes taken, with counts.

--format svg draws the picture in process (no Graphviz needed).

Exit codes: 0 drawn; 2 invalid flow, trace or flags.`,
		Example: `  # paste into a Markdown file inside a mermaid code block
  archflow graph flows/self-healing.yaml

  # the path a run took, as a picture
  archflow run flows/self-healing.yaml --input order_id=A-1 --mock flows/self-healing.mock.yaml --clock virtual --trace run.jsonl
  archflow graph flows/self-healing.yaml --trace run.jsonl --format svg > run.svg`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return drawGraph(cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0], &gf)
		},
	}
	f := cmd.Flags()
	f.StringVar(&gf.format, "format", "mermaid", "mermaid, dot or svg")
	f.StringVar(&gf.trace, "trace", "", "highlight the path taken in a JSON Lines trace FILE")
	f.StringVar(&gf.instance, "instance", "", "with --trace: only this instance (default: every instance of the trace)")
	return cmd
}

func drawGraph(stdout, stderr io.Writer, path string, gf *graphFlags) error {
	switch gf.format {
	case "mermaid", "dot", "svg":
	default:
		return exitWith(exitInvalid, "--format must be mermaid, dot or svg, not %q", gf.format)
	}
	if gf.instance != "" && gf.trace == "" {
		return exitWith(exitInvalid, "--instance needs --trace")
	}
	f, err := engine.LoadFile(path)
	if err != nil {
		if l, ok := engine.AsList(err); ok {
			return l.Errors()
		}
		return err
	}
	g := newGraph(f)
	if gf.trace != "" {
		if err := g.readTrace(gf.trace, gf.instance, stderr); err != nil {
			return err
		}
	}
	switch gf.format {
	case "mermaid":
		_, err = io.WriteString(stdout, g.mermaid())
	case "dot":
		_, err = io.WriteString(stdout, g.dot())
	case "svg":
		// drawn in process from the same DOT text: no Graphviz needed
		pic, perr := svg.ParseDOT(g.dot())
		if perr != nil {
			return exitWith(exitInternal, "drawing svg: %v", perr)
		}
		err = svg.Render(stdout, pic)
	}
	return err
}

// graph is a compiled flow ready to draw, with what a trace says was taken.
type graph struct {
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

func newGraph(f *engine.Flow) *graph {
	g := &graph{flow: f, entered: map[string]int{}}
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

// readTrace counts the nodes entered and the routes taken, from the enter events.
func (g *graph) readTrace(path, instance string, stderr io.Writer) error {
	fh, err := os.Open(path)
	if err != nil {
		return exitWith(exitInvalid, "--trace: %v", err)
	}
	defer fh.Close()
	g.traced = true
	sc := bufio.NewScanner(fh)
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
			return exitWith(exitInvalid, "%s:%d: not a trace event: %v", path, line, err)
		}
		if instance != "" && ev.Instance != instance {
			continue
		}
		if ev.Event == "start" && ev.Flow != "" && ev.Flow != g.flow.Name {
			// highlighting another flow's steps would draw a path that was never taken
			return engine.ErrorList{{Pos: engine.Pos{File: path, Line: line, Col: 1}, Severity: engine.SevError,
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
		return exitWith(exitInvalid, "--trace %s: %v", path, err)
	}
	if seen == 0 {
		if instance != "" {
			return exitWith(exitInvalid, "--trace %s: no steps of instance %s", path, instance)
		}
		fmt.Fprintf(stderr, "archflow: warning: %s has no enter events: nothing to highlight\n", path)
	}
	if len(unknown) > 0 {
		names := make([]string, 0, len(unknown))
		for n := range unknown {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(stderr, "archflow: warning: the trace enters nodes the flow does not have (%s): was it written by another version of the flow?\n", strings.Join(names, ", "))
	}
	return nil
}

func (g *graph) take(from, via, to string) {
	for _, e := range g.edges {
		if e.from == from && e.to == to && e.label == via {
			e.taken++
			return
		}
	}
	// an on_error route (runtime errors route from any node), or a route of another version
	g.edges = append(g.edges, &gEdge{from: from, to: to, label: via, onError: via == "on_error", taken: 1})
}

func (g *graph) nodeLabel(n *engine.Node) string {
	s := n.Name + "\n" + n.Kind
	if n.Retry {
		s += " + retry"
	}
	if c := g.entered[n.Name]; c > 1 {
		s += fmt.Sprintf("\n×%d", c)
	}
	return s
}

func (g *graph) edgeLabel(e *gEdge) string {
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

func (g *graph) mermaid() string {
	var b strings.Builder
	f := g.flow
	fmt.Fprintf(&b, "---\ntitle: %s\n---\nflowchart TD\n", f.Name)
	b.WriteString("  start_((start))\n")
	if f.OnError != nil {
		b.WriteString("  on_error_((on_error))\n")
	}
	for _, n := range f.Nodes {
		open, close := `["`, `"]`
		switch n.Kind {
		case "decision":
			open, close = `{"`, `"}`
		case "end":
			open, close = `(["`, `"])`
		case "data_action":
			open, close = `[["`, `"]]`
		case "wait":
			open, close = `[/"`, `"/]`
		case "notify":
			open, close = `>"`, `"]`
		}
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

func (g *graph) dot() string {
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
		attrs := []string{"label=" + dotQuote(g.nodeLabel(n))}
		switch n.Kind {
		case "decision":
			attrs = append(attrs, "shape=diamond", "style=\"\"")
		case "end":
			attrs = append(attrs, "shape=oval", "peripheries=2")
		case "data_action":
			attrs = append(attrs, "shape=box", "style=\"rounded,bold\"")
		case "wait":
			attrs = append(attrs, "shape=parallelogram", "style=\"\"")
		case "notify":
			attrs = append(attrs, "shape=note", "style=\"\"")
		}
		if g.entered[n.Name] > 0 {
			attrs = append(attrs, "color="+dotQuote(takenStroke), "penwidth=2", "fillcolor="+dotQuote(takenFill))
			switch n.Kind {
			case "decision", "wait", "notify":
				attrs = append(attrs, "style=filled")
			case "data_action":
				attrs = append(attrs, "style=\"rounded,bold,filled\"")
			default:
				attrs = append(attrs, "style=\"rounded,filled\"")
			}
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
