// Package clock owns instance time: the real clock, and the virtual clock whose waits complete at
// once and move its time forward, so that a 2-minute backoff costs no wall time.
package clock

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Clock is an instance's time. The real clock sleeps; the virtual clock completes a wait at once
// and moves its time forward by it, so traces show the times a real run would have had.
type Clock interface {
	Now() time.Time
	// Sleep waits d or until ctx is done.
	Sleep(ctx context.Context, d time.Duration) error
	// Advance accounts for time spent elsewhere (a scripted delay); the real clock ignores it.
	Advance(d time.Duration)
}

// RealClock is the wall clock.
type RealClock struct{}

func (RealClock) Now() time.Time { return time.Now() }

// Sleep keeps its frame small, and the select's in a function of its own: an instance that
// waits parks under it, and 100,000 waiting instances are 100,000 stacks (engine/aside.go).
func (RealClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	if fired(t.C, ctx.Done()) {
		return nil
	}
	t.Stop()
	return ctx.Err()
}

// fired waits for the timer or done, whichever comes first; true for the timer.
//
//go:noinline
func fired(timer <-chan time.Time, done <-chan struct{}) bool {
	select {
	case <-timer:
		return true
	case <-done:
		return false
	}
}

func (RealClock) Advance(time.Duration) {}

// VirtualClock is a clock whose waits cost no wall time.
type VirtualClock struct {
	mu  sync.Mutex // serialises Advance; Now only loads (every traced event reads the clock)
	now atomic.Pointer[time.Time]
}

// NewVirtualClock starts a virtual clock at start.
func NewVirtualClock(start time.Time) *VirtualClock {
	v := &VirtualClock{}
	v.now.Store(&start)
	return v
}

func (v *VirtualClock) Now() time.Time {
	if t := v.now.Load(); t != nil {
		return *t
	}
	return time.Time{} // a zero VirtualClock starts at the zero time
}

func (v *VirtualClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	v.Advance(d)
	return nil
}

func (v *VirtualClock) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	v.mu.Lock()
	now := v.Now().Add(d)
	v.now.Store(&now)
	v.mu.Unlock()
}
