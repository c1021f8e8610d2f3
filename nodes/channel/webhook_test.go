package channel_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/trace"
	"github.com/archflow/archflow/nodes"
)

// hook records what a webhook receiver got and answers with a status chosen per request.
type hook struct {
	mu     sync.Mutex
	reqs   []*http.Request
	bodies [][]byte
	answer func(r *http.Request) (int, string)
}

func startHook(t *testing.T, answer func(r *http.Request) (int, string)) (*hook, *httptest.Server) {
	h := &hook{answer: answer}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.reqs = append(h.reqs, r)
		h.bodies = append(h.bodies, b)
		h.mu.Unlock()
		status, body := h.answer(r)
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return h, srv
}

func (h *hook) got() ([]*http.Request, [][]byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*http.Request(nil), h.reqs...), append([][]byte(nil), h.bodies...)
}

// The seed's escalation posted to a chat webhook as {"text": subject + "\n" + body}.
func TestEscalationWebhookDelivered(t *testing.T) {
	t.Parallel()
	api := erp(t)
	h, srv := startHook(t, func(*http.Request) (int, string) { return 200, "ok" })
	deadLetter := filepath.Join(t.TempDir(), "dead-letter.jsonl")
	res := run(t, context.Background(), "escalation-webhook.yaml",
		map[string]string{"ERP_URL": api.URL, "CHAT_WEBHOOK": srv.URL + "/services/T000/B000/XXXX", "DEAD_LETTER": deadLetter},
		map[string]any{"order_id": "A-1001"}, nil)
	if res.Outcome != "escalated" {
		t.Fatalf("outcome = %q, want escalated\n%s", res.Outcome, asJSON(res))
	}
	reqs, bodies := h.got()
	if len(reqs) != 1 {
		t.Fatalf("%d webhook requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != "POST" || r.URL.Path != "/services/T000/B000/XXXX" || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("%s %s Content-Type %q", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
	}
	var got map[string]any
	if err := json.Unmarshal(bodies[0], &got); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, bodies[0])
	}
	reqID := res.Variables["request_id"]
	want := map[string]any{"text": "CRITICAL: Data Action Retry Exhausted for " + reqID.(string) +
		"\nThe integration failed after 4 attempts.\nError Code: SERVICE_UNAVAILABLE\nMessage: ERP is down for maintenance"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("posted %s\nwant   %s", asJSON(got), asJSON(want))
	}
	if _, err := os.Stat(deadLetter); !os.IsNotExist(err) {
		t.Errorf("the dead-letter file was written although the chat got the escalation (%v)", err)
	}
}

// The chat answers 500: the notify takes on_failure, and the escalation lands in the
// dead-letter file with the reason.
func TestEscalationWebhookFailsOver(t *testing.T) {
	t.Parallel()
	api := erp(t)
	h, srv := startHook(t, func(*http.Request) (int, string) { return 500, `{"ok": false, "error": "internal_error"}` })
	deadLetter := filepath.Join(t.TempDir(), "dead-letter.jsonl")
	res := run(t, context.Background(), "escalation-webhook.yaml",
		map[string]string{"ERP_URL": api.URL, "CHAT_WEBHOOK": srv.URL + "/services/T000/B000/SECRETPATH", "DEAD_LETTER": deadLetter},
		map[string]any{"order_id": "A-1001"}, nil)
	if res.Outcome != "dead_lettered" {
		t.Fatalf("outcome = %q, want dead_lettered\n%s", res.Outcome, asJSON(res))
	}
	if tail := strings.Join(res.Path[len(res.Path)-3:], " "); tail != "escalate dead_letter dead_lettered" {
		t.Errorf("path ends %q, want escalate dead_letter dead_lettered", tail)
	}
	if reqs, _ := h.got(); len(reqs) != 1 {
		t.Errorf("%d webhook requests, want 1 (no retries of a failed delivery)", len(reqs))
	}
	lines := readLines(t, deadLetter)
	if len(lines) != 1 {
		t.Fatalf("%d dead-letter lines, want 1", len(lines))
	}
	l := lines[0]
	reqID := res.Variables["request_id"].(string)
	if l["subject"] != "CRITICAL: Data Action Retry Exhausted for "+reqID || l["node"] != "dead_letter" || l["channel"] != "deadletter" {
		t.Errorf("dead-letter line: %s", asJSON(l))
	}
	wantReason := "Chat delivery failed (delivery to channel chat failed: webhook " + srv.URL + `: 500 Internal Server Error: {"ok": false, "error": "internal_error"}).`
	if body, _ := l["body"].(string); !strings.HasPrefix(body, wantReason) {
		t.Errorf("dead-letter body = %q\nwant it to start %q", body, wantReason)
	}
	if strings.Contains(asJSON(res)+asJSON(l), "SECRETPATH") {
		t.Error("the webhook URL's path (its token, for Slack) shows in an error")
	}
}

