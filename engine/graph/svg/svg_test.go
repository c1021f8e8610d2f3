package svg_test

import (
	"encoding/xml"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/archflow/archflow/engine/graph/svg"
)

const sample = `digraph "loop" {
  rankdir=TB;
  node [shape=box, style=rounded, fontsize=11];
  "start" [label="start", shape=circle, style=filled, fillcolor="#eeeeee"];
  "n_call" [label="call\ndata_action", shape=box, color="#2e7d32", penwidth=2, fillcolor="#e8f5e9", style="rounded,bold,filled"];
  "n_check" [label="check\ndecision", shape=diamond, style=""];
  "n_wait" [label="wait\nwait", shape=parallelogram];
  "n_done" [label="done\nend", shape=oval, peripheries=2];
  "start" -> "n_call";
  "n_call" -> "n_done" [label="next", color="#2e7d32"];
  "n_call" -> "n_check" [label="on_failure"];
  "n_call" -> "n_check" [label="on_timeout", style=dashed];
  "n_check" -> "n_wait" [label="default"];
  "n_wait" -> "n_call" [label="next ×2"];
}
`

func TestParseDOT(t *testing.T) {
	t.Parallel()
	g, err := svg.ParseDOT(sample)
	if err != nil {
		t.Fatal(err)
	}
	if g.Name != "loop" || len(g.Nodes) != 5 || len(g.Edges) != 6 {
		t.Fatalf("graph %q with %d nodes, %d edges", g.Name, len(g.Nodes), len(g.Edges))
	}
	call := g.Nodes[1]
	if call.ID != "n_call" || call.Label != "call\ndata_action" || call.Shape != "rounded" || call.Fill != "#e8f5e9" || call.Stroke != "#2e7d32" || call.PenWidth != 2 {
		t.Errorf("call node: %+v", call)
	}
	if g.Nodes[2].Shape != "diamond" || g.Nodes[4].Peripheries != 2 || g.Nodes[0].Fill != "#eeeeee" {
		t.Errorf("shapes: %+v %+v %+v", g.Nodes[2], g.Nodes[4], g.Nodes[0])
	}
	if e := g.Edges[3]; e.Label != "on_timeout" || !e.Dashed {
		t.Errorf("edge: %+v", e)
	}
	for _, bad := range []string{`digraph { "a" -> }`, `graph "x" { "a" [label="x] }`, `flowchart TD`} {
		if _, err := svg.ParseDOT(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

var rectRe = regexp.MustCompile(`<g class="node[^"]*" id="loop-node-([^"]+)">(?:<title>[^<]*</title>)?<(?:rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"|ellipse cx="([\d.]+)" cy="([\d.]+)" rx="([\d.]+)" ry="([\d.]+)"|polygon points="([^"]+)")`)

func TestRenderDrawsEveryNodeAndEdgeWithoutOverlap(t *testing.T) {
	t.Parallel()
	g, err := svg.ParseDOT(sample)
	if err != nil {
		t.Fatal(err)
	}
	out := svg.RenderString(g)
	if err := xml.Unmarshal([]byte(out), new(struct{})); err != nil {
		t.Fatalf("not well-formed XML: %v", err)
	}
	for _, want := range []string{">call</text>", ">data_action</text>", ">next ×2</text>", ">on_timeout</text>", `stroke-dasharray="5,4"`, `marker-end="url(#loop-arrow-2e7d32)"`} {
		if !strings.Contains(out, want) {
			t.Errorf("svg lacks %s", want)
		}
	}
	if n := strings.Count(out, "<path d="); n != 6+2 { // 6 edges, 2 arrowheads
		t.Errorf("%d paths, want 8", n)
	}
	type rect struct{ x0, y0, x1, y1 float64 }
	f := func(s string) float64 { v, _ := strconv.ParseFloat(s, 64); return v }
	boxes := map[string]rect{}
	for _, m := range rectRe.FindAllStringSubmatch(out, -1) {
		switch {
		case m[2] != "":
			boxes[m[1]] = rect{f(m[2]), f(m[3]), f(m[2]) + f(m[4]), f(m[3]) + f(m[5])}
		case m[6] != "":
			boxes[m[1]] = rect{f(m[6]) - f(m[8]), f(m[7]) - f(m[9]), f(m[6]) + f(m[8]), f(m[7]) + f(m[9])}
		default:
			var r rect
			for i, p := range strings.Fields(m[10]) {
				x, y, _ := strings.Cut(p, ",")
				if i == 0 || f(x) < r.x0 {
					r.x0 = f(x)
				}
				if i == 0 || f(x) > r.x1 {
					r.x1 = f(x)
				}
				if i == 0 || f(y) < r.y0 {
					r.y0 = f(y)
				}
				if i == 0 || f(y) > r.y1 {
					r.y1 = f(y)
				}
			}
			boxes[m[1]] = r
		}
	}
	if len(boxes) != 5 {
		t.Fatalf("found %d node shapes, want 5:\n%s", len(boxes), out)
	}
	for a, ra := range boxes {
		for b, rb := range boxes {
			if a < b && ra.x0 < rb.x1 && rb.x0 < ra.x1 && ra.y0 < rb.y1 && rb.y0 < ra.y1 {
				t.Errorf("%s %v overlaps %s %v", a, ra, b, rb)
			}
		}
	}
	// top to bottom: each route's target lies below its source, except the loop back
	if !(boxes["start"].y1 <= boxes["n_call"].y0 && boxes["n_call"].y1 <= boxes["n_check"].y0 && boxes["n_check"].y1 <= boxes["n_wait"].y0) {
		t.Errorf("layers out of order: %v", boxes)
	}
}
