package tester

import (
	"fmt"
	"sort"

	"github.com/archflow/archflow/engine"
)

// Data-action outcomes that coverage counts per data_action node.
var actionOutcomes = []string{"success", "failure", "timeout"}

// caseCoverage is what coverage needs of a case beyond its result: the outcome of every
// data-action attempt (node and outcome), read from the trace.
type caseCoverage struct {
	outcomes map[string]bool
}

// Tally is covered of total items.
type Tally struct {
	Covered int `json:"covered"`
	Total   int `json:"total"`
}

func (t Tally) String() string { return fmt.Sprintf("%d/%d", t.Covered, t.Total) }

// Percent is covered/total in percent; nothing to cover is 100%.
func (t Tally) Percent() float64 {
	if t.Total == 0 {
		return 100
	}
	return 100 * float64(t.Covered) / float64(t.Total)
}

// Coverage of one flow by the cases that ran against it.
type Coverage struct {
	Flow     string   `json:"flow"`
	File     string   `json:"file"`
	Nodes    Tally    `json:"nodes"`
	Edges    Tally    `json:"edges"`
	Cases    Tally    `json:"decision_cases"`
	Outcomes Tally    `json:"data_action_outcomes"`
	Missing  []string `json:"missing"`

	// what was covered, for the diagram of the HTML report
	flow        *engine.Flow
	covNodes    map[string]bool
	covEdges    map[*engine.Edge]bool
	covOnError  bool
	covOutcomes map[string]bool // node + "\x00" + outcome
}

// Total is every item together: the figure --coverage-min checks.
func (c *Coverage) Total() Tally {
	return Tally{
		Covered: c.Nodes.Covered + c.Edges.Covered + c.Cases.Covered + c.Outcomes.Covered,
		Total:   c.Nodes.Total + c.Edges.Total + c.Cases.Total + c.Outcomes.Total,
	}
}

func edgeName(e *engine.Edge) string {
	return fmt.Sprintf("%s -> %s (%s)", e.From.Name, e.To.Name, e.Label)
}

// coverage gathers, per flow, the nodes visited, the edges taken (decision cases among them) and
// the outcomes each data action had, over every case that ran.
func coverage(files []*FileResult) []*Coverage {
	type acc struct {
		flow     *engine.Flow
		nodes    map[string]bool
		edges    map[*engine.Edge]bool
		outcomes map[string]bool
		onError  bool
	}
	byFlow := map[*engine.Flow]*acc{}
	var order []*engine.Flow
	for _, fr := range files {
		for _, cr := range fr.Cases {
			if cr.Result == nil {
				continue
			}
			fl := cr.Case.File.Flow
			a := byFlow[fl]
			if a == nil {
				a = &acc{flow: fl, nodes: map[string]bool{}, edges: map[*engine.Edge]bool{}, outcomes: map[string]bool{}}
				byFlow[fl] = a
				order = append(order, fl)
			}
			for _, n := range cr.Result.Path {
				a.nodes[n] = true
			}
			for _, e := range cr.Result.Edges {
				a.edges[e] = true
				a.onError = a.onError || e.Label == "on_error"
			}
			if cr.coverage != nil {
				for k := range cr.coverage.outcomes {
					a.outcomes[k] = true
				}
			}
		}
	}
	sort.Slice(order, func(i, j int) bool { return order[i].File < order[j].File })
	var out []*Coverage
	for _, fl := range order {
		a := byFlow[fl]
		c := &Coverage{Flow: fl.Name, File: fl.File, flow: fl, covNodes: a.nodes, covEdges: a.edges, covOnError: a.onError, covOutcomes: a.outcomes}
		for _, n := range fl.Nodes {
			c.Nodes.Total++
			if a.nodes[n.Name] {
				c.Nodes.Covered++
			} else {
				c.Missing = append(c.Missing, "node "+n.Name)
			}
		}
		for _, e := range fl.Edges {
			c.Edges.Total++
			decision := engine.Decides(e.From)
			if decision {
				c.Cases.Total++
			}
			if a.edges[e] {
				c.Edges.Covered++
				if decision {
					c.Cases.Covered++
				}
			} else {
				what := "edge "
				if decision {
					what = "decision "
				}
				c.Missing = append(c.Missing, what+edgeName(e))
			}
		}
		if fl.OnError != nil { // the flow's error route: taken from whichever node failed
			c.Edges.Total++
			if a.onError {
				c.Edges.Covered++
			} else {
				c.Missing = append(c.Missing, fmt.Sprintf("edge * -> %s (on_error)", fl.OnError.Name))
			}
		}
		for _, n := range fl.Nodes {
			caller, ok := n.Step.(engine.Caller)
			if !ok {
				continue
			}
			for _, o := range caller.Outcomes() {
				c.Outcomes.Total++
				if a.outcomes[n.Name+"\x00"+o] {
					c.Outcomes.Covered++
				} else {
					c.Missing = append(c.Missing, fmt.Sprintf("data action %s: %s", n.Name, o))
				}
			}
		}
		out = append(out, c)
	}
	return out
}
