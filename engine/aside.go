package engine

import (
	"context"
	"sync"
	"time"

	"github.com/archflow/archflow/engine/clock"
	"github.com/expr-lang/expr/vm"
)

// An instance on a clock that really waits runs aside: its steps run on goroutines of their
// own, and the goroutine that called Run only makes its waits. Expressions (the expr VM's frame
// alone is over a kilobyte), HTTP and JSON grow a goroutine's stack past its first 2 KiB, and the
// runtime halves a parked goroutine's stack only when under a quarter of it is in use: an
// instance that parked on the goroutine it stepped on would hold 4 KiB of stack for its whole
// wait, and 100,000 waiting instances are 100,000 stacks. The goroutine a wait parks now holds
// a few frames, its stack never grows, and the stepping goroutines exit before it parks.
//
// The wait is the wait node's (WaitThen): the instances of a flow with no wait node, or with a
// step that sleeps inside itself (a retry: policy between attempts), run in place as before.

// vms are the expression machines of instances running aside, lent while they step: a parked
// instance holds none.
var vms = sync.Pool{New: func() any { return new(vm.VM) }}

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
		waits, inside := false, false
		for _, n := range f.Nodes {
			waits = waits || Waits(n)
			inside = inside || RetriesSelf(n) // waits inside its step
		}
		// a flow that never parks at a wait node has nothing to gain from the hand-overs
		f.aside.ok = waits && !inside
	})
	return f.aside.ok
}

// goAside makes an instance and starts it aside, its turn held by the caller. It is a function
// of its own so that what it needs is not in Run's frame, under every wait.
//
//go:noinline
func (f *Flow) goAside(ctx context.Context, inputs map[string]any, opts *Options, clk clock.Clock) *Instance {
	in := &Instance{}
	in.turn.Lock()
	go in.startAside(f, ctx, inputs, opts, clk)
	return in
}

// startAside starts the instance on a goroutine of its own.
func (in *Instance) startAside(f *Flow, ctx context.Context, inputs map[string]any, opts *Options, clk clock.Clock) {
	defer in.handBack()
	in.vm = vms.Get().(*vm.VM)
	in.aside = true
	f.initInstance(in, ctx, inputs, opts, clk)
	in.start()
}

// resumeAside goes on after a wait, on a goroutine of its own.
func (in *Instance) resumeAside(err error) {
	defer in.handBack()
	in.vm = vms.Get().(*vm.VM)
	in.resume(err)
}

// handBack gives the turn back to Run's goroutine, with the panic of a step if there was one.
func (in *Instance) handBack() {
	if r := recover(); r != nil {
		in.more().panicked = &r
	}
	in.turn.Unlock()
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
