package batch

import (
	"os"
	"runtime/debug"
	"sync"
)

// batchGCPercent is the collector's GOGC while a batch runs. A batch allocates per instance
// (its request, response, variables, result line) while its live heap stays small (Concurrency
// instances): under the default GOGC=100 the heap goal sits at the 4 MiB floor and the
// collector ran every few hundred instances, a sixth of the batch's CPU in
// BenchmarkBatchThroughput (cmd/archflow). At 400 the goal is five times the live heap, still
// small for a bounded number of running instances. A GOGC the user set is left alone.
const batchGCPercent = 400

var gc struct {
	sync.Mutex
	running int // batches running in this process
	saved   int // the GOGC before the first of them
}

// raiseGC raises the collector's GOGC for a batch; the function it returns restores it when
// the last batch of the process ends.
func raiseGC() (restore func()) {
	if _, set := os.LookupEnv("GOGC"); set {
		return func() {}
	}
	gc.Lock()
	defer gc.Unlock()
	if gc.running == 0 {
		gc.saved = debug.SetGCPercent(batchGCPercent)
	}
	gc.running++
	return func() {
		gc.Lock()
		defer gc.Unlock()
		if gc.running--; gc.running == 0 {
			debug.SetGCPercent(gc.saved)
		}
	}
}
