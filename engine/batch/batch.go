// Package batch runs a flow once per input, a number of instances at a time, and hands each
// result to the caller as its instance ends: nothing grows with the number of inputs. Inputs in
// = results out (SPEC §4): after an interruption every input that never started still gets a
// result, outcome interrupted. The inputs (Inputs) are streamed from --input pairs or a .jsonl
// or .csv file and checked whole before anything runs.
package batch

import (
	"context"
	"errors"
	"iter"
	"sync"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/transport"
)

// Options shape a batch.
type Options struct {
	// Concurrency is how many instances run at once (at least 1).
	Concurrency int
	// Instance are the options every instance runs with (copied per instance).
	Instance engine.Options
	// Transport, when set, gives each instance a transport of its own (--mock's cursors).
	Transport func() transport.Transport
	// Report receives each result and the inputs it ran with, one call at a time, and the line
	// Encode wrote for it (nil without Encode). It must not keep the result: unless PerInstance
	// gave a function for it, the result is handed back to the flow (Flow.Recycle) once Report
	// returns.
	Report func(r *engine.Result, inputs map[string]any, line []byte)
	// Encode, when set, writes a result's output line into b, a buffer of the worker whose
	// instance ended, before Report: outside Report's lock, so that encoding one result holds
	// up no other worker.
	Encode func(b []byte, r *engine.Result) []byte
	// PerInstance, when set, shapes each instance's options (a recorder of its exchanges) and
	// gives a function called with its result.
	PerInstance func(engine.Options) (engine.Options, func(*engine.Result))
}

// maxKeptLine is the largest result-line buffer a worker keeps for its next result.
const maxKeptLine = 1 << 20

// Run runs one instance of flow per input of in. It returns the error that stopped reading the
// inputs (a file changed since it was checked); every result has been reported by then.
//
// Each of the Concurrency workers takes the next input itself (the reading is a coroutine,
// iter.Pull, stepped under a lock), so that no input goes through a goroutine hand-off: a
// reader goroutine feeding a channel cost a wake-up per instance. Each worker runs its
// instances under a context of its own, so that the contexts their requests derive register
// with it, not all at once with the batch's.
func Run(ctx context.Context, flow *engine.Flow, in *Inputs, total int, o Options) error {
	var mu sync.Mutex
	report := func(r *engine.Result, inputs map[string]any, line []byte) {
		mu.Lock()
		defer mu.Unlock()
		o.Report(r, inputs, line)
	}
	type job struct {
		line   int
		inputs map[string]any
	}
	var readErr error // set by the last step of the reading, under pull
	next, stop := iter.Pull(func(yield func(job) bool) {
		readErr = in.Each(func(line int, inputs map[string]any, err error) error {
			if err != nil {
				return err
			}
			if !yield(job{line, inputs}) {
				return errStopped
			}
			return nil
		})
	})
	defer stop()
	var pull sync.Mutex
	// take gives the next input to run; once the batch is interrupted, the inputs left are
	// reported as never started, in their order, and none is given
	take := func() (job, bool) {
		pull.Lock()
		defer pull.Unlock()
		for {
			j, ok := next()
			if !ok || ctx.Err() == nil {
				return j, ok
			}
			r := flow.NotStarted(j.line)
			var line []byte
			if o.Encode != nil {
				line = o.Encode(nil, r)
			}
			report(r, j.inputs, line)
		}
	}
	var wg sync.WaitGroup
	for range min(max(o.Concurrency, 1), max(total, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wctx, cancel := context.WithCancel(ctx)
			defer cancel()
			wctx = transport.WithLane(wctx) // the worker's requests, one after the other
			var opts *engine.Options
			var line []byte // the worker's buffer for Encode
			for {
				j, ok := take()
				if !ok {
					return
				}
				// the worker's options serve each of its instances in turn (an instance reads
				// them while it runs), unless the instance gets options of its own
				if o.Transport != nil || o.PerInstance != nil || opts == nil {
					opts = new(engine.Options)
				}
				*opts = o.Instance
				if o.Transport != nil {
					opts.Transport = o.Transport()
				}
				var done func(*engine.Result)
				if o.PerInstance != nil {
					*opts, done = o.PerInstance(*opts)
				}
				r := flow.Run(wctx, j.inputs, opts)
				if done != nil {
					done(r)
				}
				if in.Path() != "" {
					r.Input = &engine.InputRef{Line: j.line}
				}
				var out []byte
				if o.Encode != nil {
					line = o.Encode(line[:0], r)
					out = line
				}
				report(r, j.inputs, out)
				if cap(line) > maxKeptLine {
					line = nil // one big result does not stay with every worker
				}
				if done == nil { // a result no recorder kept: its maps serve later instances
					flow.Recycle(r)
					in.Release(j.inputs)
				}
			}
		}()
	}
	wg.Wait()
	pull.Lock() // the reading's last step wrote readErr
	defer pull.Unlock()
	return readErr
}

// errStopped ends the reading of inputs no worker takes any more.
var errStopped = errors.New("stopped")
