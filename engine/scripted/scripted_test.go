package scripted_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/clock"
	"github.com/archflow/archflow/engine/failure"
	"github.com/archflow/archflow/engine/scripted"
	"github.com/archflow/archflow/engine/transport"
	"github.com/archflow/archflow/engine/yamldoc"
	"github.com/archflow/archflow/nodes"
)

func parse(t *testing.T, src string) (*scripted.Script, yamldoc.ErrorList) {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	d := &yamldoc.Decoder{File: "case.yaml"}
	s := scripted.Parse(d, doc.Content[0])
	return s, d.Errs.Sort()
}

func mustParse(t *testing.T, src string) *scripted.Script {
	t.Helper()
	s, errs := parse(t, src)
	if len(errs) > 0 {
		t.Fatalf("unexpected errors:\n%v", errs)
	}
	return s
}

func req(action, method, url string) *transport.Request {
	return &transport.Request{Action: action, Node: "call", Method: method, URL: url, Timeout: 10 * time.Second}
}

func TestSequenceInOrderWithTimes(t *testing.T) {
	t.Parallel()
	s := mustParse(t, `
push_order:
  - {status: 503, times: 2}
  - {status: 200, body: {success: true}}
`)
	tr := scripted.NewTransport(s)
	var got []int
	for i := 0; i < 3; i++ {
		resp, err := tr.Do(context.Background(), req("push_order", "POST", "http://erp/orders"))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, resp.Status)
	}
	if want := []int{503, 503, 200}; !slices.Equal(got, want) {
		t.Fatalf("statuses = %v, want %v", got, want)
	}
	if u := tr.Unused(); len(u) != 0 {
		t.Fatalf("unused = %v", u)
	}
	// the fourth call has no response left: it names the call and the script's line
	_, err := tr.Do(context.Background(), req("push_order", "POST", "http://erp/orders"))
	if !engine.IsScriptError(err) {
		t.Fatalf("err = %v, want a script error", err)
	}
	m := tr.Missing()
	if len(m) != 1 || !strings.Contains(m[0].String(), "case.yaml:2: no scripted response left for call 4 to push_order (POST http://erp/orders from node call): push_order has 3 responses") {
		t.Fatalf("missing = %v", m)
	}
}

func TestUnusedResponsesAreReportedWithTheirLine(t *testing.T) {
	t.Parallel()
	s := mustParse(t, `
push_order:
  - {status: 503, times: 2}
  - {status: 200}
`)
	tr := scripted.NewTransport(s)
	if _, err := tr.Do(context.Background(), req("push_order", "POST", "u")); err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, p := range tr.Unused() {
		msgs = append(msgs, p.String())
	}
	want := []string{
		"case.yaml:3: scripted response 1 of push_order (status 503) was used 1 of 2 times",
		"case.yaml:4: scripted response 2 of push_order (status 200) was never used",
	}
	if strings.Join(msgs, "\n") != strings.Join(want, "\n") {
		t.Fatalf("unused:\n%s\nwant:\n%s", strings.Join(msgs, "\n"), strings.Join(want, "\n"))
	}
}

func TestRepeatLast(t *testing.T) {
	t.Parallel()
	s := mustParse(t, `
push_order: {responses: [{status: 503}], on_exhausted: repeat_last}
`)
	tr := scripted.NewTransport(s)
	for i := 0; i < 5; i++ {
		resp, err := tr.Do(context.Background(), req("push_order", "POST", "u"))
		if err != nil || resp.Status != 503 {
			t.Fatalf("call %d: %v %v", i+1, resp, err)
		}
	}
	if len(tr.Unused()) != 0 || len(tr.Missing()) != 0 {
		t.Fatalf("unused %v missing %v", tr.Unused(), tr.Missing())
	}
}

func TestScriptedErrors(t *testing.T) {
	t.Parallel()
	s := mustParse(t, `
push_order:
  - {error: timeout}
  - {error: connection_reset}
  - {error: dns}
  - {status: 200, delay: 10s}
  - {status: 200, delay: 2.5}
`)
	tr := scripted.NewTransport(s)
	cases := []struct {
		kind      string
		transient bool
		virtual   time.Duration
	}{
		{failure.KindTimeout, true, 10 * time.Second},
		{failure.KindNetwork, true, 0},
		{"dns", false, 0},
		{failure.KindTimeout, true, 10 * time.Second}, // a delay at the timeout is a timeout
	}
	for i, c := range cases {
		_, err := tr.Do(context.Background(), req("push_order", "POST", "http://erp.example/orders"))
		var te *transport.TransportError
		if !errors.As(err, &te) {
			t.Fatalf("response %d: err = %v, want a TransportError", i+1, err)
		}
		if te.Kind != c.kind || te.Transient != c.transient || te.Virtual != c.virtual {
			t.Fatalf("response %d: kind %s transient %v virtual %s, want %s %v %s", i+1, te.Kind, te.Transient, te.Virtual, c.kind, c.transient, c.virtual)
		}
	}
	resp, err := tr.Do(context.Background(), req("push_order", "POST", "u"))
	if err != nil || resp.Virtual != 2500*time.Millisecond {
		t.Fatalf("delay 2.5: %v %v", resp, err)
	}
}

