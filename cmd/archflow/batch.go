package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/transport"
)

// runBatch runs one instance per input, concurrency at a time, and prints each result as its
// instance ends; nothing grows with the number of inputs. Inputs in = results out: after an
// interruption, every input not started still gets its result (SPEC §4). It returns the exit
// code: 3 (interrupted) over 1 (an outcome other than success) over 0.
func runBatch(ctx context.Context, flow *engine.Flow, src *inputSource, total int, opts *engine.Options,
	newTransport func() transport.Transport, perInstance instanceHook, rf *runFlags, single, color bool, stdout, stderr io.Writer) int {
	var progress *progressBar
	if !single && isTerminal(stderr) {
		progress = newProgressBar(stderr, total)
	}
	var mu sync.Mutex
	counts := map[string]int{}
	code, notStarted := exitOK, 0
	report := func(r *engine.Result, given map[string]any) {
		mu.Lock()
		defer mu.Unlock()
		if progress != nil { // the bar shares the terminal: erase it, print, redraw it
			progress.clear()
		}
		printResult(stdout, r, rf.output, single, color, given)
		counts[r.Outcome]++
		switch {
		case r.Outcome == engine.OutcomeInterrupted:
			code = exitInternal
		case r.Outcome != engine.OutcomeSuccess && code == exitOK:
			code = exitFailed
		}
		if r.Started.IsZero() {
			notStarted++
		}
		if progress != nil {
			progress.add(r.Outcome)
			progress.draw()
		}
	}
	type job struct {
		line int
		in   map[string]any
	}
	work := make(chan job)
	var wg sync.WaitGroup
	for range min(rf.concurrency, total) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				o := *opts
				if newTransport != nil {
					o.Transport = newTransport()
				}
				var done func(*engine.Result)
				if perInstance != nil {
					o, done = perInstance(o)
				}
				r := flow.Run(ctx, j.in, &o)
				if done != nil {
					done(r)
				}
				if src.path != "" {
					r.Input = &engine.InputRef{Line: j.line}
				}
				report(r, j.in)
			}
		}()
	}
	err := src.each(func(line int, in map[string]any, err error) error {
		if err != nil { // the file changed since it was checked
			return err
		}
		if ctx.Err() == nil {
			select {
			case work <- job{line, in}:
				return nil
			case <-ctx.Done():
			}
		}
		report(flow.NotStarted(line), in)
		return nil
	})
	close(work)
	wg.Wait()
	if progress != nil {
		progress.done()
	}
	if err != nil {
		fmt.Fprintf(stderr, "archflow: %s: %v\n", src.path, err)
		code = exitInternal
	}
	if !single && rf.output == "text" {
		printBatchSummary(stdout, counts, color)
	}
	if notStarted > 0 {
		fmt.Fprintf(stderr, "archflow: interrupted: %d of %d instances not started\n", notStarted, total)
	}
	return code
}

// createPrivate creates (or truncates) a file holding run data, readable by its owner only
// (SPEC §11): traces, results, cassettes and dead letters may carry personal data.
func createPrivate(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	// an existing file keeps its mode on open: tighten it too
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
