package auth_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/clock"
	"github.com/archflow/archflow/engine/trace"
	"github.com/archflow/archflow/engine/transport"
	"github.com/archflow/archflow/nodes"
	"github.com/archflow/archflow/nodes/auth"
)

const (
	clientID = "archflow-client"
	oauthDir = "../../testdata/auth/"
)

// oauthServer is an OAuth2 token endpoint (/token) and an API (/orders/...) on 127.0.0.1. The
// API accepts the tokens the endpoint issued and not revoked, and echoes the Authorization
// header it got, so that a test notices when a token would leak into a trace.
type oauthServer struct {
	*httptest.Server
	t            *testing.T
	clientSecret string

	mu          sync.Mutex
	tokenCalls  int
	apiCalls    int
	issued      []string
	valid       map[string]bool
	tokenStatus []int // statuses the token endpoint answers with, in order, before it issues tokens
	refuse      bool  // the token endpoint refuses the client
	expiresIn   int
	lastForm    url.Values // the last token request's form
	lastBasic   bool       // whether it authenticated with HTTP Basic
	// api decides the API's answer to call n (1-based) made with tok; nil: 200 for a valid token.
	api func(s *oauthServer, n int, tok string) int
}

func newOAuthServer(t *testing.T) *oauthServer {
	s := &oauthServer{t: t, valid: map[string]bool{}, expiresIn: 3600,
		clientSecret: secret(fmt.Sprintf("cs-%s-very-secret", strings.ReplaceAll(t.Name(), "/", "-")))}
	mux := http.NewServeMux()
	mux.HandleFunc("/token", s.token)
	mux.HandleFunc("/orders/", s.orders)
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func (s *oauthServer) env() map[string]string {
	return map[string]string{"TOKEN_URL": s.URL + "/token", "CLIENT_ID": clientID, "CLIENT_SECRET": s.clientSecret, "API_URL": s.URL}
}

func (s *oauthServer) token(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenCalls++
	w.Header().Set("Content-Type", "application/json")
	if len(s.tokenStatus) > 0 {
		code := s.tokenStatus[0]
		s.tokenStatus = s.tokenStatus[1:]
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"error":"temporarily_unavailable"}`)
		return
	}
	id, sec, ok := r.BasicAuth()
	r.ParseForm()
	s.lastForm = r.PostForm
	s.lastBasic = ok
	if !ok {
		id, sec = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if s.refuse || id != clientID || sec != s.clientSecret {
		w.WriteHeader(http.StatusUnauthorized)
		// a careless server echoes what it got: the secret must not reach a result
		json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client", "error_description": "client " + id + " with secret " + sec + " is not allowed"})
		return
	}
	if r.PostFormValue("grant_type") != "client_credentials" || r.PostFormValue("scope") != "orders.read orders.write" {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":"invalid_request","error_description":"grant %q scope %q"}`, r.PostFormValue("grant_type"), r.PostFormValue("scope"))
		return
	}
	tok := secret(fmt.Sprintf("at-%d-%s", len(s.issued)+1, s.clientSecret[:8]))
	s.issued = append(s.issued, tok)
	s.valid[tok] = true
	fmt.Fprintf(w, `{"access_token":%q,"token_type":"bearer","expires_in":%d}`, tok, s.expiresIn)
}

func (s *oauthServer) orders(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.apiCalls++
	n := s.apiCalls
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	status := http.StatusOK
	if s.api != nil {
		status = s.api(s, n, tok)
	} else if !s.valid[tok] {
		status = http.StatusUnauthorized
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"success": status == 200, "you_sent": r.Header.Get("Authorization")})
}

func (s *oauthServer) counts() (token, api int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenCalls, s.apiCalls
}

// requestAttempts lists the attempt numbers of the trace's request events.
func checkNoSecret(t *testing.T, what string, v any, s *oauthServer) {
	t.Helper()
	b, _ := json.Marshal(v)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range append([]string{s.clientSecret}, s.issued...) {
		if strings.Contains(string(b), x) {
			t.Errorf("%s holds the secret %q: %s", what, x, b)
		}
	}
}

func TestOAuthTokenRevokedBetweenRetries(t *testing.T) {
	t.Parallel()
	s := newOAuthServer(t)
	s.api = func(s *oauthServer, n int, tok string) int {
		switch {
		case !s.valid[tok]:
			return 401
		case n == 1:
			s.valid[tok] = false // revoked while the flow waits to retry
			return 503
		}
		return 200
	}
	res := runOne(t, load(t, oauthDir+"oauth.yaml"), s.env(), nil)
	tokens, api := s.counts()
	if res.Outcome != "success" {
		t.Fatalf("outcome %s (error %v, outputs %v), want success", res.Outcome, res.Error, res.Outputs)
	}
	if tokens != 2 || api != 3 {
		t.Errorf("token endpoint called %d times, API %d times; want 2 and 3 (503, 401 with the revoked token, 200 with a new one)", tokens, api)
	}
	if res.Calls["get_order"] != 3 {
		t.Errorf("calls = %v, want get_order: 3 (the re-send counts, token requests do not)", res.Calls)
	}
	if len(res.Waits) != 1 || res.Waits[0] != 30 {
		t.Errorf("waits = %v, want [30]: the re-send after a 401 is not a retry and waits for nothing", res.Waits)
	}
	checkNoSecret(t, "result", res, s)
}

