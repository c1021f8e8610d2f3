package engine

import (
	"context"
	"sync"
	"time"

	"github.com/archflow/archflow/engine/clock"
)

// An instance on a clock that really waits runs aside: its steps run on goroutines of their
// own, and the goroutine that called Run only makes its waits. Expressions (the expr VM's frame
// alone is over a kilobyte), HTTP and JSON grow a goroutine's stack past its first 2 KiB, and the
// runtime halves a parked goroutine's stack only when under a quarter of it is in use: an
// instance that parked on the goroutine it stepped on would hold 4 KiB of stack for its whole
// wait, and 100,000 waiting instances are 100,000 stacks. The goroutine a wait parks now holds
// a few frames, its stack never grows, and the stepping goroutines exit before it parks.
//
// The wait is the wait node's (WaitThen): a step that sleeps inside itself (a retry: policy
// between attempts) keeps its instance inline, where it parks on one goroutine as before.

// parked is the wait an instance running aside has been asked for by its step.
type parked struct {
	aside    bool // the instance runs aside
	parking  bool // its step asked for a wait: the loop returns for the wait to be made
	parkFor  time.Duration
	parkNext *Edge
}

// asideOnce tells, once per flow, whether its instances may run aside.
type asideOnce struct {
	once sync.Once
	ok   bool
}

// runsAside reports whether an instance on clk with opts runs aside.
func (f *Flow) runsAside(clk clock.Clock, opts *Options) bool {
	if _, virtual := clk.(*clock.VirtualClock); virtual {
		return false // its waits end at once: nothing parks
	}
	if opts.Attempt != nil || opts.Checkpoint != nil {
		return false // a host's instance: Temporal's workflow code starts no goroutines
	}
	f.aside.once.Do(func() {
		f.aside.ok = true
		for _, n := range f.Nodes {
			if RetriesSelf(n) { // waits inside its step
				f.aside.ok = false
			}
		}
	})
	return f.aside.ok
}

// segment is what a stepping goroutine hands back: its instance, parked or ended, or the panic
// of a step (raised again on Run's goroutine, as if the instance had run there).
type segment struct {
	in       *Instance
	panicked bool
	value    any
}

// parkAside makes the waits of an instance running aside, on Run's goroutine, with as few
// frames under them as can be, until the instance ends.
func parkAside(ch chan segment) *Result {
	for {
		s := <-ch
		if s.panicked {
			panic(s.value)
		}
		in := s.in
		if !in.parking {
			return in.res
		}
		err := in.clock.Sleep(in.ctx, in.parkFor)
		go resumeAside(ch, in, err)
	}
}

// startAside starts an instance on a goroutine of its own and hands it back on ch.
func startAside(ch chan<- segment, f *Flow, ctx context.Context, inputs map[string]any, opts *Options, clk clock.Clock) {
	s := segment{panicked: true}
	defer handBack(ch, &s)
	in := f.newInstance(ctx, inputs, opts, clk)
	in.aside = true
	in.start()
	s.in, s.panicked = in, false
}

// resumeAside goes on after a wait, on a goroutine of its own, and hands the instance back on ch.
func resumeAside(ch chan<- segment, in *Instance, err error) {
	s := segment{panicked: true}
	defer handBack(ch, &s)
	in.resume(err)
	s.in, s.panicked = in, false
}

// handBack sends what a stepping goroutine did: its instance, or the panic of a step.
func handBack(ch chan<- segment, s *segment) {
	if s.panicked {
		s.value = recover()
	}
	ch <- *s
}

// resume goes on after a wait made aside: err is the wait's (the context's end).
func (in *Instance) resume(err error) {
	edge := in.parkNext
	in.parking, in.parkNext = false, nil
	if err != nil {
		edge = nil
	}
	if in.after(in.node, edge, err) {
		in.loop()
	}
}

// WaitThen waits d on the instance's clock, and the step goes on to next: a step returns what
// WaitThen returns, at once, with ctx the one its Exec was given. The wait ends early, with the
// context's error, when ctx is done. An instance running aside (see above) makes the wait after
// the step has returned, on the goroutine it parks on.
func (in *Instance) WaitThen(ctx context.Context, d time.Duration, next *Edge) (*Edge, error) {
	if in.aside {
		in.parking, in.parkFor, in.parkNext = true, d, next
		return nil, nil
	}
	if err := in.clock.Sleep(ctx, d); err != nil {
		return nil, err
	}
	return next, nil
}