// tokenServer is an OAuth2 token endpoint handing out tok-1, tok-2, ... to client archflow
// with secret good-secret.
func tokenServer(t *testing.T) *httptest.Server {
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		id, secret, ok := r.BasicAuth()
		if !ok {
			id, secret = r.Form.Get("client_id"), r.Form.Get("client_secret")
		}
		w.Header().Set("Content-Type", "application/json")
		if id != "archflow" || secret != "good-secret" {
			w.WriteHeader(401)
			io.WriteString(w, `{"error": "invalid_client"}`)
			return
		}
		mu.Lock()
		n++
		tok := fmt.Sprintf("tok-%d", n)
		mu.Unlock()
		fmt.Fprintf(w, `{"access_token": %q, "token_type": "Bearer", "expires_in": 3600}`, tok)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// A payload mapping is posted as JSON with its types kept; headers and the oauth2 auth entry
// are applied; a 401 gets one fresh token and one re-send.
func TestWebhookPayloadHeadersAuth(t *testing.T) {
	t.Parallel()
	tokens := tokenServer(t)
	h, srv := startHook(t, func(r *http.Request) (int, string) {
		if r.Header.Get("Authorization") != "Bearer tok-2" {
			return 401, "token expired"
		}
		return 202, ""
	})
	res := run(t, context.Background(), "webhook-payload.yaml",
		map[string]string{"INCIDENT_URL": srv.URL, "TOKEN_URL": tokens.URL, "INCIDENT_SECRET": "good-secret"}, map[string]any{"order_id": "ORD-9"}, nil)
	if res.Outcome != "success" {
		t.Fatalf("outcome = %q, want success\n%s", res.Outcome, asJSON(res))
	}
	reqs, bodies := h.got()
	if len(reqs) != 2 || reqs[0].Header.Get("Authorization") != "Bearer tok-1" {
		t.Fatalf("%d requests, want 2 (with tok-1 answered 401, then the re-send with tok-2)", len(reqs))
	}
	r := reqs[1]
	if r.URL.RawQuery != "team=payments" || r.Header.Get("X-Source") != "archflow" || r.Header.Get("X-Order") != "ORD-9" {
		t.Errorf("query %q X-Source %q X-Order %q", r.URL.RawQuery, r.Header.Get("X-Source"), r.Header.Get("X-Order"))
	}
	var got map[string]any
	if err := json.Unmarshal(bodies[1], &got); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, bodies[1])
	}
	want := map[string]any{"summary": "Order ORD-9 not pushed", "attempts": 4.0, "severity": "critical", "tags": []any{"erp", "ORD-9"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("posted %s\nwant   %s", asJSON(got), asJSON(want))
	}
}

