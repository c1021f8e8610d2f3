// Package lint holds the warnings of SPEC §9: nodes that cannot be reached or cannot reach an
// end, and the classic mistakes of hand-built retry loops. It reads a compiled flow and asks its
// nodes what they do (wait, call out, decide, notify) through the engine's trait interfaces.
package lint

import (
	"slices"
	"strings"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/yamldoc"
)

// Lint rule ids, as validate prints them.
const (
	RuleLoopWithoutWait   = "loop-without-wait"
	RuleUnboundedRetry    = "unbounded-retry"
	RuleUncheckedBody     = "unchecked-body"
	RuleCounterNotReset   = "counter-not-reset"
	RuleNoCorrelationID   = "no-correlation-id"
	RuleIgnoresRetryAfter = "ignores-retry-after"
	RuleUnsafeRetry       = "unsafe-retry"
)

// Check returns the warnings of a compiled flow, sorted.
func Check(f *engine.Flow) yamldoc.ErrorList {
	c := &checker{flow: f}
	c.graphChecks()
	c.lint()
	return c.errs.Sort()
}

type checker struct {
	flow     *engine.Flow
	errs     yamldoc.ErrorList
	assigned *assignedSets // computed on first use
}

// lint reports the classic mistakes of hand-built retry loops (SPEC §9) as warnings.
func (c *checker) lint() {
	f := c.flow
	loops := cycles(f.Nodes, nil)
	inLoop := map[*engine.Node][]*engine.Node{}
	for _, scc := range loops {
		for _, n := range scc {
			inLoop[n] = scc
		}
	}

	// loop without wait: a cycle through a data_action that avoids every wait node
	noWait := cycles(f.Nodes, func(n *engine.Node) bool { return !engine.Waits(n) })
	for _, scc := range noWait {
		for _, n := range scc {
			if engine.CallsOut(n) != nil {
				c.errs.Warn(n.Pos, RuleLoopWithoutWait, "put a wait node in the loop (backoff, honouring Retry-After)",
					"node %s is retried in a loop with no wait: every failure calls again at once (thundering herd)", n.Name)
			}
		}
	}

	for _, scc := range loops {
		changed := map[string]bool{}
		for _, n := range scc {
			for _, v := range setsOf(n) {
				changed[v.Name] = true
			}
		}
		bounded := false
		var counters []*engine.Node
		for _, n := range scc {
			if !engine.Decides(n) {
				continue
			}
			for _, e := range n.Reads {
				for _, v := range e.Vars() {
					if changed[v] {
						bounded = true
						counters = append(counters, n)
					}
				}
			}
		}
		if !bounded {
			c.errs.Warn(first(scc).Pos, RuleUnboundedRetry, "count attempts in a variable and leave the loop through a decision on it",
				"the loop through %s has no decision on a variable the loop changes: it may never end", names(scc))
		}
		c.lintCounters(scc, changed)
		c.lintRetryAfter(scc)
	}

	for _, n := range f.Nodes {
		a := engine.CallsOut(n)
		if a == nil {
			continue
		}
		if a.Success == nil && !readsBody(a) {
			c.errs.Warn(n.Pos, RuleUncheckedBody, "add success: (e.g. status < 300 && body?.success != false) or map a body field in outputs",
				"node %s: action %s checks only the status, so a 200 with success:false passes as success", n.Name, a.Name)
		}
		retried := engine.RetriesSelf(n) || inLoop[n] != nil
		if retried && (a.Method == "POST" || a.Method == "PATCH") && a.IdempotencyKey == nil {
			c.errs.Warn(n.Pos, RuleUnsafeRetry, "add idempotency_key: \"{{ request_id }}\" so the server can drop duplicates",
				"node %s retries a %s without an idempotency_key: a retry after a lost response may do the work twice", n.Name, a.Method)
		}
	}
	c.lintCorrelation()
}

// lintCounters warns of a loop counter that is not set on every path from start.
func (c *checker) lintCounters(scc []*engine.Node, changed map[string]bool) {
	if c.assigned == nil {
		c.assigned = mustAssigned(c.flow)
	}
	seen := map[string]bool{}
	for _, n := range scc {
		if !engine.Decides(n) {
			continue
		}
		for _, e := range n.Reads {
			for _, v := range e.Vars() {
				if !changed[v] || seen[v] || c.flow.Var(v) == nil {
					continue
				}
				seen[v] = true
				if !c.assigned.has(loopEntry(c.flow, scc), v) {
					c.errs.Warn(n.Pos, RuleCounterNotReset, "assign it (e.g. "+v+": 0) before the loop, on every path from start",
						"node %s reads the counter %s, which is not reset on every path from start", n.Name, v)
				}
			}
		}
	}
}

