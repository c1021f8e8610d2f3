package transport_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/archflow/archflow/engine/transport"
)

// The lean path of data actions and resty's path of webhooks put the same request on the wire:
// headers (User-Agent, a sniffed Content-Type, Content-Length) and body.
func TestDirectPathSendsWhatRestySends(t *testing.T) {
	t.Parallel()
	type seen struct {
		header http.Header
		body   string
		length int64
	}
	var mu sync.Mutex
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h := r.Header.Clone()
		h.Del("Accept-Encoding") // net/http's own, the same on both paths
		mu.Lock()
		got = append(got, seen{h, string(b), r.ContentLength})
		mu.Unlock()
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	tr := transport.NewHTTPTransport()
	for _, tc := range []struct {
		method string
		header http.Header
		body   []byte
	}{
		{"POST", http.Header{"Content-Type": {"application/json"}, "Idempotency-Key": {"k-1"}}, []byte(`{"id":1}`)},
		{"POST", http.Header{}, []byte("plain text")},
		{"PUT", http.Header{"User-Agent": {"mine/1"}}, nil},
		{"GET", http.Header{"Accept": {"application/json"}}, nil},
		{"DELETE", http.Header{}, nil},
	} {
		got = nil
		for _, action := range []string{"push", transport.NotifyPrefix + "hook"} {
			req := &transport.Request{Action: action, Method: tc.method, URL: srv.URL,
				Header: tc.header.Clone(), Body: tc.body, Timeout: 5 * time.Second}
			resp, err := tr.Do(context.Background(), req)
			if err != nil || string(resp.Body) != "ok" {
				t.Fatalf("%s %s: %v %v", action, tc.method, resp, err)
			}
			// the caller's headers are what it sent, as a recording or a trace shows them: the
			// User-Agent and Content-Type added on the way are not written into them
			if !reflect.DeepEqual(req.Header, tc.header) {
				t.Errorf("%s %s: the request's headers became %v, were %v", action, tc.method, req.Header, tc.header)
			}
		}
		if len(tc.body) == 0 {
			// an empty PUT goes out with Content-Length: 0 on the lean path, chunked through resty
			for i := range got {
				got[i].header.Del("Content-Length")
				got[i].length = 0
			}
		}
		if len(got) != 2 || !reflect.DeepEqual(got[0], got[1]) {
			t.Errorf("%s: the two paths sent different requests:\n data action: %+v\n webhook:     %+v", tc.method, got[0], got[1])
		}
		if !strings.HasPrefix(got[0].header.Get("User-Agent"), "go-resty/") && tc.header.Get("User-Agent") == "" {
			t.Errorf("%s: User-Agent %q", tc.method, got[0].header.Get("User-Agent"))
		}
	}
}

// A response body above MaxBody is an error on the lean path too, with the part read.
func TestDirectPathBodyLimit(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("x", 100)))
	}))
	defer srv.Close()
	tr := transport.NewHTTPTransport()
	resp, err := tr.Do(context.Background(), &transport.Request{Action: "push", Method: "GET", URL: srv.URL, Header: http.Header{}, MaxBody: 10})
	var te *transport.TransportError
	if !asTransportError(err, &te) || te.Kind != "too_large" || resp == nil || len(resp.Body) != 11 {
		t.Fatalf("want too_large with 11 bytes read, got %v %v", resp, err)
	}
	resp, err = tr.Do(context.Background(), &transport.Request{Action: "push", Method: "GET", URL: srv.URL, Header: http.Header{}, MaxBody: 100})
	if err != nil || len(resp.Body) != 100 {
		t.Fatalf("want the whole body at the limit, got %v %v", resp, err)
	}
}

func asTransportError(err error, te **transport.TransportError) bool {
	e, ok := err.(*transport.TransportError)
	*te = e
	return ok
}

// A HEAD answer announces the length of a body it does not carry: no error for that.
func TestDirectPathHEAD(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "42")
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	tr := transport.NewHTTPTransport()
	resp, err := tr.Do(context.Background(), &transport.Request{Action: "push", Method: "HEAD", URL: srv.URL, Header: http.Header{}})
	if err != nil || resp.Status != 200 || len(resp.Body) != 0 {
		t.Fatalf("HEAD: %v %v", resp, err)
	}
}

// The lean path reuses the URL it parsed last (newRequest): requests to several URLs at once,
// from several goroutines, each reach their own path, query and host.
func TestDirectPathURLs(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	wrong := map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		want := r.Header.Get("X-Want")
		if got := r.Method + " " + r.Host + r.URL.RequestURI(); got != want {
			mu.Lock()
			wrong[want] = got
			mu.Unlock()
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	urls := []string{srv.URL + "/orders", srv.URL + "/orders?id=1&x=%20y", srv.URL + "/a/b%2Fc", "http://localhost:" + host[strings.LastIndex(host, ":")+1:] + "/other"}
	tr := transport.NewHTTPTransport()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				u := urls[(g+i)%len(urls)]
				if i%7 == 0 { // the same URL twice in a row, from this goroutine
					u = urls[g%len(urls)]
				}
				method := []string{"GET", "POST"}[i%2]
				pu, _ := url.Parse(u)
				want := method + " " + pu.Host + pu.RequestURI()
				resp, err := tr.Do(context.Background(), &transport.Request{Action: "push", Method: method, URL: u,
					Header: http.Header{"X-Want": {want}}, Timeout: 5 * time.Second})
				if err != nil || string(resp.Body) != "ok" {
					t.Errorf("%s %s: %v %v", method, u, resp, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for want, got := range wrong {
		t.Errorf("sent %q, the server got %q", want, got)
	}
	// a URL that does not parse is the error NewRequestWithContext gives
	if _, err := tr.Do(context.Background(), &transport.Request{Action: "push", Method: "GET", URL: "http://a b/", Timeout: time.Second}); err == nil || !strings.Contains(err.Error(), "invalid character") {
		t.Errorf("a bad URL: %v", err)
	}
}