// Non-2xx answers and auth failures take on_failure and keep the reason in error.
func TestWebhookFailures(t *testing.T) {
	t.Parallel()
	tokens := tokenServer(t)
	_, srv := startHook(t, func(r *http.Request) (int, string) { return 403, strings.Repeat("denied ", 100) })
	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"403 with a long body", map[string]string{"INCIDENT_URL": srv.URL, "INCIDENT_SECRET": "good-secret"}, "webhook " + srv.URL + ": 403 Forbidden: denied denied"},
		{"token endpoint refuses the client", map[string]string{"INCIDENT_URL": srv.URL, "INCIDENT_SECRET": "bad-secret"}, "webhook " + srv.URL + ": auth incidents: "},
		{"nothing listening", map[string]string{"INCIDENT_URL": "http://" + closedPort(t), "INCIDENT_SECRET": "good-secret"}, "connection refused"},
		{"not a URL", map[string]string{"INCIDENT_URL": "ftp://x", "INCIDENT_SECRET": "good-secret"}, `url: "ftp://x/v1/alerts?team=payments" is not an http(s) URL`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.env["TOKEN_URL"] = tokens.URL
			var events []*trace.Event
			res := run(t, context.Background(), "webhook-payload.yaml", tc.env, map[string]any{"order_id": "ORD-9"},
				&engine.Options{Tracer: trace.TraceFunc(func(e *trace.Event) { events = append(events, e) })})
			if res.Outcome != "failure" || res.Path[len(res.Path)-1] != "not_sent" {
				t.Fatalf("outcome %q path %v, want failure via not_sent", res.Outcome, res.Path)
			}
			var msg string
			for _, e := range events {
				if e.Event == "notify" {
					msg = e.Message
				}
			}
			t.Logf("delivery error: %s", msg)
			if !strings.Contains(msg, tc.want) {
				t.Errorf("notify event message = %q\nwant it to contain %q", msg, tc.want)
			}
			if len(msg) > 400 {
				t.Errorf("error message is %d bytes; a long response body must be cut", len(msg))
			}
			if len(res.Notifications) != 1 || res.Notifications[0].Error == "" || res.Notifications[0].Payload == nil {
				t.Errorf("undelivered notification not kept with its payload: %s", asJSON(res.Notifications))
			}
			if strings.Contains(asJSON(res)+msg, "-secret") {
				t.Errorf("the client secret shows in the result or trace")
			}
		})
	}
}

func readLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var out []map[string]any
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s:%d is not a JSON object: %v\n%s", path, n, err, sc.Bytes())
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// The webhook uses the flow's real auth types (nodes/auth): a bearer token from secret(),
// which shows nowhere in the result when the receiver refuses it.
func TestWebhookBearerAuth(t *testing.T) {
	t.Parallel()
	h, srv := startHook(t, func(r *http.Request) (int, string) {
		if r.Header.Get("Authorization") == "Bearer xoxb-good-token" {
			return 200, "ok"
		}
		return 401, "invalid_auth"
	})
	src := `flow: chat-bearer
auth:
  chat: {type: bearer, token: "{{ secret('CHAT_TOKEN') }}"}
channels:
  chat: {type: webhook, url: "{{ env('CHAT_URL') }}", auth: chat}
start: say
nodes:
  say:
    notify: {channel: chat, subject: "order failed", body: "see the dead letter"}
    next: done
  done: {end: success}
`
	f, err := nodes.Builtins().Load("chat-bearer.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{"xoxb-good-token", "xoxb-revoked-token"} {
		env := map[string]string{"CHAT_URL": srv.URL, "CHAT_TOKEN": tok}
		res := f.Run(context.Background(), nil, &engine.Options{Env: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
		switch tok {
		case "xoxb-good-token":
			_, bodies := h.got()
			if res.Outcome != "success" || len(bodies) != 1 || string(bodies[0]) != `{"text":"order failed\nsee the dead letter"}` {
				t.Errorf("outcome %q bodies %q", res.Outcome, bodies)
			}
		default:
			if res.Outcome != engine.OutcomeError || len(res.Notifications) != 1 || !strings.Contains(res.Notifications[0].Error, "401 Unauthorized: invalid_auth") {
				t.Errorf("outcome %q notifications %s", res.Outcome, asJSON(res.Notifications))
			}
			if strings.Contains(asJSON(res), tok) {
				t.Errorf("the token shows in the result")
			}
		}
	}
}
