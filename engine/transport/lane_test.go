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

// laneServer answers /fast at once with the protocol it was asked in, /late after 200ms,
// /slow not before the client gives up (or 10s), and /hold once release is closed, after
// closing held; over HTTP/2 (TLS) when h2, else HTTP/1.1. tr is a transport to send with.
func laneServer(t *testing.T, h2 bool) (url string, held, release chan struct{}, tr *transport.HTTPTransport) {
	held, release = make(chan struct{}), make(chan struct{})
	var once sync.Once
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // then the server sees the client hang up
		switch r.URL.Path {
		case "/fast":
			w.Write([]byte(r.Proto))
			return
		case "/late":
			time.Sleep(200 * time.Millisecond) // the upstream's latency, not the test waiting
		case "/slow":
			select {
			case <-r.Context().Done():
				return
			case <-time.After(10 * time.Second): // a timeout that never fires fails, not hangs
			}
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
	tr = transport.NewHTTPTransport()
	if h2 {
		srv.EnableHTTP2 = true
		srv.StartTLS()
		transport.TrustTLS(tr, srv.Client().Transport.(*http.Transport).TLSClientConfig)
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
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
// times out does not take the next one with it, and a long timeout after a short one holds. Over
// HTTP/1.1 and HTTP/2 (an HTTPS upstream), whose transports report a cancelled request
// differently: both are timeouts.
func TestLaneTimesOutEachRequest(t *testing.T) {
	t.Parallel()
	for _, proto := range []string{"HTTP/1.1", "HTTP/2.0"} {
		t.Run(proto, func(t *testing.T) {
			t.Parallel()
			url, _, _, tr := laneServer(t, proto == "HTTP/2.0")
			ctx := transport.WithLane(context.Background())
			for round := range 3 {
				for range 20 {
					if resp, err := laneDo(ctx, tr, url+"/fast", 5*time.Second); err != nil || string(resp.Body) != proto {
						t.Fatalf("round %d, fast: %v %v", round, resp, err)
					}
				}
				if resp, err := laneDo(ctx, tr, url+"/late", 5*time.Second); err != nil || string(resp.Body) != "ok" {
					t.Fatalf("round %d: a 5s timeout answered in 200ms: %v %v", round, resp, err)
				}
				start := time.Now()
				_, err := laneDo(ctx, tr, url+"/slow", 50*time.Millisecond)
				wantTimeout(t, "slow", err)
				if d := time.Since(start); d > 4*time.Second {
					t.Fatalf("round %d: the 50ms timeout took %v (a longer timer of the request before?)", round, d)
				}
				if resp, err := laneDo(ctx, tr, url+"/late", 5*time.Second); err != nil || string(resp.Body) != "ok" {
					t.Fatalf("round %d: a 5s timeout after a 50ms one, answered in 200ms: %v %v", round, resp, err)
				}
			}
		})
	}
}

// A request sent while another is in flight under the same lane keeps its own deadline, and its
// timing out does not cancel the other.
func TestLaneSharedAtOnce(t *testing.T) {
	t.Parallel()
	url, held, release, tr := laneServer(t, false)
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
	url, held, _, tr := laneServer(t, false)
	parent, cancel := context.WithCancel(context.Background())
	ctx := transport.WithLane(parent)
	if _, err := laneDo(ctx, tr, url+"/fast", time.Second); err != nil {
		t.Fatal(err)
	}
	go func() {
		<-held
		cancel()
	}()
	// the caller's own error, not a failed call that wraps it
	if _, err := laneDo(ctx, tr, url+"/hold", 10*time.Second); err != context.Canceled {
		t.Fatalf("cancelled in flight: %#v, want context.Canceled", err)
	}
	if _, err := laneDo(ctx, tr, url+"/fast", time.Second); err != context.Canceled {
		t.Fatalf("after the cancel: %#v, want context.Canceled", err)
	}
}
