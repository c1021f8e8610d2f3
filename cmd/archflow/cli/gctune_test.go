package cli

import (
	"os"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// The room given to a batch's heap: a ninth as many collections as the default for a small live
// heap, the default's for a large one, and between them the headroom.
func TestGCPercentFor(t *testing.T) {
	for _, tc := range []struct {
		live uint64
		want int
	}{
		{0, 800}, {4 << 20, 800}, {8 << 20, 800}, {16 << 20, 400}, {32 << 20, 200}, {64 << 20, 100}, {1 << 30, 100},
	} {
		if got := gcPercentFor(tc.live); got != tc.want {
			t.Errorf("live %d MiB: GOGC %d, want %d", tc.live>>20, got, tc.want)
		}
	}
}

// batchGC sets GOGC for a batch and puts it back; a GOGC of the user's, or a single instance,
// is left alone.
func TestBatchGC(t *testing.T) {
	t.Setenv("GOGC", "") // restored after the test
	os.Unsetenv("GOGC")  // the tuning is for a user who has not set GOGC
	before := debug.SetGCPercent(150)
	defer debug.SetGCPercent(before)
	restore := batchGC(10)
	if got := debug.SetGCPercent(batchMaxGCPercent); got < 100 || got > batchMaxGCPercent || got == 150 {
		t.Errorf("during a batch GOGC is %d", got)
	}
	restore()
	if got := debug.SetGCPercent(150); got != 150 {
		t.Errorf("after a batch GOGC is %d, want 150 back", got)
	}
	// batches that overlap (Execute in goroutines of one process): the last puts GOGC back
	a, b := batchGC(10), batchGC(10)
	a()
	a() // twice: counted once
	if got := debug.SetGCPercent(batchMaxGCPercent); got == 150 {
		t.Errorf("GOGC put back while a batch still runs")
	}
	b()
	if got := debug.SetGCPercent(150); got != 150 {
		t.Errorf("after overlapping batches GOGC is %d, want 150 back", got)
	}
	batchGC(1)()
	if got := debug.SetGCPercent(150); got != 150 {
		t.Errorf("one instance changed GOGC to %d", got)
	}
	t.Setenv("GOGC", "50")
	restore = batchGC(10)
	if got := debug.SetGCPercent(150); got != 150 {
		t.Errorf("the user's GOGC was overridden: %d", got)
	}
	restore()
}

// The live heap is read right from what the collector last found: a small one keeps the most
// room, one larger than the headroom gets the default's.
func TestGCPercentNow(t *testing.T) {
	before := debug.SetGCPercent(batchMaxGCPercent)
	defer debug.SetGCPercent(before)
	var ms runtime.MemStats
	runtime.GC()
	if got := gcPercentNow(&ms, batchMaxGCPercent); got != batchMaxGCPercent {
		t.Errorf("a test's small heap: GOGC %d, want %d", got, batchMaxGCPercent)
	}
	live := make([]byte, 2*batchHeadroom) // live across the collection below
	runtime.GC()
	if got := gcPercentNow(&ms, batchMaxGCPercent); got != 100 {
		t.Errorf("%d MiB live: GOGC %d, want 100", len(live)>>20, got)
	}
	runtime.KeepAlive(live)
}

// While a batch runs, GOGC follows the live heap; when it ends, GOGC is the user's again and
// nothing goes on tuning it.
func TestGCTuningFollowsTheLiveHeap(t *testing.T) {
	gcPercent := func() int {
		p := debug.SetGCPercent(100)
		debug.SetGCPercent(p)
		return p
	}
	before := debug.SetGCPercent(150)
	defer debug.SetGCPercent(before)
	ticks := make(chan time.Time)
	stop := tuneGCOn(ticks)
	if got := gcPercent(); got != batchMaxGCPercent {
		t.Errorf("a batch starts with GOGC %d, want %d", got, batchMaxGCPercent)
	}
	live := make([]byte, 2*batchHeadroom)
	runtime.GC()
	ticks <- time.Time{}
	ticks <- time.Time{} // taken once the tick before is handled
	if got := gcPercent(); got != 100 {
		t.Errorf("%d MiB live: GOGC %d, want 100", len(live)>>20, got)
	}
	runtime.KeepAlive(live)
	stop()
	if got := gcPercent(); got != 150 {
		t.Errorf("after the batch GOGC is %d, want 150 back", got)
	}
	select {
	case ticks <- time.Time{}:
		t.Error("the tuning goes on after the batch")
	default:
	}
}
