package tester_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/archflow/archflow/engine/tester"
	"github.com/archflow/archflow/nodes"
)

// BenchmarkVirtualSecondsPerWallSecond runs a suite of 1,000 cases of the seed flow in which the
// ERP answers 503 forever: each case makes 4 calls and waits 30+60+120 = 210 virtual seconds.
// It reports virtual seconds waited per wall second (the goal: at least 100,000).
func BenchmarkVirtualSecondsPerWallSecond(b *testing.B) {
	const cases = 1000
	tmp := b.TempDir()
	flow, err := os.ReadFile("../../flows/self-healing.yaml")
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "self-healing.yaml"), flow, 0o644); err != nil {
		b.Fatal(err)
	}
	var src strings.Builder
	src.WriteString("flow: self-healing.yaml\ncases:\n")
	for i := 0; i < cases; i++ {
		fmt.Fprintf(&src, "  - name: case %d\n    inputs: {order_id: B-%d, amount: %d}\n    http: {push_order: [{status: 503, times: 4}]}\n"+
			"    expect: {outcome: escalated, calls: {push_order: 4}, waits: [30s, 60s, 120s]}\n", i, i, i)
	}
	path := filepath.Join(tmp, "bench.test.yaml")
	if err := os.WriteFile(path, []byte(src.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	f, errs := tester.NewLoader(nodes.Builtins()).Load(path)
	if f == nil {
		b.Fatal(errs)
	}
	var virtual, wall time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		rep := tester.Run(context.Background(), []*tester.FileResult{{Path: path, File: f}}, nil)
		wall += time.Since(start)
		n := rep.Counts()
		if n.Passed != cases {
			b.Fatalf("%d of %d cases passed", n.Passed, cases)
		}
		virtual += n.Virtual
	}
	b.ReportMetric(virtual.Seconds()/wall.Seconds(), "virtual-s/wall-s")
	b.ReportMetric(virtual.Seconds()/float64(b.N), "virtual-s/op")
}
