package temporal_test

import (
	"errors"
	"testing"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/clock"
	archtemporal "github.com/archflow/archflow/engine/temporal"
)

// A long instance continues as new before its history nears the limit, carrying its state: the
// result over all its runs is the one the local engine gives.
func TestLongInstanceContinuesAsNew(t *testing.T) {
	t.Parallel()
	f, src := load(t, "testdata/many-retries.yaml")
	flows := archtemporal.Fixed{F: f, Hash: archtemporal.Hash(src)}
	ids := func() func() string {
		n := 0
		return func() string { n++; return "id-" + string(rune('a'+n)) }
	}
	local := f.Run(t.Context(), map[string]any{"order_id": "L-1"}, &engine.Options{Transport: fakeERP{},
		Clock: func() clock.Clock { return clock.NewVirtualClock(t0) }, UUID: ids(), Seed: 1})

	in := archtemporal.Input{Flow: f.Name, Hash: flows.Hash, Source: string(src), Instance: "id-b", Inputs: engine.Values{"order_id": "L-1"}}
	gen := ids()
	gen() // the first id is the instance's
	start := t0
	runs := 0
	var res engine.Result
	for {
		runs++
		if runs > 50 {
			t.Fatal("more than 50 runs")
		}
		env := newEnvWith(t, &archtemporal.Workflow{Flows: flows, UUID: gen, Seed: 1, HistoryLimit: 60},
			&archtemporal.Activities{Flows: flows, Transport: fakeERP{}})
		env.SetStartTime(start)
		env.ExecuteWorkflow(archtemporal.WorkflowName, in)
		err := env.GetWorkflowError()
		var can *workflow.ContinueAsNewError
		if errors.As(err, &can) {
			var next archtemporal.Input
			if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
				t.Fatal(err)
			}
			if next.Continuation == nil || next.Continuation.State == nil {
				t.Fatal("continued as new without its state")
			}
			in, start = next, next.Continuation.State.Now
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := env.GetWorkflowResult(&res); err != nil {
			t.Fatal(err)
		}
		break
	}
	if runs < 3 {
		t.Fatalf("%d runs: the instance never continued as new", runs)
	}
	archtemporal.Retype(f, &res)
	if g, l := resultJSON(&res), resultJSON(local); g != l {
		t.Errorf("after %d runs:\ntemporal %s\nlocal    %s", runs, g, l)
	}
	t.Logf("%d runs, %d calls, %d waits", runs, res.Calls["push"], len(res.Waits))
}