func TestOAuthReSendsOnceThenEscalates(t *testing.T) {
	t.Parallel()
	s := newOAuthServer(t)
	s.api = func(*oauthServer, int, string) int { return 401 } // even a fresh token is refused
	res := runOne(t, load(t, oauthDir+"oauth.yaml"), s.env(), nil)
	tokens, api := s.counts()
	if api != 2 || tokens != 2 {
		t.Errorf("API called %d times, token endpoint %d; want 2 and 2 (one fresh token, one re-send)", api, tokens)
	}
	if res.Outcome != "escalated" || res.Outputs["err_kind"] != "auth" || res.Outputs["err_class"] != "permanent" {
		t.Errorf("outcome %s, error kind %v class %v; want escalated with a permanent auth error", res.Outcome, res.Outputs["err_kind"], res.Outputs["err_class"])
	}
	if len(res.Waits) != 0 {
		t.Errorf("waits = %v: a permanent failure is not retried", res.Waits)
	}
	if len(res.Notifications) != 1 || !strings.Contains(res.Notifications[0].Subject, "auth failure") {
		t.Errorf("notifications = %v, want one auth failure", res.Notifications)
	}
	checkNoSecret(t, "result", res, s)
}

func TestOAuthClientRefused(t *testing.T) {
	t.Parallel()
	s := newOAuthServer(t)
	s.refuse = true
	res := runOne(t, load(t, oauthDir+"oauth.yaml"), s.env(), nil)
	tokens, api := s.counts()
	if api != 0 {
		t.Errorf("API got %d requests; none may reach it without a token", api)
	}
	if tokens == 0 {
		t.Error("the token endpoint was never asked")
	}
	if res.Outcome != "escalated" || res.Outputs["err_kind"] != "auth" || res.Outputs["err_class"] != "permanent" {
		t.Errorf("outcome %s, error kind %v class %v; want escalated with a permanent auth error", res.Outcome, res.Outputs["err_kind"], res.Outputs["err_class"])
	}
	msg, _ := res.Outputs["err_message"].(string)
	if !strings.Contains(msg, "auth erp: token endpoint refused the client: HTTP 401 invalid_client") {
		t.Errorf("error message %q does not say the client was refused", msg)
	}
	if !strings.Contains(msg, trace.Redacted) {
		t.Errorf("error message %q: the echoed secret should show as %s", msg, trace.Redacted)
	}
	if res.Calls["get_order"] != 0 || len(res.Waits) != 0 {
		t.Errorf("calls %v waits %v, want none", res.Calls, res.Waits)
	}
	checkNoSecret(t, "result", res, s)
}

func TestOAuthTokenEndpointDownIsTransient(t *testing.T) {
	t.Parallel()
	s := newOAuthServer(t)
	s.tokenStatus = []int{503}
	res := runOne(t, load(t, oauthDir+"oauth.yaml"), s.env(), nil)
	tokens, api := s.counts()
	if res.Outcome != "success" || api != 1 {
		t.Errorf("outcome %s with %d API calls; want success with 1", res.Outcome, api)
	}
	if tokens != 2 || len(res.Waits) != 1 || res.Waits[0] != 30 {
		t.Errorf("%d token requests, waits %v; want a retry after the 503 from the token endpoint", tokens, res.Waits)
	}
}

func TestOAuthOneTokenForConcurrentInstances(t *testing.T) {
	t.Parallel()
	s := newOAuthServer(t)
	f := load(t, oauthDir+"oauth.yaml")
	const n = 50
	var wg sync.WaitGroup
	results := make([]*engine.Result, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = runOne(t, f, s.env(), map[string]any{"order_id": fmt.Sprintf("A-%d", i)})
		}()
	}
	wg.Wait()
	tokens, api := s.counts()
	if tokens != 1 {
		t.Errorf("token endpoint called %d times for %d concurrent instances; want 1", tokens, n)
	}
	if api != n {
		t.Errorf("API called %d times, want %d", api, n)
	}
	for i, r := range results {
		if r == nil || r.Outcome != "success" {
			t.Errorf("instance %d: %+v", i, r)
		}
	}
}

