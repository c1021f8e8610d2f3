// Package svg draws a directed graph as a self-contained SVG picture, in process: a layered
// (Sugiyama-style) layout, top to bottom, with the shapes and colours Graphviz attributes ask
// for. It owns the pictures of `archflow graph --format svg` and of the coverage report, so that
// neither needs Graphviz installed. Input is either a Graph built in Go or the subset of the DOT
// language that archflow writes (ParseDOT).
package svg

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
)

// Graph is what to draw: nodes in declaration order (which also orders each layer at first)
// and edges between them.
type Graph struct {
	Name  string
	Nodes []*Node
	Edges []*Edge
}

// Node is a box. Shape is one of box, rounded, diamond, oval, circle, parallelogram, note.
type Node struct {
	ID          string
	Label       string // lines separated by \n
	Shape       string
	Fill        string // "" is white
	Stroke      string // "" is dark grey
	PenWidth    float64
	Dashed      bool
	Peripheries int     // 2 draws a double outline (end nodes)
	FontSize    float64 // 0 is 12
	Class       string  // CSS class on the node's <g>
	Title       string  // tooltip
}

// Edge is an arrow from one node to another.
type Edge struct {
	From, To  string
	Label     string
	Color     string
	FontColor string
	PenWidth  float64
	Dashed    bool
	Class     string
	Title     string
}

const (
	layerGap  = 64.0
	nodeGap   = 36.0
	margin    = 24.0
	lineH     = 15.0
	charW     = 6.9 // average advance of a 12px sans-serif character
	defStroke = "#444444"
)

type box struct {
	n          *Node
	layer, pos int
	x, y, w, h float64 // centre and size
}

// Render writes g as an SVG document.
func Render(w io.Writer, g *Graph) error {
	_, err := io.WriteString(w, RenderString(g))
	return err
}

