package engine_test

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/clock"
	"github.com/archflow/archflow/engine/trace"
	"github.com/archflow/archflow/nodes"
)

// Step cost (issue 9): an instance steps through a chain of stepChain decision (or assign)
// nodes; a reused expr VM runs the same compiled program as many times, with the same
// variables, in the same benchmark. Each reports ns and allocations per step and the ratio to
// the VM, in wall time and in the thread's CPU time (which a busy machine inflates less), each
// the median over the benchmark's iterations:
//
//	go test ./engine -run '^$' -bench 'Step' -benchmem
const stepChain = 1000

// stepChainFlow is a flow of n nodes of one kind, each going on to the next.
func stepChainFlow(b *testing.B, kind string, n int) *engine.Flow {
	var y strings.Builder
	y.WriteString("flow: chain\nvariables:\n  retry_count: {type: integer, default: 1}\n  max_retries: {type: integer, default: 3}\n  n: {type: integer, default: 0}\nstart: s0\nnodes:\n")
	for i := range n {
		switch kind {
		case "decision":
			fmt.Fprintf(&y, "  s%d:\n    decision:\n      - when: retry_count >= max_retries\n        next: done\n    default: s%d\n", i, i+1)
		case "assign":
			fmt.Fprintf(&y, "  s%d:\n    assign: {n: \"{{ n + 1 }}\"}\n    next: s%d\n", i, i+1)
		}
	}
	fmt.Fprintf(&y, "  s%d: {end: success}\n  done: {end: escalated}\n", n)
	f, err := nodes.Builtins().Load("chain.yaml", []byte(y.String()))
	if err != nil {
		b.Fatal(err)
	}
	return f
}

func benchSteps(b *testing.B, kind string, traced bool) {
	f := stepChainFlow(b, kind, stepChain)
	prog := f.Nodes[0].Reads[0].Program()
	opts := &engine.Options{Clock: func() clock.Clock { return clock.NewVirtualClock(time.Unix(0, 0)) }, Channels: engine.Capture{}}
	if traced {
		opts.Tracer = trace.NewJSONLTracer(io.Discard)
	}
	// the baseline: one VM, reused, running the program over an env holding the same values
	env := map[string]any{"retry_count": 1, "max_retries": 3, "n": 0}
	// and over an env of an instance's size (its variables and the scope names expressions
	// see): expr hashes keys in a map of that size, where it scans three
	full := map[string]any{}
	for _, v := range f.Vars {
		full[v.Name] = v.Default
	}
	for _, k := range []string{"retries", "status", "headers", "body", "text", "elapsed", "error", "instance", "now", "uuid", "env", "secret", "retry_after"} {
		full[k] = nil
	}
	var machine vm.VM
	baseline := func(env map[string]any) {
		for range stepChain {
			v, err := machine.Run(prog, env)
			if err != nil {
				b.Fatal(err)
			}
			if kind == "assign" {
				env["n"] = v
			} else if v != false {
				b.Fatal(v)
			}
		}
		env["n"] = 0
	}
	var ms0, ms1 runtime.MemStats
	// one sample per iteration; the medians are reported, so that a burst of another tenant's
	// work on a shared machine moves no figure
	var engineNs, vmNs, ratio, engineCPUNs, vmCPUNs, cpuRatio, fullCPURatio []float64
	runtime.LockOSThread() // for threadCPU
	defer runtime.UnlockOSThread()
	var engineAllocs uint64
	b.ResetTimer()
	for range b.N {
		t0, c0 := time.Now(), threadCPU()
		baseline(env)
		vmTime, vmCPU := time.Since(t0), threadCPU()-c0
		c0 = threadCPU()
		baseline(full)
		fullCPU := threadCPU() - c0

		runtime.ReadMemStats(&ms0)
		t0, c0 = time.Now(), threadCPU()
		r := f.Run(context.Background(), nil, opts)
		engineTime, engineCPU := time.Since(t0), threadCPU()-c0
		runtime.ReadMemStats(&ms1)
		engineAllocs += ms1.Mallocs - ms0.Mallocs
		if r.Outcome != "success" {
			b.Fatalf("outcome %s: %v", r.Outcome, r.Error)
		}
		engineNs = append(engineNs, float64(engineTime)/stepChain)
		vmNs = append(vmNs, float64(vmTime)/stepChain)
		ratio = append(ratio, float64(engineTime)/float64(vmTime))
		if vmCPU > 0 && fullCPU > 0 {
			engineCPUNs = append(engineCPUNs, float64(engineCPU)/stepChain)
			vmCPUNs = append(vmCPUNs, float64(vmCPU)/stepChain)
			cpuRatio = append(cpuRatio, float64(engineCPU)/float64(vmCPU))
			fullCPURatio = append(fullCPURatio, float64(engineCPU)/float64(fullCPU))
		}
	}
	b.ReportMetric(median(engineNs), "ns/step")
	b.ReportMetric(median(vmNs), "vm-ns/step")
	b.ReportMetric(median(ratio), "ratio")
	b.ReportMetric(float64(engineAllocs)/float64(b.N*stepChain), "allocs/step")
	if len(cpuRatio) > 0 {
		b.ReportMetric(median(engineCPUNs), "cpu-ns/step")
		b.ReportMetric(median(vmCPUNs), "vm-cpu-ns/step")
		b.ReportMetric(median(cpuRatio), "cpu-ratio")
		b.ReportMetric(median(fullCPURatio), "cpu-ratio-instance-env")
	}
}

// median of xs (which it sorts).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	if n := len(xs); n%2 == 0 {
		return (xs[n/2-1] + xs[n/2]) / 2
	}
	return xs[len(xs)/2]
}

func BenchmarkDecisionStep(b *testing.B)       { benchSteps(b, "decision", false) }
func BenchmarkDecisionStepTraced(b *testing.B) { benchSteps(b, "decision", true) }
func BenchmarkAssignStep(b *testing.B)         { benchSteps(b, "assign", false) }
func BenchmarkAssignStepTraced(b *testing.B)   { benchSteps(b, "assign", true) }