func TestOAuthTokenRefreshedBeforeExpiry(t *testing.T) {
	t.Parallel()
	s := newOAuthServer(t)
	s.expiresIn = 3600
	now := time.Now()
	offset := time.Duration(0)
	reg := nodes.Builtins()
	reg.AddAuth(auth.ClientCredentials(func() time.Time { return now.Add(offset) })) // the wall clock, injected
	f, err := reg.LoadFile(oauthDir + "oauth.yaml")
	if err != nil {
		t.Fatal(err)
	}

	runOne(t, f, s.env(), nil)
	offset = 3500 * time.Second // 100s left: still good
	runOne(t, f, s.env(), nil)
	if tokens, _ := s.counts(); tokens != 1 {
		t.Errorf("after two instances within the token's life: %d token requests, want 1", tokens)
	}
	offset = 3590 * time.Second // 10s left: replaced before it expires
	res := runOne(t, f, s.env(), nil)
	if tokens, _ := s.counts(); tokens != 2 {
		t.Errorf("near expiry: %d token requests, want 2", tokens)
	}
	if res.Outcome != "success" {
		t.Errorf("outcome %s", res.Outcome)
	}
}

func TestOAuthSeparateCachePerClientConfig(t *testing.T) {
	t.Parallel()
	// two sets of credentials (e.g. two test cases with their own env:) never share a token
	s1, s2 := newOAuthServer(t), newOAuthServer(t)
	f := load(t, oauthDir+"oauth.yaml")
	for _, s := range []*oauthServer{s1, s2, s1, s2} {
		if res := runOne(t, f, s.env(), nil); res.Outcome != "success" {
			t.Errorf("outcome %s: %v", res.Outcome, res.Outputs)
		}
	}
	t1, _ := s1.counts()
	t2, _ := s2.counts()
	if t1 != 1 || t2 != 1 {
		t.Errorf("token requests %d and %d, want 1 each", t1, t2)
	}
}

// scriptedTokens is a transport that answers the token endpoint itself, as the test runner
// does, and sends every other request on.
type scriptedTokens struct {
	transport.Transport
	asked *int
}

func (s scriptedTokens) Do(ctx context.Context, req *transport.Request) (*transport.Response, error) {
	if req.Action != transport.AuthPrefix+"erp" {
		return s.Transport.Do(ctx, req)
	}
	*s.asked++
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return &transport.Response{Status: 200, Header: h, Body: []byte(`{"access_token":"fake-token-for-tests","token_type":"Bearer","expires_in":3600}`)}, nil
}

// Token requests go through the instance's transport, the one HTTP seam, as auth.<entry>.
func TestOAuthTokenRequestsGoThroughTheTransport(t *testing.T) {
	t.Parallel()
	s := newOAuthServer(t)
	s.api = func(_ *oauthServer, _ int, tok string) int {
		if tok == "fake-token-for-tests" {
			return 200
		}
		return 401
	}
	asked := 0
	f := load(t, oauthDir+"oauth.yaml")
	env := s.env()
	res := f.Run(t.Context(), map[string]any{"order_id": "A-1"}, &engine.Options{
		Clock:     func() clock.Clock { return clock.NewVirtualClock(clockStart) },
		Env:       func(n string) (string, bool) { v, ok := env[n]; return v, ok },
		Channels:  engine.Capture{},
		Transport: scriptedTokens{Transport: transport.NewHTTPTransport(), asked: &asked},
	})
	tokens, api := s.counts()
	if res.Outcome != "success" || asked != 1 || tokens != 0 || api != 1 {
		t.Errorf("outcome %s; fake token endpoint asked %d times, real one %d, API %d; want success, 1, 0, 1", res.Outcome, asked, tokens, api)
	}
}

func TestOAuthClientAuthStyles(t *testing.T) {
	t.Parallel()
	s := newOAuthServer(t)
	res := runOne(t, load(t, oauthDir+"oauth.yaml"), s.env(), nil)
	if res.Outcome != "success" || !s.lastBasic || s.lastForm.Get("client_secret") != "" {
		t.Errorf("default style: outcome %s, Basic %v, form %v; want the client in an Authorization: Basic header only", res.Outcome, s.lastBasic, s.lastForm)
	}
	p := newOAuthServer(t)
	res = runOne(t, load(t, oauthDir+"oauth-params.yaml"), p.env(), nil)
	if res.Outcome != "success" || p.lastBasic || p.lastForm.Get("client_id") != clientID || p.lastForm.Get("client_secret") != p.clientSecret {
		t.Errorf("auth_style params: outcome %s, Basic %v, form client_id %q; want the client in the form", res.Outcome, p.lastBasic, p.lastForm.Get("client_id"))
	}
	if got := p.lastForm.Get("audience"); got != "https://erp.example.com/"+clientID {
		t.Errorf("audience = %q, want the rendered params: value", got)
	}
}
