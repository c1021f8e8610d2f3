package transport

import (
	"context"
	"sync/atomic"
	"time"
)

// A lane carries the requests of one caller that sends them one after the other (a batch
// worker): their timeout is one context and one timer, reset per request, instead of a context
// and a timer made per request and registered with the caller's context
// (context.WithDeadline). In a batch of 64 requests in flight that was ~2 µs of CPU per request,
// and net/http registers its own two contexts under the request's.
type laneCtx struct {
	context.Context // the caller's: its values, its cancellation
	lane            *lane
}

type lane struct {
	busy   atomic.Bool // a request is using the lane (a second one at once makes its own deadline)
	ctx    context.Context
	cancel context.CancelCauseFunc
	timer  *time.Timer // cancels ctx when it fires; stopped between requests
}

// WithLane returns ctx with a lane for the requests sent under it one after the other. A request
// sent under the returned context, not a context derived from it, takes the lane; one sent while
// another is in flight gets a deadline of its own, as without a lane.
func WithLane(ctx context.Context) context.Context {
	return &laneCtx{Context: ctx, lane: new(lane)}
}

// requestContext returns the context a request sent under ctx runs in, cancelled once timeout
// has passed (with cause context.DeadlineExceeded), and what ends it when the exchange is over.
// A timeout is told by that cause (failure.OfNetwork): the context's Err is Canceled, and
// net/http's HTTP/2 transport reports a cancelled request with that Err.
func requestContext(ctx context.Context, timeout time.Duration) (context.Context, requestEnd) {
	lc, ok := ctx.(*laneCtx)
	if !ok || !lc.lane.busy.CompareAndSwap(false, true) {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		return cctx, requestEnd{cancel: cancel}
	}
	l := lc.lane
	if l.ctx == nil {
		// the first request, or the one before timed out (end dropped its context): a fresh one
		l.ctx, l.cancel = context.WithCancelCause(lc)
		cancel := l.cancel
		l.timer = time.AfterFunc(timeout, func() { cancel(context.DeadlineExceeded) })
	} else {
		l.timer.Reset(timeout)
	}
	return l.ctx, requestEnd{lane: l}
}

// requestEnd ends a request's context: a value, so that deferring its end allocates nothing (a
// method value returned would).
type requestEnd struct {
	lane   *lane
	cancel context.CancelFunc
}

func (e requestEnd) end() {
	if e.lane == nil {
		e.cancel()
		return
	}
	l := e.lane
	if !l.timer.Stop() {
		// the timer fired (or is firing): this context is cancelled, or about to be; the next
		// request takes a fresh one
		l.cancel(context.DeadlineExceeded)
		l.ctx = nil
	}
	l.busy.Store(false)
}