// lintRetryAfter warns of a retry loop whose waits ignore Retry-After.
func (c *checker) lintRetryAfter(scc []*engine.Node) {
	fromHeader := map[string]bool{}
	for _, a := range c.flow.Actions {
		for _, o := range a.Outputs {
			if o.Expr.Reads("retry_after") || o.Expr.Reads("headers") {
				fromHeader[o.Var.Name] = true
			}
		}
	}
	var call, wait *engine.Node
	honours := false
	for _, n := range scc {
		switch {
		case engine.CallsOut(n) != nil:
			call = n
		case engine.Waits(n):
			wait = n
			for _, e := range n.Reads {
				for _, v := range e.Vars() {
					if v == "retry_after" || fromHeader[v] {
						honours = true
					}
				}
			}
		}
	}
	if call != nil && wait != nil && !honours {
		c.errs.Warn(wait.Pos, RuleIgnoresRetryAfter, "map retry_after(headers) to a variable in outputs and wait for it when it is set",
			"node %s waits before retrying %s without reading Retry-After: a 429 or 503 asking for more time is ignored", wait.Name, call.Name)
	}
}

// lintCorrelation warns of a notify on a failure path whose text names no id.
func (c *checker) lintCorrelation() {
	onFailure := map[*engine.Node]bool{}
	var walk func(n *engine.Node)
	walk = func(n *engine.Node) {
		if onFailure[n] {
			return
		}
		onFailure[n] = true
		for _, e := range n.Edges {
			walk(e.To)
		}
	}
	for _, e := range c.flow.Edges {
		if e.Label == "on_failure" || e.Label == "on_timeout" {
			walk(e.To)
		}
	}
	if c.flow.OnError != nil {
		walk(c.flow.OnError)
	}
	for _, n := range c.flow.Nodes {
		if engine.NotifiesOn(n) == nil || !onFailure[n] {
			continue
		}
		hasID := false
		for _, e := range n.Reads {
			for _, v := range e.Vars() {
				l := strings.ToLower(v)
				if v == "instance" || l == "id" || strings.HasSuffix(l, "_id") || strings.HasSuffix(l, "id") && len(l) > 2 && !strings.HasSuffix(l, "valid") {
					hasID = true
				}
			}
		}
		if !hasID {
			c.errs.Warn(n.Pos, RuleNoCorrelationID, "put {{ request_id }} or {{ instance.id }} in the subject or body",
				"node %s escalates a failure without a correlation id: nobody can find the failed call", n.Name)
		}
	}
}

func setsOf(n *engine.Node) []*engine.Variable {
	out := append([]*engine.Variable(nil), n.Sets...)
	if a := engine.CallsOut(n); a != nil {
		for _, o := range a.Outputs {
			out = append(out, o.Var)
		}
	}
	return out
}

func readsBody(a *engine.Action) bool {
	for _, o := range a.Outputs {
		if o.Expr.Reads("body") || o.Expr.Reads("text") {
			return true
		}
	}
	return a.Classify != nil && (a.Classify.Reads("body") || a.Classify.Reads("text"))
}

func first(scc []*engine.Node) *engine.Node {
	best := scc[0]
	for _, n := range scc {
		if n.Index < best.Index {
			best = n
		}
	}
	return best
}

func names(scc []*engine.Node) string {
	var out []string
	for _, n := range sortByIndex(scc) {
		out = append(out, n.Name)
	}
	return strings.Join(out, ", ")
}

func sortByIndex(ns []*engine.Node) []*engine.Node {
	out := slices.Clone(ns)
	slices.SortFunc(out, func(a, b *engine.Node) int { return a.Index - b.Index })
	return out
}

// loopEntry is the node of the loop that is entered first from outside it (or its first node).
func loopEntry(f *engine.Flow, scc []*engine.Node) *engine.Node {
	in := map[*engine.Node]bool{}
	for _, n := range scc {
		in[n] = true
	}
	for _, e := range f.Edges {
		if !in[e.From] && in[e.To] {
			return e.To
		}
	}
	if in[f.Start] {
		return f.Start
	}
	return first(scc)
}

// assignedSets is, for each node (by index), the variables (by their index in f.Vars, one bit
// each) that an assign or an outputs map has set on every path from start to it.
type assignedSets struct {
	vars map[string]int
	in   [][]uint64
}

// has says whether name is set on every path from start to n.
func (a *assignedSets) has(n *engine.Node, name string) bool {
	i, ok := a.vars[name]
	return ok && a.in[n.Index][i/64]&(1<<(i%64)) != 0
}

