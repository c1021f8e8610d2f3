package engine_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/expr-lang/expr"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/clock"
	"github.com/archflow/archflow/engine/transport"
	"github.com/archflow/archflow/nodes"
)

// fakeERP answers every request with 503 in-process, so that the benchmark measures the engine,
// not the network.
type fakeERP struct{}

func (fakeERP) Do(ctx context.Context, req *transport.Request) (*transport.Response, error) {
	return &transport.Response{Status: 503, Header: http.Header{"Content-Type": {"application/json"}},
		Body: []byte(`{"success": false, "error_code": "SERVICE_UNAVAILABLE", "message": "busy"}`)}, nil
}

// BenchmarkNodeSteps runs the seed flow to escalation (17 node executions, 4 data actions, 3
// virtual waits) and reports the cost of one node execution.
func BenchmarkNodeSteps(b *testing.B) {
	f, err := nodes.Builtins().LoadFile(seed)
	if err != nil {
		b.Fatal(err)
	}
	in, _ := f.Inputs(map[string]any{"order_id": "B-1"})
	opts := &engine.Options{Transport: fakeERP{}, Clock: func() clock.Clock { return clock.NewVirtualClock(t0) },
		Env: func(k string) (string, bool) { return "/dev/null", k == "DEAD_LETTER" }, Channels: engine.Capture{}}
	steps := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := f.Run(context.Background(), in, opts)
		if r.Outcome != "escalated" {
			b.Fatalf("outcome %s", r.Outcome)
		}
		steps += len(r.Path)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(steps), "ns/step")
}

const waitExpr = `retry_after_seconds > 0 ? min(retry_after_seconds, 900) : [30, 60, 120][retry_count - 1]`

// BenchmarkWaitExprCompiledOnce evaluates the seed's backoff expression the way archflow does:
// compiled once at load, run per step.
func BenchmarkWaitExprCompiledOnce(b *testing.B) {
	env := map[string]any{"retry_after_seconds": 0, "retry_count": 2}
	prog, err := expr.Compile(waitExpr, expr.Env(env))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if v, _ := expr.Run(prog, env); v != 60 {
			b.Fatal(v)
		}
	}
}

// BenchmarkWaitExprParsedPerStep is the baseline: parse and check the expression at every step.
func BenchmarkWaitExprParsedPerStep(b *testing.B) {
	env := map[string]any{"retry_after_seconds": 0, "retry_count": 2}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if v, _ := expr.Eval(waitExpr, env); v != 60 {
			b.Fatal(v)
		}
	}
}
