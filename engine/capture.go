package engine

import (
	"context"
	"io"
	"sync"
)

// Channels chooses the channel that delivers a notification; Options.Channels injects one the
// way Options.Clock injects a clock.
type Channels interface {
	Channel(ref *ChannelRef) Channel
}

// Capture is the Channels of tests: every notification is kept in the instance's result and
// none is sent.
type Capture struct{}

func (Capture) Channel(*ChannelRef) Channel { return captured{} }

type captured struct{}

func (captured) Deliver(_ context.Context, in *Instance, n *Notification) error {
	in.AddNotification(n)
	return nil
}

// DeliverFunc delivers every notification with one function: a host's Channels (the Temporal
// engine delivers from an activity on a worker).
type DeliverFunc func(ctx context.Context, in *Instance, ch *ChannelRef, n *Notification) error

func (f DeliverFunc) Channel(ref *ChannelRef) Channel { return funcChannel{f: f, ref: ref} }

type funcChannel struct {
	f   DeliverFunc
	ref *ChannelRef
}

func (c funcChannel) Deliver(ctx context.Context, in *Instance, n *Notification) error {
	return c.f(ctx, in, c.ref, n)
}

// SyncWriter serialises writes to w, so that concurrent instances' log lines stay whole.
func SyncWriter(w io.Writer) io.Writer { return &syncWriter{w: w} }

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