// RenderString returns g as an SVG document.
func RenderString(g *Graph) string {
	boxes, _ := layout(g)
	var b strings.Builder
	width, height := 0.0, 0.0
	for _, bx := range boxes {
		width = math.Max(width, bx.x+bx.w/2)
		height = math.Max(height, bx.y+bx.h/2)
	}
	back := backEdges(g, boxes)
	extra := 0.0
	if len(back) > 0 {
		extra = 40 + 18*float64(len(back))
	}
	labelRoom := 0.0
	for _, e := range g.Edges {
		labelRoom = math.Max(labelRoom, float64(len(e.Label))*charW*0.85)
	}
	width += margin + extra + labelRoom/2
	height += margin
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="Helvetica, Arial, sans-serif" role="img">`+"\n",
		width, height, width, height)
	if g.Name != "" {
		fmt.Fprintf(&b, "<title>%s</title>\n", esc(g.Name))
	}
	b.WriteString("<defs>\n")
	colors := map[string]bool{}
	for _, e := range g.Edges {
		colors[edgeColor(e)] = true
	}
	for _, c := range sortedKeys(colors) {
		fmt.Fprintf(&b, `<marker id="%s" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="%s"/></marker>`+"\n", markerID(g.Name, c), esc(c))
	}
	b.WriteString("</defs>\n")
	b.WriteString(`<rect x="0" y="0" width="100%" height="100%" fill="#ffffff"/>` + "\n")
	drawEdges(&b, g, boxes, back, width-margin-extra-labelRoom/2)
	for _, n := range g.Nodes {
		drawNode(&b, g.Name, boxes[n.ID])
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// markerID names a colour's arrowhead. Ids carry the graph's name, so that several pictures in
// one HTML page (the coverage report) do not share ids.
func markerID(graph, color string) string {
	return idPart(graph) + "arrow-" + idStrip.Replace(color)
}

var idStrip = strings.NewReplacer("#", "", "(", "", ")", "", ",", "", " ", "", "\"", "", "'", "", "<", "", ">", "", "&", "")

func idPart(s string) string {
	if s == "" {
		return ""
	}
	return idStrip.Replace(s) + "-"
}

func edgeColor(e *Edge) string {
	if e.Color != "" {
		return e.Color
	}
	return defStroke
}

func esc(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;")
	return r.Replace(s)
}

// layout assigns layers (longest path over the graph with its back edges reversed), orders each
// layer by the barycentre of its neighbours, and places the boxes.
func layout(g *Graph) (map[string]*box, [][]*box) {
	boxes := map[string]*box{}
	for _, n := range g.Nodes {
		lines := strings.Split(n.Label, "\n")
		longest := 0
		for _, l := range lines {
			longest = max(longest, len([]rune(l)))
		}
		fs := n.FontSize
		if fs == 0 {
			fs = 12
		}
		w := math.Max(float64(longest)*charW*fs/12+28, 44)
		h := float64(len(lines))*lineH*fs/12 + 18
		switch n.Shape {
		case "diamond":
			w, h = w*1.5, h*1.6
		case "circle":
			d := math.Max(w, h)
			w, h = d, d
		case "oval":
			w, h = w*1.2, h*1.15
		case "parallelogram":
			w += 24
		}
		boxes[n.ID] = &box{n: n, w: w, h: h}
	}
	succ := map[string][]string{}
	pred := map[string][]string{}
	back := map[*Edge]bool{}
	// depth-first from the nodes in order: an edge to a node on the stack closes a cycle
	state := map[string]int{} // 0 new, 1 on stack, 2 done
	out := map[string][]*Edge{}
	for _, e := range g.Edges {
		if boxes[e.From] != nil && boxes[e.To] != nil {
			out[e.From] = append(out[e.From], e)
		}
	}
	var dfs func(id string)
	dfs = func(id string) {
		state[id] = 1
		for _, e := range out[id] {
			switch state[e.To] {
			case 0:
				dfs(e.To)
			case 1:
				back[e] = true
			}
		}
		state[id] = 2
	}
	roots := []string{}
	hasPred := map[string]bool{}
	for _, e := range g.Edges {
		if e.From != e.To {
			hasPred[e.To] = true
		}
	}
	for _, n := range g.Nodes {
		if !hasPred[n.ID] {
			roots = append(roots, n.ID)
		}
	}
	for _, r := range roots {
		if state[r] == 0 {
			dfs(r)
		}
	}
	for _, n := range g.Nodes {
		if state[n.ID] == 0 {
			dfs(n.ID)
		}
	}
	for _, e := range g.Edges {
		if boxes[e.From] == nil || boxes[e.To] == nil || e.From == e.To || back[e] {
			continue
		}
		succ[e.From] = append(succ[e.From], e.To)
		pred[e.To] = append(pred[e.To], e.From)
	}
	// longest path layering, in topological order
	indeg := map[string]int{}
	for _, n := range g.Nodes {
		indeg[n.ID] = len(pred[n.ID])
	}
	var queue []string
	for _, n := range g.Nodes {
		if indeg[n.ID] == 0 {
			queue = append(queue, n.ID)
		}
	}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		for _, s := range succ[id] {
			boxes[s].layer = max(boxes[s].layer, boxes[id].layer+1)
			indeg[s]--
			if indeg[s] == 0 {
				queue = append(queue, s)
			}
		}
	}
	nLayers := 0
	for _, bx := range boxes {
		nLayers = max(nLayers, bx.layer+1)
	}
	layers := make([][]*box, nLayers)
	for _, n := range g.Nodes {
		bx := boxes[n.ID]
		layers[bx.layer] = append(layers[bx.layer], bx)
	}
	reorder := func(l []*box, neigh map[string][]string) {
		bary := map[*box]float64{}
		for i, bx := range l {
			sum, k := 0.0, 0
			for _, m := range neigh[bx.n.ID] {
				sum += float64(boxes[m].pos)
				k++
			}
			if k == 0 {
				bary[bx] = float64(i)
			} else {
				bary[bx] = sum / float64(k)
			}
		}
		sort.SliceStable(l, func(i, j int) bool { return bary[l[i]] < bary[l[j]] })
		for i, bx := range l {
			bx.pos = i
		}
	}
	for _, l := range layers {
		for i, bx := range l {
			bx.pos = i
		}
	}
	for iter := 0; iter < 4; iter++ {
		for i := 1; i < len(layers); i++ {
			reorder(layers[i], pred)
		}
		for i := len(layers) - 2; i >= 0; i-- {
			reorder(layers[i], succ)
		}
	}
	// y: layers one under another
	y := margin
	for _, l := range layers {
		h := 0.0
		for _, bx := range l {
			h = math.Max(h, bx.h)
		}
		for _, bx := range l {
			bx.y = y + h/2
		}
		y += h + layerGap
	}
	// x: each layer packed, then each box pulled towards its parents, keeping order and gaps
	widest := 0.0
	for _, l := range layers {
		widest = math.Max(widest, layerWidth(l))
	}
	for _, l := range layers {
		x := margin + (widest-layerWidth(l))/2
		for _, bx := range l {
			bx.x = x + bx.w/2
			x += bx.w + nodeGap
		}
	}
	for iter := 0; iter < 3; iter++ {
		for i := 1; i < len(layers); i++ {
			align(layers[i], pred, boxes)
		}
	}
	// shift everything right so that nothing starts left of the margin
	minX := math.Inf(1)
	for _, bx := range boxes {
		minX = math.Min(minX, bx.x-bx.w/2)
	}
	for _, bx := range boxes {
		bx.x += margin - minX
	}
	return boxes, layers
}

func layerWidth(l []*box) float64 {
	w := 0.0
	for i, bx := range l {
		if i > 0 {
			w += nodeGap
		}
		w += bx.w
	}
	return w
}

// align moves each box of a layer towards the mean x of its parents, then removes overlaps
// left to right and right to left.
func align(l []*box, pred map[string][]string, boxes map[string]*box) {
	for _, bx := range l {
		if ps := pred[bx.n.ID]; len(ps) > 0 {
			sum := 0.0
			for _, p := range ps {
				sum += boxes[p].x
			}
			bx.x = sum / float64(len(ps))
		}
	}
	for i := 1; i < len(l); i++ {
		minX := l[i-1].x + l[i-1].w/2 + nodeGap + l[i].w/2
		if l[i].x < minX {
			l[i].x = minX
		}
	}
}

// backEdges are the edges that point up (or sideways): drawn around the right of the picture.
func backEdges(g *Graph, boxes map[string]*box) map[*Edge]int {
	out := map[*Edge]int{}
	k := 0
	for _, e := range g.Edges {
		f, t := boxes[e.From], boxes[e.To]
		if f == nil || t == nil {
			continue
		}
		if t.layer <= f.layer {
			out[e] = k
			k++
		}
	}
	return out
}

func drawEdges(b *strings.Builder, g *Graph, boxes map[string]*box, back map[*Edge]int, right float64) {
	// spread the ends of edges that share a pair of nodes
	type pair struct{ from, to string }
	count, seen := map[pair]int{}, map[pair]int{}
	for _, e := range g.Edges {
		count[pair{e.From, e.To}]++
	}
	outs, ins := map[string]int{}, map[string]int{}
	for _, e := range g.Edges {
		if _, isBack := back[e]; !isBack {
			outs[e.From]++
			ins[e.To]++
		}
	}
	outSeen, inSeen := map[string]int{}, map[string]int{}
	// order the forward edges leaving a node by where they go, so that they do not cross
	forward := []*Edge{}
	for _, e := range g.Edges {
		if _, isBack := back[e]; !isBack && boxes[e.From] != nil && boxes[e.To] != nil {
			forward = append(forward, e)
		}
	}
	sort.SliceStable(forward, func(i, j int) bool { return boxes[forward[i].To].x < boxes[forward[j].To].x })
	outSlot, inSlot := map[*Edge]int{}, map[*Edge]int{}
	for _, e := range forward {
		outSlot[e] = outSeen[e.From]
		outSeen[e.From]++
	}
	sort.SliceStable(forward, func(i, j int) bool { return boxes[forward[i].From].x < boxes[forward[j].From].x })
	for _, e := range forward {
		inSlot[e] = inSeen[e.To]
		inSeen[e.To]++
	}
	for _, e := range g.Edges {
		f, t := boxes[e.From], boxes[e.To]
		if f == nil || t == nil {
			continue
		}
		p := pair{e.From, e.To}
		seen[p]++
		color := edgeColor(e)
		pw := e.PenWidth
		if pw == 0 {
			pw = 1.2
		}
		dash := ""
		if e.Dashed {
			dash = ` stroke-dasharray="5,4"`
		}
		var d string
		var lx, ly float64
		anchor := "middle"
		if k, isBack := back[e]; isBack {
			// down out of the source, right past every box, up above the target, and down into
			// its top: the horizontal runs lie between layers, where there are no boxes
			step := 6 * float64(k)
			x1, y1 := f.x+f.w/4, f.y+bottom(f, f.w/4)
			x2, y2 := t.x+t.w/4, t.y-bottom(t, t.w/4)
			yBelow := f.y + f.h/2 + 14 + step
			yAbove := t.y - t.h/2 - 14 - step
			cx := right + 30 + 18*float64(k)
			d = fmt.Sprintf("M%.1f,%.1f V%.1f H%.1f V%.1f H%.1f V%.1f", x1, y1, yBelow, cx, yAbove, x2, y2)
			lx, ly = cx+4, (yBelow+yAbove)/2
			anchor = "start"
		} else {
			spreadOut := (float64(outSlot[e]) - float64(outs[e.From]-1)/2) * math.Min(22, f.w/float64(outs[e.From]+1))
			spreadIn := (float64(inSlot[e]) - float64(ins[e.To]-1)/2) * math.Min(22, t.w/float64(ins[e.To]+1))
			x1, y1 := f.x+spreadOut, f.y+bottom(f, spreadOut)
			x2, y2 := t.x+spreadIn, t.y-bottom(t, spreadIn)
			dy := (y2 - y1) / 2
			d = fmt.Sprintf("M%.1f,%.1f C%.1f,%.1f %.1f,%.1f %.1f,%.1f", x1, y1, x1, y1+dy, x2, y2-dy, x2, y2)
			// labels of parallel edges at different points along them
			at := 0.5
			if n := count[p]; n > 1 {
				at = float64(seen[p]) / float64(n+1)
			}
			lx, ly = cubic(x1, x1, x2, x2, at), cubic(y1, y1+dy, y2-dy, y2, at)+4
		}
		cls := ""
		if e.Class != "" {
			cls = ` class="` + esc(e.Class) + `"`
		}
		fmt.Fprintf(b, `<g%s>`, cls)
		if e.Title != "" {
			fmt.Fprintf(b, "<title>%s</title>", esc(e.Title))
		}
		fmt.Fprintf(b, `<path d="%s" fill="none" stroke="%s" stroke-width="%.1f" stroke-linejoin="round"%s marker-end="url(#%s)"/>`, d, esc(color), pw, dash, markerID(g.Name, color))
		if e.Label != "" {
			fc := e.FontColor
			if fc == "" {
				fc = "#555555"
			}
			tw := float64(len([]rune(e.Label)))*charW*0.85 + 6
			rx := lx - tw/2
			if anchor == "start" {
				rx = lx - 3
			}
			fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="14" fill="#ffffff" fill-opacity="0.85"/>`, rx, ly-10, tw)
			fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="10" fill="%s" text-anchor="%s">%s</text>`, lx, ly, esc(fc), anchor, esc(e.Label))
		}
		b.WriteString("</g>\n")
	}
}

// cubic is one coordinate of a cubic Bézier curve at t.
func cubic(p0, p1, p2, p3, t float64) float64 {
	u := 1 - t
	return u*u*u*p0 + 3*u*u*t*p1 + 3*u*t*t*p2 + t*t*t*p3
}

// bottom is the distance from a box's centre to its outline, below the centre, at offset dx.
func bottom(bx *box, dx float64) float64 {
	switch bx.n.Shape {
	case "diamond":
		return bx.h / 2 * math.Max(0.2, 1-math.Abs(dx)/(bx.w/2))
	case "oval", "circle":
		r := math.Abs(dx) / (bx.w / 2)
		return bx.h / 2 * math.Sqrt(math.Max(0.04, 1-r*r))
	}
	return bx.h / 2
}

func drawNode(b *strings.Builder, graph string, bx *box) {
	n := bx.n
	fill := n.Fill
	if fill == "" {
		fill = "#ffffff"
	}
	stroke := n.Stroke
	if stroke == "" {
		stroke = defStroke
	}
	pw := n.PenWidth
	if pw == 0 {
		pw = 1.2
	}
	dash := ""
	if n.Dashed {
		dash = ` stroke-dasharray="4,3"`
	}
	cls := "node"
	if n.Class != "" {
		cls += " " + n.Class
	}
	fmt.Fprintf(b, `<g class="%s" id="%snode-%s">`, esc(cls), esc(idPart(graph)), esc(n.ID))
	if n.Title != "" {
		fmt.Fprintf(b, "<title>%s</title>", esc(n.Title))
	}
	attrs := fmt.Sprintf(`fill="%s" stroke="%s" stroke-width="%.1f"%s`, esc(fill), esc(stroke), pw, dash)
	x, y, w, h := bx.x, bx.y, bx.w, bx.h
	switch n.Shape {
	case "diamond":
		fmt.Fprintf(b, `<polygon points="%.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f" %s/>`, x, y-h/2, x+w/2, y, x, y+h/2, x-w/2, y, attrs)
	case "oval", "circle":
		fmt.Fprintf(b, `<ellipse cx="%.1f" cy="%.1f" rx="%.1f" ry="%.1f" %s/>`, x, y, w/2, h/2, attrs)
		if n.Peripheries > 1 {
			fmt.Fprintf(b, `<ellipse cx="%.1f" cy="%.1f" rx="%.1f" ry="%.1f" fill="none" stroke="%s" stroke-width="%.1f"/>`, x, y, w/2-4, h/2-4, esc(stroke), pw)
		}
	case "parallelogram":
		s := 12.0
		fmt.Fprintf(b, `<polygon points="%.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f" %s/>`, x-w/2+s, y-h/2, x+w/2, y-h/2, x+w/2-s, y+h/2, x-w/2, y+h/2, attrs)
	case "note":
		c := 10.0
		fmt.Fprintf(b, `<path d="M%.1f,%.1f H%.1f L%.1f,%.1f V%.1f H%.1f Z M%.1f,%.1f V%.1f H%.1f" %s/>`,
			x-w/2, y-h/2, x+w/2-c, x+w/2, y-h/2+c, y+h/2, x-w/2, x+w/2-c, y-h/2, y-h/2+c, x+w/2, attrs)
	case "box":
		fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" %s/>`, x-w/2, y-h/2, w, h, attrs)
	default: // rounded
		fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="8" ry="8" %s/>`, x-w/2, y-h/2, w, h, attrs)
	}
	lines := strings.Split(n.Label, "\n")
	fs := n.FontSize
	if fs == 0 {
		fs = 12
	}
	lh := lineH * fs / 12
	top := y - float64(len(lines)-1)*lh/2 + fs*0.35
	for i, l := range lines {
		weight := ""
		size := fs
		if i == 0 && len(lines) > 1 {
			weight = ` font-weight="bold"`
		} else if i > 0 {
			size = fs - 1
		}
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="%.0f" text-anchor="middle" fill="#222222"%s>%s</text>`, x, top+float64(i)*lh, size, weight, esc(l))
	}
	b.WriteString("</g>\n")
}
