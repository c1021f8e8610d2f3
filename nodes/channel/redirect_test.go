package channel_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// SPEC §11 Redirects, for the requests channels and auth entries make: a webhook answered with a
// redirect to another origin does not post its payload and headers there, and a token endpoint
// redirecting elsewhere does not get the client secret sent there; a same-origin redirect is
// followed.
func TestWebhookAndTokenRequestsStayOnTheirOrigin(t *testing.T) {
	t.Parallel()
	var stray atomic.Int64
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stray.Add(1)
		w.WriteHeader(202)
	}))
	t.Cleanup(elsewhere.Close)
	redirector := func(to string) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, to+r.URL.Path, http.StatusTemporaryRedirect)
		}))
		t.Cleanup(s.Close)
		return s
	}
	tokens := tokenServer(t)
	hook, hookSrv := startHook(t, func(r *http.Request) (int, string) { return 202, "" })
	var hops atomic.Int64
	sameOrigin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/moved/v1/alerts" {
			hops.Add(1)
			http.Redirect(w, r, "/moved"+r.URL.Path+"?"+r.URL.RawQuery, http.StatusTemporaryRedirect)
			return
		}
		w.WriteHeader(202)
	}))
	t.Cleanup(sameOrigin.Close)

	for _, tc := range []struct {
		name, hookURL, tokenURL, outcome string
	}{
		{"webhook redirected to another origin", redirector(elsewhere.URL).URL, tokens.URL, "failure"},
		{"token endpoint redirected to another origin", hookSrv.URL, redirector(elsewhere.URL).URL, "failure"},
		{"webhook redirected on its origin", sameOrigin.URL, tokens.URL, "success"},
		{"no redirect", hookSrv.URL, tokens.URL, "success"},
	} {
		res := run(t, context.Background(), "webhook-payload.yaml",
			map[string]string{"INCIDENT_URL": tc.hookURL, "TOKEN_URL": tc.tokenURL, "INCIDENT_SECRET": "good-secret"}, map[string]any{"order_id": "ORD-9"}, nil)
		if res.Outcome != tc.outcome {
			t.Errorf("%s: outcome %s, want %s (%s)", tc.name, res.Outcome, tc.outcome, asJSON(res))
		}
	}
	if stray.Load() != 0 {
		t.Errorf("%d requests reached the other origin", stray.Load())
	}
	if reqs, _ := hook.got(); len(reqs) != 1 || hops.Load() != 1 {
		t.Errorf("%d deliveries to the hook, %d same-origin hops; want 1 and 1", len(reqs), hops.Load())
	}
}
