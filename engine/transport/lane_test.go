package transport_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/archflow/archflow/engine/transport"
)

// laneServer answers /fast at once, never answers /slow (until the client gives up), and
// answers /hold once release is closed, after closing held. tr is a transport to send with.
func laneServer(t *testing.T) (url string, held, release chan struct{}, tr *transport.HTTPTransport) {
	held, release = make(chan struct{}), make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // then the server sees the client hang up
		switch r.URL.Path {
		case "/slow":
			<-r.Context().Done()
			return
		case "/hold":
			once.Do(func() { close(held) })
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	tr = transport.NewHTTPTransport()
	t.Cleanup(tr.CloseIdleConnections)
	return srv.URL, held, release, tr
}

func laneDo(ctx context.Context, tr *transport.HTTPTransport, url string, timeout time.Duration) (*transport.Response, error) {
	return tr.Do(ctx, &transport.Request{Action: "push", Method: "POST", URL: url, Header: http.Header{}, Body: []byte("{}"), Timeout: timeout})
}

func wantTimeout(t *testing.T, what string, err error) {
	t.Helper()
	var te *transport.TransportError
	if !errors.As(err, &te) || te.Kind != "timeout" || !te.Transient || te.NotSent || te.Error() != "no response within the timeout" {
		t.Fatalf("%s: %#v, want a transient timeout of a request sent", what, err)
	}
}

// Requests sent one after the other under a lane each get their own timeout: a request that
// times out does not take the next one with it, and a long timeout after a short one holds.
func TestLaneTimesOutEachRequest(t *testing.T) {
	t.Parallel()
	url, _, _, tr := laneServer(t)
	ctx := transport.WithLane(context.Background())
	for round := range 3 {
		for range 20 {
			if resp, err := laneDo(ctx, tr, url+"/fast", 5*time.Second); err != nil || string(resp.Body) != "ok" {
				t.Fatalf("round %d, fast: %v %v", round, resp, err)
			}
		}
		start := time.Now()
		_, err := laneDo(ctx, tr, url+"/slow", 50*time.Millisecond)
		wantTimeout(t, "slow", err)
		if d := time.Since(start); d > 4*time.Second {
			t.Fatalf("round %d: the 50ms timeout took %v (a longer timer of the request before?)", round, d)
		}
	}
}

// A request sent while another is in flight under the same lane keeps its own deadline, and its
// timing out does not cancel the other.
func TestLaneSharedAtOnce(t *testing.T) {
	t.Parallel()
	url, held, release, tr := laneServer(t)
	ctx := transport.WithLane(context.Background())
	done := make(chan error, 1)
	go func() {
		resp, err := laneDo(ctx, tr, url+"/hold", 10*time.Second)
		if err == nil && string(resp.Body) != "ok" {
			err = errors.New("body " + string(resp.Body))
		}
		done <- err
	}()
	<-held
	_, err := laneDo(ctx, tr, url+"/slow", 50*time.Millisecond)
	wantTimeout(t, "the second request", err)
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("the first request, in flight when the second timed out: %v", err)
	}
}

// Cancelling the caller's context (Ctrl-C) ends a request under a lane with the caller's error,
// not a timeout.
func TestLaneFollowsTheCaller(t *testing.T) {
	t.Parallel()
	url, held, _, tr := laneServer(t)
	parent, cancel := context.WithCancel(context.Background())
	ctx := transport.WithLane(parent)
	if _, err := laneDo(ctx, tr, url+"/fast", time.Second); err != nil {
		t.Fatal(err)
	}
	go func() {
		<-held
		cancel()
	}()
	if _, err := laneDo(ctx, tr, url+"/hold", 10*time.Second); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled in flight: %v, want context.Canceled", err)
	}
	if _, err := laneDo(ctx, tr, url+"/fast", time.Second); !errors.Is(err, context.Canceled) {
		t.Fatalf("after the cancel: %v, want context.Canceled", err)
	}
}
