package engine_test

import (
	"context"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/clock"
	"github.com/archflow/archflow/engine/transport"
	"github.com/archflow/archflow/nodes"
)

// Scale (issue 9): memory of instances parked in real-clock waits, and virtual seconds per wall
// second of a batch on the virtual clock.
//
//	go test ./engine -run '^$' -bench 'Parked|VirtualRate' -benchtime 1x
const (
	parkedInstances  = 100000
	virtualInstances = 10000
)

// throttled answers 429 with Retry-After: 900, so that the seed flow waits 15 minutes.
type throttled struct{}

func (throttled) Do(context.Context, *transport.Request) (*transport.Response, error) {
	return &transport.Response{Status: 429, Header: http.Header{"Retry-After": {"900"}}}, nil
}

// parkingClock is the real clock, telling when an instance starts to wait.
type parkingClock struct {
	clock.RealClock
	parked *sync.WaitGroup
}

func (c parkingClock) Sleep(ctx context.Context, d time.Duration) error {
	c.parked.Done()
	return c.RealClock.Sleep(ctx, d)
}

// BenchmarkParkedInstances starts 100,000 instances of the seed flow, each parked in its
// 15-minute backoff on the real clock, and reports the heap and stack they hold, per instance.
func BenchmarkParkedInstances(b *testing.B) {
	f, err := nodes.Builtins().LoadFile(seed)
	if err != nil {
		b.Fatal(err)
	}
	env := func(k string) (string, bool) { return "/dev/null", k == "DEAD_LETTER" }
	var perInstance, heap, stack float64
	for range b.N {
		var parked, done sync.WaitGroup
		opts := &engine.Options{Transport: throttled{}, Env: env, Channels: engine.Capture{},
			Clock: func() clock.Clock { return parkingClock{parked: &parked} }}
		ctx, cancel := context.WithCancel(context.Background())
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		parked.Add(parkedInstances)
		done.Add(parkedInstances)
		for i := range parkedInstances {
			in, _ := f.Inputs(map[string]any{"order_id": "P-" + string(rune('a'+i%26))})
			go func() {
				defer done.Done()
				f.Run(ctx, in, opts)
			}()
		}
		parked.Wait()
		// steady state: each collection halves a stack using under a quarter of it, and the
		// data action's JSON decoding grew every instance's stack before it parked
		for range 3 {
			runtime.GC()
		}
		runtime.ReadMemStats(&after)
		held := (after.HeapAlloc + after.StackInuse) - (before.HeapAlloc + before.StackInuse)
		perInstance = float64(held) / parkedInstances
		heap = float64(after.HeapAlloc-before.HeapAlloc) / parkedInstances
		stack = float64(after.StackInuse-before.StackInuse) / parkedInstances
		cancel()
		done.Wait()
	}
	b.ReportMetric(perInstance/1024, "KiB/instance")
	b.ReportMetric(heap/1024, "heap-KiB/instance")
	b.ReportMetric(stack/1024, "stack-KiB/instance")
}

// BenchmarkVirtualRate runs 10,000 instances of the seed flow to escalation on the virtual clock
// (each waits 30+60+120 s), 64 at a time, and reports virtual seconds waited per wall second.
func BenchmarkVirtualRate(b *testing.B) {
	f, err := nodes.Builtins().LoadFile(seed)
	if err != nil {
		b.Fatal(err)
	}
	opts := &engine.Options{Transport: fakeERP{}, Clock: func() clock.Clock { return clock.NewVirtualClock(t0) },
		Env: func(k string) (string, bool) { return "/dev/null", k == "DEAD_LETTER" }, Channels: engine.Capture{}}
	in, _ := f.Inputs(map[string]any{"order_id": "V-1"})
	var virtual float64
	var wall time.Duration
	for range b.N {
		work := make(chan struct{})
		var mu sync.Mutex
		var wg sync.WaitGroup
		t0 := time.Now()
		for range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sum := 0.0
				for range work {
					r := f.Run(context.Background(), in, opts)
					for _, w := range r.Waits {
						sum += w
					}
				}
				mu.Lock()
				virtual += sum
				mu.Unlock()
			}()
		}
		for range virtualInstances {
			work <- struct{}{}
		}
		close(work)
		wg.Wait()
		wall += time.Since(t0)
	}
	b.ReportMetric(virtual/wall.Seconds(), "virtual-s/s")
	b.ReportMetric(float64(b.N*virtualInstances)/wall.Seconds(), "instances/s")
}
