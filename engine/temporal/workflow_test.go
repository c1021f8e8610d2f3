package temporal_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/clock"
	archtemporal "github.com/archflow/archflow/engine/temporal"
	"github.com/archflow/archflow/engine/transport"
	"github.com/archflow/archflow/nodes"
)

var t0 = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func newEnv(t testing.TB, flows archtemporal.Flows, acts *archtemporal.Activities) *testsuite.TestWorkflowEnvironment {
	if acts == nil {
		acts = &archtemporal.Activities{Flows: flows}
	}
	return newEnvWith(t, &archtemporal.Workflow{Flows: flows}, acts)
}

func newEnvWith(t testing.TB, w *archtemporal.Workflow, acts *archtemporal.Activities) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(t0)
	env.SetTestTimeout(30 * time.Second)
	archtemporal.Register(env, w, acts)
	return env
}

func load(t testing.TB, path string) (*engine.Flow, []byte) {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := nodes.Builtins().Load(path, src)
	if err != nil {
		t.Fatal(err)
	}
	return f, src
}

// archflow cancel: the instance stops in its wait and ends interrupted, with its variables.
func TestCancelledInstanceEndsInterrupted(t *testing.T) {
	t.Parallel()
	f, src := load(t, "testdata/wait.yaml")
	flows := archtemporal.Fixed{F: f, Hash: archtemporal.Hash(src)}
	env := newEnv(t, flows, nil)
	env.RegisterDelayedCallback(env.CancelWorkflow, 10*time.Minute)
	env.ExecuteWorkflow(archtemporal.WorkflowName, archtemporal.Input{Flow: f.Name, Hash: flows.Hash, Source: string(src),
		Instance: "i-1", Inputs: engine.Values{"order_id": "A-1"}})
	var res engine.Result
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Outcome != engine.OutcomeInterrupted || res.StoppedAt != "pause" || res.Variables["stage"] != "waiting" {
		t.Fatalf("got outcome %s stopped at %q variables %v", res.Outcome, res.StoppedAt, res.Variables)
	}
	if got := res.Ended.Sub(res.Started); got != 10*time.Minute {
		t.Fatalf("ended %s after the start, want 10m (when it was cancelled)", got)
	}
}

// A worker runs only the flows it serves: another name, or a version it never loaded, is refused.
func TestWorkerRefusesFlowsItDoesNotServe(t *testing.T) {
	t.Parallel()
	reg := archtemporal.NewServed(nodes.Builtins(), t.TempDir())
	if err := reg.Load([]string{"testdata/wait.yaml"}); err != nil {
		t.Fatal(err)
	}
	_, src := load(t, "testdata/wait.yaml")
	for _, tc := range []struct{ name, flow, hash, want string }{
		{"unserved name", "self-healing", archtemporal.Hash(src), `does not serve flow "self-healing"`},
		{"unknown version", "waits", archtemporal.Hash([]byte("flow: waits # edited elsewhere")), "neither a current file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, reg, nil)
			env.ExecuteWorkflow(archtemporal.WorkflowName, archtemporal.Input{Flow: tc.flow, Hash: tc.hash, Instance: "i-1",
				Inputs: engine.Values{"order_id": "A-1"}})
			// the workflow task fails (Temporal retries it for a worker that serves the flow)
			err := env.GetWorkflowError()
			var pe *temporal.PanicError
			if !errors.As(err, &pe) || !strings.Contains(pe.Error(), tc.want) {
				t.Fatalf("got %v, want a failed workflow task saying %q", err, tc.want)
			}
		})
	}
	// and the served version runs
	env := newEnv(t, reg, nil)
	env.ExecuteWorkflow(archtemporal.WorkflowName, archtemporal.Input{Flow: "waits", Hash: archtemporal.Hash(src), Instance: "i-1",
		Inputs: engine.Values{"order_id": "A-1"}})
	var res engine.Result
	if err := env.GetWorkflowResult(&res); err != nil || res.Outcome != "success" {
		t.Fatalf("served flow: %v %+v", err, res)
	}
}

// An edited file keeps its earlier version in the state directory: a new worker still serves it.
func TestKeptVersionsSurviveAnEdit(t *testing.T) {
	t.Parallel()
	dir, state := t.TempDir(), t.TempDir()
	path := dir + "/wait.yaml"
	v1, _ := os.ReadFile("testdata/wait.yaml")
	v2 := []byte(strings.Replace(string(v1), "wait: 1h", "wait: 2h", 1))
	write := func(b []byte) {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(v1)
	if err := archtemporal.NewServed(nodes.Builtins(), state).Load([]string{dir}); err != nil {
		t.Fatal(err)
	}
	write(v2)
	reg := archtemporal.NewServed(nodes.Builtins(), state)
	if err := reg.Load([]string{dir}); err != nil {
		t.Fatal(err)
	}
	for _, src := range [][]byte{v1, v2} {
		if _, err := reg.Flow("waits", archtemporal.Hash(src)); err != nil {
			t.Errorf("version %s: %v", archtemporal.Hash(src)[:19], err)
		}
	}
	if _, err := archtemporal.NewServed(nodes.Builtins(), "").Flow("waits", archtemporal.Hash(v1)); err == nil {
		t.Error("an empty registry served a flow")
	}
}

// fakeERP answers 503 in-process, so the benchmarks measure the engines, not the network.
type fakeERP struct{}

func (fakeERP) Do(ctx context.Context, req *transport.Request) (*transport.Response, error) {
	return &transport.Response{Status: 503, Header: http.Header{"Content-Type": {"application/json"}},
		Body: []byte(`{"success": false, "error_code": "SERVICE_UNAVAILABLE", "message": "busy"}`)}, nil
}

func benchSeed(b *testing.B, run func(context.Context, *engine.Flow, map[string]any, *engine.Options) *engine.Result) {
	f, err := nodes.Builtins().LoadFile("../../flows/self-healing.yaml")
	if err != nil {
		b.Fatal(err)
	}
	in, _ := f.Inputs(map[string]any{"order_id": "B-1"})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		opts := &engine.Options{Transport: fakeERP{}, Clock: func() clock.Clock { return clock.NewVirtualClock(t0) },
			Env: func(k string) (string, bool) { return "/dev/null", k == "DEAD_LETTER" }, Channels: engine.Capture{}}
		r := run(context.Background(), f, in, opts)
		if r.Outcome != "escalated" || r.Calls["push_order"] != 4 {
			b.Fatalf("outcome %s calls %v", r.Outcome, r.Calls)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "instances/s")
}

// The seed flow to escalation (4 calls, waits 30/60/120 s of virtual time) in process...
func BenchmarkSeedLocal(b *testing.B) {
	benchSeed(b, func(ctx context.Context, f *engine.Flow, in map[string]any, o *engine.Options) *engine.Result {
		return f.Run(ctx, in, o)
	})
}

// ... and on Temporal's test environment, one environment per instance (as archflow test does).
func BenchmarkSeedTemporalTestEnv(b *testing.B) { benchSeed(b, archtemporal.TestRun) }
