// Package batch runs a flow once per input, a number of instances at a time, and hands each
// result to the caller as its instance ends: nothing grows with the number of inputs. Inputs in
// = results out (SPEC §4): after an interruption every input that never started still gets a
// result, outcome interrupted. The inputs (Inputs) are streamed from --input pairs or a .jsonl
// or .csv file and checked whole before anything runs.
package batch

import (
	"context"
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
	// Report receives each result and the inputs it ran with, one call at a time.
	Report func(r *engine.Result, inputs map[string]any)
	// PerInstance, when set, shapes each instance's options (a recorder of its exchanges) and
	// gives a function called with its result.
	PerInstance func(engine.Options) (engine.Options, func(*engine.Result))
}

// Run runs one instance of flow per input of in. It returns the error that stopped reading the
// inputs (a file changed since it was checked); every result has been reported by then.
func Run(ctx context.Context, flow *engine.Flow, in *Inputs, total int, o Options) error {
	var mu sync.Mutex
	report := func(r *engine.Result, inputs map[string]any) {
		mu.Lock()
		defer mu.Unlock()
		o.Report(r, inputs)
	}
	type job struct {
		line   int
		inputs map[string]any
	}
	work := make(chan job)
	var wg sync.WaitGroup
	for range min(max(o.Concurrency, 1), max(total, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				opts := o.Instance
				if o.Transport != nil {
					opts.Transport = o.Transport()
				}
				var done func(*engine.Result)
				if o.PerInstance != nil {
					opts, done = o.PerInstance(opts)
				}
				r := flow.Run(ctx, j.inputs, &opts)
				if done != nil {
					done(r)
				}
				if in.Path() != "" {
					r.Input = &engine.InputRef{Line: j.line}
				}
				report(r, j.inputs)
			}
		}()
	}
	err := in.Each(func(line int, inputs map[string]any, err error) error {
		if err != nil {
			return err
		}
		if ctx.Err() == nil {
			select {
			case work <- job{line, inputs}:
				return nil
			case <-ctx.Done():
			}
		}
		report(flow.NotStarted(line), inputs)
		return nil
	})
	close(work)
	wg.Wait()
	return err
}
