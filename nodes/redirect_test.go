package nodes_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/archflow/archflow/engine/failure"
)

// redirectFlow is a data action with every kind of credential: an api_key header, a secret() in
// Authorization and in a header of its own; and a harmless correlation header.
const redirectFlow = `flow: redirects
variables:
  code: {type: integer, output: true}
auth:
  key: {type: api_key, header: X-Api-Key, value: "{{ secret('API_KEY') }}"}
actions:
  call:
    method: %s
    url: "{{ env('BASE') }}%s"
    auth: key
    headers: {Authorization: "Bearer {{ secret('TOKEN') }}", X-Token: "tok-{{ secret('TOKEN2') }}", X-Request-ID: req-1}
    %s
    follow_redirects: %t
    outputs: {code: status}
start: c
nodes:
  c: {data_action: call, next: ok, on_failure: bad}
  ok: {end: success}
  bad: {end: failure}
`

type hop struct {
	Host, Method, Path, Body string
	Header                   http.Header
}

// recorder is a server that records every request and answers with routes[path].
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	hops []hop
}

func newRecorder(t *testing.T, route func(w http.ResponseWriter, r *http.Request)) *recorder {
	rec := &recorder{}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 1024)
		n, _ := r.Body.Read(b)
		rec.mu.Lock()
		rec.hops = append(rec.hops, hop{Host: r.Host, Method: r.Method, Path: r.URL.Path, Body: string(b[:n]), Header: r.Header.Clone()})
		rec.mu.Unlock()
		route(w, r)
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (r *recorder) seen() []hop {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hop(nil), r.hops...)
}

// SPEC §11 Redirects: same-origin redirects are followed (at most 5), each hop traced and
// counted; another origin (another host or port) is not followed unless follow_redirects: true,
// and then without credentials; a cross-origin 307/308 carrying a body is never followed.
func TestRedirectsNeverCarryCredentialsToAnotherOrigin(t *testing.T) {
	t.Parallel()
	other := newRecorder(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200); fmt.Fprint(w, `{}`) })
	var origin *recorder
	origin = newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/same":
			http.Redirect(w, r, "/final", http.StatusFound)
		case "/cross":
			http.Redirect(w, r, other.URL+"/landing", http.StatusFound)
		case "/cross307":
			http.Redirect(w, r, other.URL+"/landing", http.StatusTemporaryRedirect)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		default:
			w.WriteHeader(200)
			fmt.Fprint(w, `{}`)
		}
	})
	env := map[string]string{"BASE": origin.URL, "API_KEY": "k", "TOKEN": "tok-secret", "TOKEN2": "x2"}
	for _, tc := range []struct {
		name, method, path, body string
		follow                   bool
		outcome                  string
		originHops, otherHops    int
		msg                      string // in the error message
	}{
		{"same origin followed", "POST", "/same", "body: {id: 1}", false, "success", 2, 0, ""},
		{"cross origin refused", "POST", "/cross", "body: {id: 1}", false, "failure", 1, 0, "redirect to " + other.URL + "/landing not followed"},
		{"cross origin followed without credentials", "POST", "/cross", "body: {id: 1}", true, "success", 1, 1, ""},
		{"cross origin 307 with a body never followed", "POST", "/cross307", "body: {id: 1}", true, "failure", 1, 0, "re-send the request body"},
		{"cross origin 307 without a body followed", "GET", "/cross307", "", true, "success", 1, 1, ""},
		{"at most five redirects", "GET", "/loop", "", false, "failure", 6, 0, "more than 5 redirects"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o0, x0 := len(origin.seen()), len(other.seen())
			p := filepath.Join(t.TempDir(), "flow.yaml")
			os.WriteFile(p, []byte(fmt.Sprintf(redirectFlow, tc.method, tc.path, tc.body, tc.follow)), 0o600)
			r := runFlow(t, p, env, nil)
			o, x := origin.seen()[o0:], other.seen()[x0:]
			if r.res.Outcome != tc.outcome || len(o) != tc.originHops || len(x) != tc.otherHops {
				t.Fatalf("outcome %s, %d requests to the origin, %d to the other; want %s, %d, %d (error %+v)",
					r.res.Outcome, len(o), len(x), tc.outcome, tc.originHops, tc.otherHops, r.res.Error)
			}
			if got := r.res.Calls["call"]; got != len(o)+len(x) {
				t.Errorf("calls = %d, requests on the wire = %d", got, len(o)+len(x))
			}
			requests := strings.Count(r.traceJSON(t), `"event":"request"`)
			responses := strings.Count(r.traceJSON(t), `"event":"response"`)
			if requests != len(o)+len(x) || responses != requests {
				t.Errorf("%d request and %d response events in the trace, %d requests on the wire", requests, responses, len(o)+len(x))
			}
			if tc.msg != "" {
				var last *failure.ErrorInfo
				for _, e := range r.events {
					if e.Event == "response" {
						last = e.Error
					}
				}
				if last == nil || !strings.Contains(last.Message, tc.msg) || last.Class != failure.Permanent {
					t.Errorf("error %+v; want a permanent failure saying %q", last, tc.msg)
				}
			}
			for _, h := range o {
				if h.Header.Get("X-Api-Key") != "k" || h.Header.Get("Authorization") != "Bearer tok-secret" {
					t.Errorf("same-origin hop %s lost its credentials: %v", h.Path, h.Header)
				}
			}
			for _, h := range x {
				for _, k := range []string{"X-Api-Key", "Authorization", "X-Token", "Cookie"} {
					if v := h.Header.Get(k); v != "" {
						t.Errorf("cross-origin hop carried %s: %s", k, v)
					}
				}
				if h.Header.Get("X-Request-ID") != "req-1" {
					t.Errorf("cross-origin hop lost X-Request-ID (not sensitive)")
				}
				if h.Body != "" {
					t.Errorf("cross-origin hop carried the body %q", h.Body)
				}
			}
		})
	}
}
