package cli

import (
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"time"
)

// A batch allocates per instance (its request, response, variables, result line) while its
// live heap stays small (the instances running). Under the default GOGC=100 the heap goal sits
// at the 4 MiB floor, and the collector took a sixth of a batch's CPU; at 400, with its cycles'
// fixed costs still paid a dozen times a second, it held batch throughput 7% under a plain
// net/http client's (BenchmarkBatchThroughput, GOGC off for comparison). So while a batch runs
// the heap is given room above what is live: batchHeadroom, as a GOGC between 100 and
// batchMaxGCPercent. A small live heap is collected a ninth as often as by default; a large
// one (big bodies at a high concurrency) as by default, not nine times its size.
const (
	batchHeadroom     = 64 << 20
	batchMaxGCPercent = 800
	// gcTuneEvery is how often the live heap is looked at
	gcTuneEvery = 50 * time.Millisecond
)

// gcPercentFor is the GOGC that gives a live heap of live bytes batchHeadroom of room, within
// [100, batchMaxGCPercent].
func gcPercentFor(live uint64) int {
	if live == 0 {
		return batchMaxGCPercent
	}
	return int(max(100, min(batchMaxGCPercent, batchHeadroom*100/live)))
}

// gcTuning counts the batches running (Execute may run in several goroutines of one process, as
// tests do): the first starts the tuning, the last stops it.
var gcTuning struct {
	sync.Mutex
	batches int
	stop    func()
}

// gcPercentNow is gcPercentFor the live heap the last collection found, run under GOGC
// percent. The live heap is read from the goal that collection set, live × (1 + GOGC/100) or
// the goal's floor (then the estimate is above a live heap too small to matter):
// runtime/metrics has the live heap itself, but its package init costs every archflow command
// 50 µs of its start-up.
func gcPercentNow(ms *runtime.MemStats, percent int) int {
	runtime.ReadMemStats(ms)
	return gcPercentFor(ms.NextGC * 100 / uint64(100+percent))
}

// batchGC tunes the collector for a batch of total instances, unless the user set GOGC; the
// function it returns ends the batch's part: the last batch to end stops the tuning and puts
// GOGC back.
func batchGC(total int) (done func()) {
	if _, set := os.LookupEnv("GOGC"); set || total < 2 {
		return func() {}
	}
	gcTuning.Lock()
	defer gcTuning.Unlock()
	if gcTuning.batches == 0 {
		gcTuning.stop = tuneGC()
	}
	gcTuning.batches++
	return sync.OnceFunc(func() {
		gcTuning.Lock()
		defer gcTuning.Unlock()
		if gcTuning.batches--; gcTuning.batches == 0 {
			gcTuning.stop()
		}
	})
}

// tuneGC sets GOGC by the live heap every gcTuneEvery until the function it returns is called,
// which puts the GOGC it found back.
func tuneGC() (stop func()) {
	tick := time.NewTicker(gcTuneEvery)
	stopTuning := tuneGCOn(tick.C)
	return func() {
		stopTuning()
		tick.Stop()
	}
}

// tuneGCOn is tuneGC, looking at the live heap at each tick.
func tuneGCOn(ticks <-chan time.Time) (stop func()) {
	percent := batchMaxGCPercent
	old := debug.SetGCPercent(percent)
	quit, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		var ms runtime.MemStats
		for {
			select {
			case <-quit:
				return
			case <-ticks:
			}
			if p := gcPercentNow(&ms, percent); p != percent {
				percent = p
				debug.SetGCPercent(p)
			}
		}
	}()
	return func() {
		close(quit)
		<-stopped
		debug.SetGCPercent(old)
	}
}
