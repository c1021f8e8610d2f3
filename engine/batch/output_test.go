package batch

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer the test reads while the output's timer writes to it.
type lockedBuffer struct {
	mu  sync.Mutex
	b   bytes.Buffer
	got chan struct{}
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, err := l.b.Write(p)
	select {
	case l.got <- struct{}{}:
	default:
	}
	return n, err
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Lines are gathered, not written one by one, and still reach the writer on their own once the
// delay has passed; Flush writes the rest at once.
func TestOutputGathersLinesAndStillStreams(t *testing.T) {
	t.Parallel()
	w := &lockedBuffer{got: make(chan struct{}, 1)}
	o := NewOutput(w, 20*time.Millisecond)
	o.Write([]byte("one\n"))
	o.Write([]byte("two\n"))
	if s := w.String(); s != "" {
		t.Fatalf("written before the delay: %q", s)
	}
	select {
	case <-w.got: // the delay's flush, without any further write or Flush
	case <-time.After(10 * time.Second):
		t.Fatal("buffered lines never written")
	}
	if s := w.String(); s != "one\ntwo\n" {
		t.Fatalf("after the delay: %q", s)
	}
	o.Write([]byte("three\n"))
	if err := o.Flush(); err != nil {
		t.Fatal(err)
	}
	if s := w.String(); s != "one\ntwo\nthree\n" {
		t.Fatalf("after Flush: %q", s)
	}
	// more than the buffer holds goes out without waiting
	big := strings.Repeat("x", 100<<10) + "\n"
	o.Write([]byte(big))
	if s := w.String(); len(s) < 64<<10 {
		t.Fatalf("a write larger than the buffer waited: %d bytes written", len(s))
	}
	o.Flush()
	if s := w.String(); s != "one\ntwo\nthree\n"+big {
		t.Fatalf("after the large write: %d bytes", len(s))
	}
}
