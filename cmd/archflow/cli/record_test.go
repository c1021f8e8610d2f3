package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/archflow/archflow/engine/cassette"
)

// orderERP answers per order id: A-1 gets 503, 429 (Retry-After: 7) then 200; A-2 a 404 (a
// permanent failure: escalated at once); any other id 503 as many times as the digits after
// its dash say modulo 3, then 200. It counts the requests it got.
func orderERP(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		var body struct {
			ID string `json:"id"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		seen[body.ID]++
		k := seen[body.ID]
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case body.ID == "A-1" && k == 1:
			w.WriteHeader(503)
			fmt.Fprint(w, `{"success": false, "error_code": "SERVICE_UNAVAILABLE", "message": "ERP busy"}`)
		case body.ID == "A-1" && k == 2:
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(429)
			fmt.Fprint(w, `{"success": false, "error_code": "RATE_LIMITED", "message": "slow down"}`)
		case body.ID == "A-2":
			w.WriteHeader(404)
			fmt.Fprint(w, `{"success": false, "error_code": "NO_SUCH_CUSTOMER", "message": "unknown customer"}`)
		case body.ID != "A-1" && k <= numberAfterDash(body.ID)%3:
			w.WriteHeader(503)
			fmt.Fprint(w, `{"success": false, "error_code": "SERVICE_UNAVAILABLE", "message": "ERP busy"}`)
		default:
			fmt.Fprint(w, `{"success": true}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func numberAfterDash(id string) int {
	_, digits, _ := strings.Cut(id, "-")
	n := 0
	fmt.Sscan(digits, &n)
	return n
}

type runResult struct {
	Instance      string           `json:"instance"`
	Outcome       string           `json:"outcome"`
	Path          []string         `json:"path"`
	Calls         map[string]int   `json:"calls"`
	Waits         []float64        `json:"waits"`
	Variables     map[string]any   `json:"variables"`
	Outputs       map[string]any   `json:"outputs"`
	Notifications []map[string]any `json:"notifications"`
}

func decodeResults(t *testing.T, out string) []runResult {
	t.Helper()
	var rs []runResult
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r runResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("result %q: %v", line, err)
		}
		rs = append(rs, r)
	}
	return rs
}

