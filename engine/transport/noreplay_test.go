package transport_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/archflow/archflow/engine/transport"
)

// dropSecondServer answers the first request of each connection and keeps it alive, then reads
// the second request of that connection and hangs up without answering: what a server or proxy
// closing a keep-alive connection under load does. It counts every request it reads.
func dropSecondServer(t *testing.T, cookie bool) (url string, seen *atomic.Int64, cookies *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	seen, cookies = &atomic.Int64{}, &atomic.Int64{}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns { // idle keep-alive connections the client still holds
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				br := bufio.NewReader(conn)
				for n := 1; ; n++ {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					seen.Add(1)
					if req.Header.Get("Cookie") != "" {
						cookies.Add(1)
					}
					if n == 2 {
						return // hang up without an answer
					}
					h := "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
					if cookie {
						h += "Set-Cookie: session=abc; Path=/\r\n"
					}
					io.WriteString(conn, h+"\r\n{}")
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String() + "/orders", seen, cookies
}

// A request carrying an Idempotency-Key (or a GET) is sent once: when the reused connection
// drops, the failure comes back instead of net/http re-sending it behind the flow's back.
func TestHTTPTransportNeverResends(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		method string
		header string
		body   []byte
	}{
		{"POST", "Idempotency-Key", []byte(`{"id":1}`)},
		{"POST", "X-Idempotency-Key", []byte(`{"id":1}`)},
		{"POST", "Idempotency-Key", nil},
		{"PUT", "Idempotency-Key", []byte(`{"id":1}`)},
		{"GET", "", nil},
		{"DELETE", "", nil},
	} {
		// data actions take the lean path, webhooks and token requests resty's (direct.go)
		for _, action := range []string{"push", transport.NotifyPrefix + "hook"} {
			url, seen, _ := dropSecondServer(t, false)
			tr := transport.NewHTTPTransport()
			var sent int64
			var errs []error
			for range 2 {
				h := http.Header{}
				if tc.header != "" {
					h.Set(tc.header, "key-1")
				}
				sent++
				_, err := tr.Do(context.Background(), &transport.Request{Action: action, Method: tc.method, URL: url, Header: h, Body: tc.body, Timeout: 5 * time.Second})
				errs = append(errs, err)
			}
			if got := seen.Load(); got != sent {
				t.Errorf("%s: %s %s: server saw %d requests, archflow sent %d", action, tc.method, tc.header, got, sent)
			}
			var te *transport.TransportError
			if errs[0] != nil || !errors.As(errs[1], &te) || !te.Transient {
				t.Errorf("%s: %s %s: want success then a transient network error, got %v, %v", action, tc.method, tc.header, errs[0], errs[1])
			}
		}
	}
}

// Cookies a server sets are not sent back: no jar is kept, so none is shared between instances.
func TestHTTPTransportKeepsNoCookies(t *testing.T) {
	t.Parallel()
	url, seen, cookies := dropSecondServer(t, true)
	tr := transport.NewHTTPTransport()
	for range 3 {
		tr.Do(context.Background(), &transport.Request{Method: "GET", URL: url, Header: http.Header{}, Timeout: 5 * time.Second})
	}
	if seen.Load() != 3 || cookies.Load() != 0 {
		t.Errorf("server saw %d requests, %d with a cookie; want 3 and 0", seen.Load(), cookies.Load())
	}
}

// A request that never reached the wire (a refused connection) says so, so that `calls`, which
// counts requests on the wire, does not count it; one that did is not marked.
func TestHTTPTransportTellsRequestsNeverSent(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/"
	ln.Close()
	tr := transport.NewHTTPTransport()
	_, err = tr.Do(context.Background(), &transport.Request{Method: "POST", URL: closed, Header: http.Header{}, Body: []byte("{}"), Timeout: 5 * time.Second})
	var te *transport.TransportError
	if !errors.As(err, &te) || !te.NotSent || !te.Transient {
		t.Errorf("refused connection: %#v, want a transient error marked NotSent", err)
	}
	url, seen, _ := dropSecondServer(t, false)
	tr.Do(context.Background(), &transport.Request{Method: "GET", URL: url, Header: http.Header{}, Timeout: 5 * time.Second})
	_, err = tr.Do(context.Background(), &transport.Request{Method: "GET", URL: url, Header: http.Header{}, Timeout: 5 * time.Second})
	if !errors.As(err, &te) || te.NotSent || seen.Load() != 2 {
		t.Errorf("a request the server read and hung up on: %#v (server saw %d), want an error not marked NotSent", err, seen.Load())
	}
}