func TestMatchEntriesWithGlob(t *testing.T) {
	t.Parallel()
	s := mustParse(t, `
- match: {method: GET, url: "http://erp/orders/*"}
  responses: [{status: 404}]
- match: {action: push_order}
  responses: [{status: 201}]
`)
	tr := scripted.NewTransport(s)
	r1, err := tr.Do(context.Background(), req("lookup", "GET", "http://erp/orders/A-1"))
	if err != nil || r1.Status != 404 {
		t.Fatalf("glob: %v %v", r1, err)
	}
	r2, err := tr.Do(context.Background(), req("push_order", "POST", "http://erp/orders"))
	if err != nil || r2.Status != 201 {
		t.Fatalf("action: %v %v", r2, err)
	}
	_, err = tr.Do(context.Background(), req("other", "DELETE", "http://erp/x"))
	if !engine.IsScriptError(err) || !strings.Contains(err.Error(), "call 1 to other (DELETE http://erp/x") {
		t.Fatalf("unmatched: %v", err)
	}
}

func TestTokenRequestsGetAFakeToken(t *testing.T) {
	t.Parallel()
	tr := scripted.NewTransport(mustParse(t, `push_order: [{status: 200}]`))
	resp, err := tr.Do(context.Background(), req("auth.erp", "POST", "http://idp/token"))
	if err != nil || resp.Status != 200 || !strings.Contains(string(resp.Body), `"access_token":"test-token-erp"`) {
		t.Fatalf("token: %v %v", resp, err)
	}
}

func TestParseErrorsHavePositions(t *testing.T) {
	t.Parallel()
	_, errs := parse(t, `
push_order:
  - {status: 200, bodyy: {}}
  - {error: boom}
  - {status: 99, times: 0}
other: {responses: [{status: 200}], on_exhausted: forever}
`)
	want := []string{
		`case.yaml:3:19: error: unknown key "bodyy" (did you mean "body"?)`,
		`case.yaml:4:13: error: error must be timeout, connection_reset or dns, not "boom"`,
		`case.yaml:5:14: error: 99 is not an HTTP status`,
		`case.yaml:5:25: error: times must be at least 1`,
		`case.yaml:6:51: error: on_exhausted must be fail or repeat_last, not "forever"`,
	}
	if got := errs.Error(); got != strings.Join(want, "\n") {
		t.Fatalf("errors:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

// Each instance of run --mock gets its own cursors: two instances both see the first response.
func TestMockGivesEachInstanceAFreshCopy(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "mock.yaml")
	if err := os.WriteFile(path, []byte("push_order:\n  - {status: 503}\n  - {status: 200, body: {success: true}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := scripted.LoadMock(path)
	if err != nil {
		t.Fatal(err)
	}
	flow, err := nodes.Builtins().LoadFile("../../flows/self-healing.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if errs := m.Script.Check(flow); len(errs) > 0 {
		t.Fatal(errs)
	}
	for i := 0; i < 2; i++ {
		in, err := flow.Inputs(map[string]any{"order_id": "A-1"})
		if err != nil {
			t.Fatal(err)
		}
		clock := func() clock.Clock { return clock.NewVirtualClock(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)) }
		r := flow.Run(context.Background(), in, &engine.Options{Clock: clock, Transport: m.Transport(), Channels: engine.Capture{}})
		if r.Outcome != "success" || r.Calls["push_order"] != 2 || len(r.Waits) != 1 || r.Waits[0] != 30 {
			t.Fatalf("instance %d: outcome %s calls %v waits %v", i+1, r.Outcome, r.Calls, r.Waits)
		}
	}
}

// A call with no response left ends the instance with outcome error, not on the failure path.
func TestExhaustedMockEndsTheInstanceWithError(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "mock.yaml")
	if err := os.WriteFile(path, []byte("push_order: [{status: 503}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := scripted.LoadMock(path)
	if err != nil {
		t.Fatal(err)
	}
	flow, err := nodes.Builtins().LoadFile("../../flows/self-healing.yaml")
	if err != nil {
		t.Fatal(err)
	}
	in, _ := flow.Inputs(map[string]any{"order_id": "A-1"})
	clock := func() clock.Clock { return clock.NewVirtualClock(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)) }
	r := flow.Run(context.Background(), in, &engine.Options{Clock: clock, Transport: m.Transport(), Channels: engine.Capture{}})
	if r.Outcome != engine.OutcomeError || r.Error == nil || !strings.Contains(r.Error.Message, "no scripted response left for call 2 to push_order") {
		t.Fatalf("outcome %s error %+v path %v", r.Outcome, r.Error, r.Path)
	}
	if len(r.Notifications) != 0 {
		t.Fatalf("the script's gap must not escalate: %v", r.Notifications)
	}
}

func TestLoadMockErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "mock.yaml")
	if err := os.WriteFile(path, []byte("push_order:\n  - {status: two}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := scripted.LoadMock(path)
	if err == nil || err.Error() != path+`:2:14: error: expected an integer, got "two"` {
		t.Fatalf("err = %v", err)
	}
	if _, err := scripted.LoadMock(filepath.Join(dir, "nope.yaml")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestTokenRequestsAnsweredFromTheScript(t *testing.T) {
	t.Parallel()
	tr := scripted.NewTransport(mustParse(t, `
auth.erp: [{status: 401, body: {error: invalid_client}}]
`))
	c := transport.HTTPClient(tr, "auth.erp", "", time.Second)
	resp, err := c.Post("http://idp.invalid/token", "application/x-www-form-urlencoded", strings.NewReader("grant_type=client_credentials"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("status = %d, want the scripted 401", resp.StatusCode)
	}
	resp, err = transport.HTTPClient(tr, "auth.other", "", time.Second).Get("http://idp.invalid/token")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("unscripted token request: status %d, want a fake token", resp.StatusCode)
	}
}

func TestASingleResponseWhereAListBelongs(t *testing.T) {
	t.Parallel()
	_, errs := parse(t, "push_order: {status: 200}\n")
	if got := errs.Error(); got != `case.yaml:1:13: error: push_order expects a list of responses: write [{...}] (or {responses: [...], on_exhausted: ...})` {
		t.Fatalf("errors: %s", got)
	}
}
