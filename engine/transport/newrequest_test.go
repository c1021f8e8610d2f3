package transport

import (
	"bytes"
	"context"
	"net/http"
	"testing"
)

// newRequest puts on the wire what http.NewRequestWithContext would, and fails as it does,
// whether the URL is parsed afresh or reused from the request before.
func TestNewRequestIsNewRequestWithContext(t *testing.T) {
	ctx := context.Background()
	urls := []string{"http://h/orders", "http://h:8080/a/b?x=1&y=%2F#frag", "http://h/a%2Fb/c", "http://user:pw@h/p",
		"http://[::1]:9/v", "http://[::1]:/v", "http://h:/x", "HTTP://H/Up", "http://h", "http://h/ü?q=ä", "://bad", "http://h/%zz", ""}
	methods := []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "get", "PROPFIND", "", "BAD METHOD"}
	wire := func(r *http.Request) string {
		var b bytes.Buffer
		if err := r.Write(&b); err != nil {
			return "write error: " + err.Error()
		}
		return b.String()
	}
	tr := NewHTTPTransport()
	for _, m := range methods {
		for _, u := range urls {
			want, wantErr := http.NewRequestWithContext(ctx, m, u, nil)
			for _, pass := range []string{"first", "reused"} { // the second goes to the same URL as the one before
				got, err := tr.newRequest(ctx, m, u)
				if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
					t.Errorf("%s %q (%s): error %v, NewRequestWithContext's %v", m, u, pass, err, wantErr)
					continue
				}
				if err == nil && wire(got) != wire(want) {
					t.Errorf("%s %q (%s):\n%s\nNewRequestWithContext's:\n%s", m, u, pass, wire(got), wire(want))
				}
			}
		}
	}
}
