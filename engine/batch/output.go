package batch

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// Output is where a batch's result lines go when they are not read on a terminal (a file, a
// pipe): lines are gathered into one write instead of a write each, and none waits longer than
// the delay, so that a reader still sees results as their instances end. It is safe for
// concurrent use.
type Output struct {
	mu      sync.Mutex
	raw     io.Writer
	w       *bufio.Writer
	delay   time.Duration
	timer   *time.Timer
	pending bool // the timer is running: it flushes what is buffered
}

// NewOutput buffers writes to w for at most delay.
func NewOutput(w io.Writer, delay time.Duration) *Output {
	o := &Output{raw: w, w: bufio.NewWriterSize(w, 64<<10), delay: delay}
	o.timer = time.AfterFunc(time.Hour, o.flushLater)
	o.timer.Stop()
	return o
}

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	n, err := o.w.Write(p)
	if o.w.Buffered() > 0 && !o.pending {
		o.pending = true
		o.timer.Reset(o.delay)
	}
	return n, err
}

func (o *Output) flushLater() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.pending = false
	o.w.Flush()
}

// Flush writes what is buffered now.
func (o *Output) Flush() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.pending {
		o.timer.Stop()
		o.pending = false
	}
	return o.w.Flush()
}

// Unbuffered is the writer the output writes to.
func (o *Output) Unbuffered() io.Writer { return o.raw }