// SPEC §7: record a run against a real server answering 503, 429 (Retry-After) and 200, stop
// the server, and replay: as a test case and with archflow replay, the same path, calls, waits,
// variables and notifications; edited flows report the first difference at its step.
func TestRecordReplayRoundTrip(t *testing.T) {
	t.Parallel()
	srv, hits := orderERP(t)
	dir := t.TempDir()
	deadLetter := filepath.Join(dir, "dead-letter.jsonl")
	envFile := filepath.Join(dir, "erp.env")
	os.WriteFile(envFile, []byte("ERP_URL="+srv.URL+"\nDEAD_LETTER="+deadLetter+"\n"), 0o600)
	flow := filepath.Join("..", "..", "..", "flows", "self-healing.yaml")

	recorded := map[string]runResult{}
	for _, id := range []string{"A-1", "A-2"} {
		cas := filepath.Join(dir, id+".cassette.yaml")
		code, out, errOut := cli(t, "run", flow, "--input", "order_id="+id, "--input", "amount=42", "--clock", "virtual",
			"--env-file", envFile, "--output", "json", "--record", cas)
		if want := map[string]int{"A-1": 0, "A-2": 1}[id]; code != want {
			t.Fatalf("run %s: exit %d, want %d\n%s%s", id, code, want, out, errOut)
		}
		recorded[id] = decodeResults(t, out)[0]
		info, err := os.Stat(cas)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", cas, info.Mode().Perm())
		}
	}
	if r := recorded["A-1"]; !reflect.DeepEqual(r.Waits, []float64{30, 7}) || r.Calls["push_order"] != 3 {
		t.Fatalf("the recorded run is not the one this test is about: %+v", r)
	}
	c, errs := cassette.ReadFile(filepath.Join(dir, "A-1.cassette.yaml"))
	if c == nil {
		t.Fatal(errs)
	}
	var statuses []int
	for _, it := range c.Interactions {
		statuses = append(statuses, it.Response.Status)
	}
	if !reflect.DeepEqual(statuses, []int{503, 429, 200}) || c.Interactions[1].Response.Headers["Retry-After"] != "7" {
		t.Errorf("recorded statuses %v, headers %v", statuses, c.Interactions[1].Response.Headers)
	}
	if len(c.UUIDs) != 1 || c.Inputs["order_id"] != "A-1" || c.Instance != recorded["A-1"].Instance {
		t.Errorf("cassette uuids %v, inputs %v, instance %s", c.UUIDs, c.Inputs, c.Instance)
	}
	dl, _ := os.ReadFile(deadLetter)
	if strings.Count(string(dl), "\n") != 1 {
		t.Fatalf("the escalated run wrote %q to the dead letter file", dl)
	}
	srv.Close()
	before := hits.Load()

	// replayed as test cases: every expectation taken from the recorded run, no env at all
	var tf strings.Builder
	fmt.Fprintf(&tf, "flow: %s\ncases:\n", mustAbs(t, flow))
	for _, id := range []string{"A-1", "A-2"} {
		r := recorded[id]
		path, _ := json.Marshal(r.Path)
		calls, _ := json.Marshal(r.Calls)
		vars, _ := json.Marshal(r.Variables)
		var waits []string
		for _, w := range r.Waits {
			waits = append(waits, fmt.Sprintf("%gs", w))
		}
		notes := "[]"
		if id == "A-2" {
			notes = `[{channel: deadletter, contains: "NO_SUCH_CUSTOMER"}]`
		}
		fmt.Fprintf(&tf, "  - name: replays %s\n    cassette: %s.cassette.yaml\n    match: [method, url, body]\n    expect:\n      outcome: %s\n      path: %s\n      calls: %s\n      waits: [%s]\n      variables: %s\n      notifications: %s\n",
			id, id, r.Outcome, path, calls, strings.Join(waits, ", "), vars, notes)
	}
	testFile := filepath.Join(dir, "replay.test.yaml")
	os.WriteFile(testFile, []byte(tf.String()), 0o600)
	if code, out, errOut := cli(t, "test", testFile); code != 0 {
		t.Fatalf("test: exit %d\n%s%s\n%s", code, out, errOut, tf.String())
	}

	// archflow replay: the unedited flow takes the same path
	for _, id := range []string{"A-1", "A-2"} {
		code, out, errOut := cli(t, "replay", filepath.Join(dir, id+".cassette.yaml"), "--flow", flow)
		want := fmt.Sprintf("same path (%d steps)\n", len(recorded[id].Path))
		if code != 0 || out != want {
			t.Errorf("replay %s: exit %d, printed %q%s; want %q", id, code, out, errOut, want)
		}
	}
	if hits.Load() != before {
		t.Errorf("replay sent %d requests", hits.Load()-before)
	}
	if dl2, _ := os.ReadFile(deadLetter); string(dl2) != string(dl) {
		t.Errorf("replay delivered a notification: %q", dl2)
	}
	if _, err := os.Stat("dead-letter.jsonl"); err == nil {
		t.Errorf("replay wrote the default dead letter file")
	}

	// edited flows: the first difference, at its step, recorded against now
	src, _ := os.ReadFile(flow)
	edits := []struct {
		name, from, to string
		want           []string
	}{
		{"max_retries lowered", "max_retries:     {type: integer, default: 3}", "max_retries:     {type: integer, default: 1}",
			[]string{"diverged at step 8 (escalate): path differs", "recorded: bump", "now:      escalate"}},
		{"decision changed", `when: error.class == "permanent"`, `when: error.class == "transient"`,
			[]string{"diverged at step 4 (escalate): path differs", "recorded: bump", "now:      escalate"}},
		{"backoff 30 to 45", "[30, 60, 120]", "[45, 60, 120]",
			[]string{"diverged at step 5 (backoff): wait differs", "recorded: 30s", "now:      45s"}},
	}
	for _, e := range edits {
		edited := strings.Replace(string(src), e.from, e.to, 1)
		if edited == string(src) {
			t.Fatalf("%s: %q not in the flow", e.name, e.from)
		}
		p := filepath.Join(dir, strings.ReplaceAll(e.name, " ", "-")+".yaml")
		os.WriteFile(p, []byte(edited), 0o600)
		code, out, errOut := cli(t, "replay", filepath.Join(dir, "A-1.cassette.yaml"), "--flow", p)
		if code != 1 {
			t.Errorf("%s: exit %d, want 1\n%s%s", e.name, code, out, errOut)
		}
		for _, w := range e.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", e.name, w, out)
			}
		}
		code, out, _ = cli(t, "replay", filepath.Join(dir, "A-1.cassette.yaml"), "--flow", p, "--output", "json")
		var rep struct {
			Same       bool
			Difference struct {
				What string
				Step int
			}
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 1 || rep.Same || rep.Difference.Step == 0 {
			t.Errorf("%s --output json: exit %d, %q (%v)", e.name, code, out, err)
		}
	}
	if hits.Load() != before {
		t.Errorf("replays sent %d requests", hits.Load()-before)
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// The example cassette in flows/ is a real run against a local ERP answering 503, 429 with
// Retry-After and 200 (go test ./cmd/archflow/cli -run TestExampleCassette -update records it
// again). It replays on the seed flow as it is, with no environment, and its test case passes.
func TestExampleCassette(t *testing.T) {
	const cas = "../../../flows/self-healing.cassette.yaml"
	if updating() {
		srv, _ := orderERP(t)
		env := filepath.Join(t.TempDir(), "erp.env")
		os.WriteFile(env, []byte("ERP_URL="+srv.URL+"\n"), 0o600)
		code, out, errOut := cli(t, "run", seedFlow, "--input", "order_id=A-1", "--input", "amount=42", "--clock", "virtual",
			"--env-file", env, "--record", cas)
		if code != 0 {
			t.Fatalf("recording: exit %d\n%s%s", code, out, errOut)
		}
		os.Chmod(cas, 0o644) // committed, like a snapshot written with -update
	}
	code, out, errOut := cli(t, "replay", cas, "--flow", seedFlow)
	if code != 0 || out != "same path (11 steps)\n" {
		t.Errorf("replay: exit %d, %q%s", code, out, errOut)
	}
	code, out, errOut = cli(t, "test", "../../../flows/self-healing-recorded.test.yaml")
	if code != 0 {
		t.Errorf("test: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = cli(t, "validate", cas)
	if code != 0 {
		t.Errorf("validate: exit %d\n%s%s", code, out, errOut)
	}
}

// A batch of 100 instances records one cassette each into a directory, and a trace; each
// replays from its own recording (the paths differ per order), and so does the trace.
func TestRecordBatchReplaysEachInstance(t *testing.T) {
	t.Parallel()
	srv, hits := orderERP(t)
	dir := t.TempDir()
	env := filepath.Join(dir, "erp.env")
	os.WriteFile(env, []byte("ERP_URL="+srv.URL+"\n"), 0o600)
	var in strings.Builder
	for i := range 100 {
		fmt.Fprintf(&in, "{\"order_id\": \"B-%d\", \"amount\": %d}\n", i, i)
	}
	inputs := filepath.Join(dir, "orders.jsonl")
	os.WriteFile(inputs, []byte(in.String()), 0o600)
	cassettes := filepath.Join(dir, "recorded")
	trace := filepath.Join(dir, "trace.jsonl")
	code, out, errOut := cli(t, "run", seedFlow, "--inputs", inputs, "--concurrency", "8", "--clock", "virtual",
		"--env-file", env, "--output", "json", "--record", cassettes, "--trace", trace)
	if code != 0 {
		t.Fatalf("run: exit %d\n%s", code, errOut)
	}
	results := decodeResults(t, out)
	steps := map[string]int{}
	for _, r := range results {
		steps[r.Instance] = len(r.Path)
	}
	names, _ := filepath.Glob(filepath.Join(cassettes, "*.cassette.yaml"))
	if len(results) != 100 || len(names) != 100 {
		t.Fatalf("%d results, %d cassettes; want 100 of each", len(results), len(names))
	}
	srv.Close()
	before := hits.Load()
	for _, rec := range []string{cassettes, trace} {
		code, out, errOut = cli(t, "replay", rec, "--flow", seedFlow)
		if code != 0 {
			t.Fatalf("replay %s: exit %d\n%s%s", filepath.Base(rec), code, out, errOut)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		kinds := map[string]bool{}
		for _, l := range lines {
			id, rest, _ := strings.Cut(l, ": ")
			if want := fmt.Sprintf("same path (%d steps)", steps[id]); rest != want {
				t.Errorf("replay %s: %q, want %s: %s", filepath.Base(rec), l, id, want)
			}
			kinds[rest] = true
		}
		if len(lines) != 100 || len(kinds) != 3 {
			t.Errorf("replay %s: %d lines, %d kinds of path; want 100 and 3", filepath.Base(rec), len(lines), len(kinds))
		}
	}
	// one instance of the trace, and a recording of one instance replayed on another's inputs
	one := results[7].Instance
	code, out, _ = cli(t, "replay", trace, "--flow", seedFlow, "--instance", one)
	if code != 0 || out != fmt.Sprintf("same path (%d steps)\n", steps[one]) {
		t.Errorf("replay --instance: exit %d, %q", code, out)
	}
	if code, _, errOut := cli(t, "replay", trace, "--flow", seedFlow, "--instance", "nope"); code != 2 || !strings.Contains(errOut, "no instance nope") {
		t.Errorf("replay --instance nope: exit %d, %q", code, errOut)
	}
	if hits.Load() != before {
		t.Errorf("replays sent %d requests", hits.Load()-before)
	}
}

const hookFlow = `flow: hooked
variables:
  id: {type: string, input: true, required: true}
actions:
  push: {method: POST, url: "{{ env('ERP_URL') }}/orders", body: {id: "{{ id }}"}}
channels:
  hook: {type: webhook, url: "{{ env('HOOK_URL') }}/alert", headers: {X-Signature: "{{ secret('HOOK_SECRET') }}"}}
start: call
nodes:
  call: {data_action: push, next: done, on_failure: tell}
  tell: {notify: {channel: hook, payload: {id: "{{ id }}", corr: corr-7}}, next: failed}
  done: {end: success}
  failed: {end: escalated}
`

// A webhook delivery is recorded with its HTTP exchange and result, on the real clock; replay
// answers it from the recording and the webhook gets nothing; with no credentials at all.
// Broken recordings are invalid (exit 2) at their file:line:col.
func TestRecordWebhookRealClockAndInvalidRecordings(t *testing.T) {
	t.Parallel()
	var hooks atomic.Int32
	erp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) }))
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hooks.Add(1); w.WriteHeader(202) }))
	defer erp.Close()
	defer hook.Close()
	dir := t.TempDir()
	flow := filepath.Join(dir, "hooked.yaml")
	os.WriteFile(flow, []byte(hookFlow), 0o600)
	env := filepath.Join(dir, "env")
	os.WriteFile(env, []byte("ERP_URL="+erp.URL+"\nHOOK_URL="+hook.URL+"\nHOOK_SECRET=sig-Zq9\n"), 0o600)
	cas := filepath.Join(dir, "hooked.cassette.yaml")
	code, out, errOut := cli(t, "run", flow, "--input", "id=H-1", "--env-file", env, "--clock", "real", "--record", cas)
	if code != 1 || hooks.Load() != 1 {
		t.Fatalf("run: exit %d, %d deliveries\n%s%s", code, hooks.Load(), out, errOut)
	}
	data, _ := os.ReadFile(cas)
	for _, want := range []string{"action: notify.hook", "result: delivered", "status: 202", "X-Signature: '[REDACTED]'", "corr-7"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("cassette lacks %q:\n%s", want, data)
		}
	}
	if strings.Contains(string(data), "sig-Zq9") {
		t.Errorf("the webhook secret is in the cassette")
	}
	code, out, errOut = cli(t, "replay", cas, "--flow", flow)
	if code != 0 || out != "same path (3 steps)\n" || hooks.Load() != 1 {
		t.Errorf("replay: exit %d, %q%s, %d deliveries", code, out, errOut, hooks.Load())
	}
	if code, out, errOut := cli(t, "validate", dir); code != 0 {
		t.Errorf("validate %s: exit %d\n%s%s", dir, code, out, errOut)
	}

	// invalid recordings: exit 2 with their positions, from replay and validate alike
	bad := filepath.Join(dir, "bad.cassette.yaml")
	os.WriteFile(bad, []byte(strings.Replace(strings.Replace(string(data), "status: 404", "status: four", 1), "action: push", "action: pusj", 1)), 0o600)
	code, _, errOut = cli(t, "replay", bad, "--flow", flow)
	if code != 2 || !regexp.MustCompile(`bad.cassette.yaml:\d+:\d+: error: expected an integer`).MatchString(errOut) {
		t.Errorf("replay of a bad cassette: exit %d\n%s", code, errOut)
	}
	os.WriteFile(bad, []byte(strings.Replace(string(data), "action: push", "action: pusj", 1)), 0o600)
	code, _, errOut = cli(t, "validate", bad)
	if code != 2 || !regexp.MustCompile(`bad.cassette.yaml:\d+:5: error: interaction 1: flow hooked has no action "pusj" \(did you mean "push"\?\)`).MatchString(errOut) {
		t.Errorf("validate of a cassette of another action: exit %d\n%s", code, errOut)
	}
	badTrace := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(badTrace, []byte("{\"seq\":1,\"instance\":\"i\",\"event\":\"start\"}\n{oops\n"), 0o600)
	code, _, errOut = cli(t, "replay", badTrace, "--flow", flow)
	if code != 2 || !strings.Contains(errOut, "bad.jsonl:2:2: error: not a trace event") {
		t.Errorf("replay of a bad trace: exit %d\n%s", code, errOut)
	}
	if code, _, errOut := cli(t, "replay", cas); code != 2 || !strings.Contains(errOut, "--flow") {
		t.Errorf("replay without --flow: exit %d\n%s", code, errOut)
	}
}