// mustAssigned computes the must-assigned sets: a forward dataflow over the graph, the
// intersection over predecessors, from the top of the lattice (every variable) down.
func mustAssigned(f *engine.Flow) *assignedSets {
	a := &assignedSets{vars: make(map[string]int, len(f.Vars))}
	words := (len(f.Vars) + 63) / 64
	newSet := func() []uint64 { return make([]uint64, words) }
	all, inputs := newSet(), newSet()
	for i, v := range f.Vars {
		a.vars[v.Name] = i
		all[i/64] |= 1 << (i % 64)
		if v.Input {
			inputs[i/64] |= 1 << (i % 64)
		}
	}
	preds := make([][]*engine.Node, len(f.Nodes))
	for _, e := range f.Edges {
		preds[e.To.Index] = append(preds[e.To.Index], e.From)
	}
	a.in = make([][]uint64, len(f.Nodes))
	out := make([][]uint64, len(f.Nodes))
	for _, n := range f.Nodes {
		a.in[n.Index], out[n.Index] = slices.Clone(all), slices.Clone(all)
	}
	s := newSet()
	for changed := true; changed; {
		changed = false
		for _, n := range f.Nodes {
			switch {
			case n == f.Start || n == f.OnError:
				copy(s, inputs)
			case len(preds[n.Index]) > 0:
				copy(s, all)
			default:
				clear(s)
			}
			for _, p := range preds[n.Index] {
				for w := range s {
					s[w] &= out[p.Index][w]
				}
			}
			o := slices.Clone(s)
			for _, v := range setsOf(n) {
				if i, ok := a.vars[v.Name]; ok {
					o[i/64] |= 1 << (i % 64)
				}
			}
			if !slices.Equal(s, a.in[n.Index]) || !slices.Equal(o, out[n.Index]) {
				changed = true
				copy(a.in[n.Index], s)
				out[n.Index] = o
			}
		}
	}
	return a
}

// cycles returns the strongly connected components that hold a cycle, among the nodes keep
// accepts (nil keeps all), by Tarjan's algorithm.
func cycles(nodes []*engine.Node, keep func(*engine.Node) bool) [][]*engine.Node {
	index := map[*engine.Node]int{}
	low := map[*engine.Node]int{}
	onStack := map[*engine.Node]bool{}
	var stack []*engine.Node
	var out [][]*engine.Node
	next := 0
	ok := func(n *engine.Node) bool { return keep == nil || keep(n) }
	var strong func(v *engine.Node)
	strong = func(v *engine.Node) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		onStack[v] = true
		for _, e := range v.Edges {
			w := e.To
			if !ok(w) {
				continue
			}
			if _, seen := index[w]; !seen {
				strong(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] == index[v] {
			var scc []*engine.Node
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				scc = append(scc, w)
				if w == v {
					break
				}
			}
			if len(scc) > 1 || selfLoop(v) {
				out = append(out, scc)
			}
		}
	}
	for _, n := range nodes {
		if _, seen := index[n]; !seen && ok(n) {
			strong(n)
		}
	}
	return out
}

func selfLoop(n *engine.Node) bool {
	for _, e := range n.Edges {
		if e.To == n {
			return true
		}
	}
	return false
}

// graphChecks reports unreachable nodes and nodes with no path to an end.
func (c *checker) graphChecks() {
	f := c.flow
	if f.Start == nil {
		return
	}
	reach := map[*engine.Node]bool{}
	var walk func(n *engine.Node)
	walk = func(n *engine.Node) {
		if reach[n] {
			return
		}
		reach[n] = true
		for _, e := range n.Edges {
			walk(e.To)
		}
	}
	walk(f.Start)
	if f.OnError != nil {
		walk(f.OnError)
	}
	for _, n := range f.Nodes {
		if !reach[n] {
			c.errs.Warn(n.Pos, "unreachable", "route to it or delete it", "node %s is unreachable from start", n.Name)
		}
	}
	// reverse reachability from end nodes: one walk over reversed edges, linear in the graph (a
	// fixpoint over the node list was quadratic on long chains)
	preds := make(map[*engine.Node][]*engine.Node, len(f.Nodes))
	toEnd := make(map[*engine.Node]bool, len(f.Nodes))
	var queue []*engine.Node
	for _, n := range f.Nodes {
		for _, e := range n.Edges {
			preds[e.To] = append(preds[e.To], n)
		}
		if engine.Ends(n) {
			toEnd[n] = true
			queue = append(queue, n)
		}
	}
	for len(queue) > 0 {
		n := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		for _, p := range preds[n] {
			if !toEnd[p] {
				toEnd[p] = true
				queue = append(queue, p)
			}
		}
	}
	for _, n := range f.Nodes {
		if reach[n] && !toEnd[n] {
			c.errs.Warn(n.Pos, "no-end", "give it a route that reaches an end node", "node %s has no path to an end node", n.Name)
		}
	}
}
