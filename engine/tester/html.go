package tester

import (
	"fmt"
	"html/template"
	"io"
	"strings"
	"sync"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/graph/svg"
)

// The coverage report is one self-contained HTML file (no scripts, no external resources): per
// flow, its figures, its diagram with covered nodes and routes in green and uncovered ones in red
// (the way Camunda's coverage report shows a process), and the list of what no case reached.

// coverageHTML is parsed on first use: html/template parsing costs every command start-up.
var coverageHTML = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("coverage").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>archflow coverage</title>
<link rel="icon" href="data:,">
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:2em;color:#222;background:#fafafa}
h1{margin-top:0}
section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:1em 1.5em;margin-bottom:2em}
.sum{display:flex;gap:2em;flex-wrap:wrap}
table{border-collapse:collapse;margin-bottom:1em}td,th{padding:.2em .8em;text-align:left;border-bottom:1px solid #eee}
.bar{display:inline-block;width:8em;height:.7em;background:#ffcdd2;border-radius:3px;vertical-align:middle;margin-left:.5em}
.bar span{display:block;height:100%;background:#43a047;border-radius:3px}
.miss{color:#c62828}.ok{color:#2e7d32}
.legend span{display:inline-block;margin-right:1.5em}
.sw{display:inline-block;width:1em;height:1em;border:2px solid;border-radius:3px;vertical-align:middle;margin-right:.3em}
.diagram{overflow:auto;border-top:1px solid #eee;padding-top:1em}
</style></head><body>
<h1>archflow coverage</h1>
{{range .}}<section id="flow-{{.Flow}}">
<h2>{{.Flow}} <small>({{.File}})</small></h2>
<div class="sum"><table>
<tr><th>total</th><td>{{printf "%.1f" .Total.Percent}}% ({{.Total}})</td><td><span class="bar"><span style="width:{{printf "%.0f" .Total.Percent}}%"></span></span></td></tr>
<tr><th>nodes</th><td>{{.Nodes}}</td><td><span class="bar"><span style="width:{{printf "%.0f" .Nodes.Percent}}%"></span></span></td></tr>
<tr><th>edges</th><td>{{.Edges}}</td><td><span class="bar"><span style="width:{{printf "%.0f" .Edges.Percent}}%"></span></span></td></tr>
<tr><th>decision cases</th><td>{{.Cases}}</td><td><span class="bar"><span style="width:{{printf "%.0f" .Cases.Percent}}%"></span></span></td></tr>
<tr><th>data-action outcomes</th><td>{{.Outcomes}}</td><td><span class="bar"><span style="width:{{printf "%.0f" .Outcomes.Percent}}%"></span></span></td></tr>
</table>
<div>{{if .Missing}}<p>Not covered:</p><ul>{{range .Missing}}<li class="miss">{{.}}</li>{{end}}</ul>{{else}}<p class="ok">Everything covered.</p>{{end}}</div>
</div>
<p class="legend"><span><i class="sw" style="background:#e8f5e9;border-color:#2e7d32"></i>covered</span><span><i class="sw" style="background:#ffebee;border-color:#c62828;border-style:dashed"></i>not covered</span><span>✓/✗ data-action outcomes (success, failure, timeout)</span></p>
<div class="diagram">{{.Diagram}}</div>
</section>
{{else}}<p>No flow was tested.</p>{{end}}
</body></html>
`))
})

const (
	covStroke   = "#2e7d32"
	covFill     = "#e8f5e9"
	uncovStroke = "#c62828"
	uncovFill   = "#ffebee"
)

// WriteCoverageHTML writes the coverage of every flow as one HTML page.
func (r *Report) WriteCoverageHTML(w io.Writer) error {
	type flowView struct {
		*Coverage
		Diagram template.HTML
	}
	var views []flowView
	for _, c := range r.Coverage {
		views = append(views, flowView{Coverage: c, Diagram: template.HTML(svg.RenderString(c.Diagram()))})
	}
	return coverageHTML().Execute(w, views)
}

// Diagram is the flow's graph with what the cases covered coloured in.
func (c *Coverage) Diagram() *svg.Graph {
	g := &svg.Graph{Name: c.Flow}
	fl := c.flow
	if fl == nil {
		return g
	}
	mark := func(covered bool) (fill, stroke, class string) {
		if covered {
			return covFill, covStroke, "covered"
		}
		return uncovFill, uncovStroke, "uncovered"
	}
	g.Nodes = append(g.Nodes, &svg.Node{ID: "start", Label: "start", Shape: "circle", Fill: "#eeeeee", FontSize: 9})
	if fl.OnError != nil {
		g.Nodes = append(g.Nodes, &svg.Node{ID: "on_error", Label: "on_error", Shape: "circle", Dashed: true, FontSize: 9})
	}
	for _, n := range fl.Nodes {
		covered := c.covNodes[n.Name]
		fill, stroke, class := mark(covered)
		label := n.Name + "\n" + n.Kind.Name
		if engine.RetriesSelf(n) {
			label += " + retry"
		}
		title := fmt.Sprintf("node %s (%s): ", n.Name, n.Kind.Name)
		if covered {
			title += "covered"
		} else {
			title += "not covered"
		}
		if caller, ok := n.Step.(engine.Caller); ok {
			var parts []string
			for _, o := range caller.Outcomes() {
				sign := "✗"
				if c.covOutcomes[n.Name+"\x00"+o] {
					sign = "✓"
				}
				parts = append(parts, sign+o)
			}
			label += "\n" + strings.Join(parts, " ")
			title += "; outcomes " + strings.Join(parts, " ")
		}
		node := &svg.Node{ID: n.Name, Label: label, Shape: shapeName(n.Kind.Shape), Fill: fill, Stroke: stroke, PenWidth: 2, Class: class, Title: title, Dashed: !covered}
		if engine.Ends(n) {
			node.Peripheries = 2
		}
		g.Nodes = append(g.Nodes, node)
	}
	if fl.Start != nil {
		g.Edges = append(g.Edges, edgeView("start", fl.Start.Name, "", c.covNodes[fl.Start.Name]))
	}
	if fl.OnError != nil {
		g.Edges = append(g.Edges, edgeView("on_error", fl.OnError.Name, "on_error", c.covOnError))
	}
	for _, e := range fl.Edges {
		g.Edges = append(g.Edges, edgeView(e.From.Name, e.To.Name, e.Label, c.covEdges[e]))
	}
	return g
}

func edgeView(from, to, label string, covered bool) *svg.Edge {
	e := &svg.Edge{From: from, To: to, Label: label, PenWidth: 2}
	name := fmt.Sprintf("%s -> %s", from, to)
	if label != "" {
		name += " (" + label + ")"
	}
	if covered {
		e.Color, e.FontColor, e.Class, e.Title = covStroke, covStroke, "covered", "edge "+name+": covered"
	} else {
		e.Color, e.FontColor, e.Class, e.Title, e.Dashed = uncovStroke, uncovStroke, "uncovered", "edge "+name+": not covered", true
	}
	return e
}

// shapeName is how the diagram draws a kind's declared shape.
func shapeName(s engine.Shape) string {
	switch s {
	case engine.ShapeDecision:
		return "diamond"
	case engine.ShapeTerminal:
		return "oval"
	case engine.ShapeCall:
		return "box"
	case engine.ShapeWait:
		return "parallelogram"
	case engine.ShapeMessage:
		return "note"
	}
	return "rounded"
}