const tokenFlow = `flow: tokened
variables:
  id: {type: string, input: true, required: true}
auth:
  api:
    type: oauth2_client_credentials
    token_url: "{{ env('API_URL') }}/token"
    client_id: svc
    client_secret: "{{ secret('CLIENT_SECRET') }}"
actions:
  push: {method: POST, url: "{{ env('API_URL') }}/orders", body: {id: "{{ id }}"}, auth: api}
start: call
nodes:
  call: {data_action: push, next: done, on_failure: failed}
  done: {end: success}
  failed: {end: escalated}
`

// A recorded (and traced) batch shares one OAuth token as any batch does: the first instance's
// cassette holds the token request, the others none, and every one replays (SPEC §7: token
// interactions are answered when present and faked otherwise).
func TestRecordBatchSharesOneToken(t *testing.T) {
	t.Parallel()
	var tokens, calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/token" {
			tokens.Add(1)
			fmt.Fprint(w, `{"access_token": "tok-Q7x", "token_type": "Bearer", "expires_in": 3600}`)
			return
		}
		calls.Add(1)
		fmt.Fprint(w, `{"ok": true}`)
	}))
	defer srv.Close()
	dir := t.TempDir()
	flow := filepath.Join(dir, "tokened.yaml")
	os.WriteFile(flow, []byte(tokenFlow), 0o600)
	env := filepath.Join(dir, "env")
	os.WriteFile(env, []byte("API_URL="+srv.URL+"\nCLIENT_SECRET=cs-1\n"), 0o600)
	inputs := filepath.Join(dir, "in.jsonl")
	os.WriteFile(inputs, []byte("{\"id\":\"T-1\"}\n{\"id\":\"T-2\"}\n{\"id\":\"T-3\"}\n{\"id\":\"T-4\"}\n"), 0o600)
	rec := filepath.Join(dir, "rec")
	trace := filepath.Join(dir, "trace.jsonl")
	code, out, errOut := cli(t, "run", flow, "--inputs", inputs, "--env-file", env, "--record", rec, "--trace", trace, "--concurrency", "1")
	if code != 0 || tokens.Load() != 1 || calls.Load() != 4 {
		t.Fatalf("run: exit %d, %d token requests, %d calls\n%s%s", code, tokens.Load(), calls.Load(), out, errOut)
	}
	names, _ := filepath.Glob(filepath.Join(rec, "*.cassette.yaml"))
	withToken := 0
	for _, n := range names {
		b, _ := os.ReadFile(n)
		if strings.Contains(string(b), "action: auth.api") {
			withToken++
		}
		if strings.Contains(string(b), "tok-Q7x") || strings.Contains(string(b), "cs-1") {
			t.Errorf("%s holds a credential", n)
		}
	}
	if len(names) != 4 || withToken != 1 {
		t.Errorf("%d cassettes, %d with the token request; want 4 and 1", len(names), withToken)
	}
	for _, r := range []string{rec, trace} {
		if code, out, errOut := cli(t, "replay", r, "--flow", flow); code != 0 || strings.Count(out, "same path (2 steps)") != 4 {
			t.Errorf("replay %s: exit %d\n%s%s", filepath.Base(r), code, out, errOut)
		}
	}
}
