package cassette_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/cassette"
	"github.com/archflow/archflow/engine/clock"
	"github.com/archflow/archflow/engine/scripted"
	"github.com/archflow/archflow/engine/trace"
	"github.com/archflow/archflow/engine/transport"
	"github.com/archflow/archflow/engine/yamldoc"
	"github.com/archflow/archflow/nodes"
)

const flowText = `flow: c
variables:
  id:  {type: string, input: true, required: true}
  key: {type: string}
  code: {type: integer, output: true}
actions:
  push:
    method: POST
    url: "{{ env('API', 'http://127.0.0.1:1') }}/x?k={{ secret('TOKEN') }}"
    body: {id: "{{ id }}", key: "{{ key }}"}
    outputs: {code: status}
channels:
  hook: {type: webhook, url: "http://127.0.0.1:1/hook"}
start: a
nodes:
  a: {assign: {key: "{{ uuid() }}"}, next: call}
  call: {data_action: push, retry: {max_attempts: 3, backoff: {initial: 10s}}, next: ok, on_failure: tell}
  tell: {notify: {channel: hook, payload: {id: "{{ id }}"}}, next: bad, on_failure: worse}
  ok: {end: success}
  bad: {end: escalated}
  worse: {end: lost}
`

func load(t *testing.T, text string) *engine.Flow {
	t.Helper()
	f, err := nodes.Builtins().Load("c.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func mock(t *testing.T, script string) *scripted.Mock {
	t.Helper()
	p := filepath.Join(t.TempDir(), "mock.yaml")
	os.WriteFile(p, []byte(script), 0o600)
	m, err := scripted.LoadMock(p)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// record runs flow once on a virtual clock with a scripted transport and records it.
func record(t *testing.T, flow *engine.Flow, script string, env map[string]string) (*engine.Result, *cassette.Cassette) {
	t.Helper()
	m := mock(t, script)
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rec := cassette.NewRecorder(m.Transport())
	opts := rec.Options(&engine.Options{Clock: func() clock.Clock { return clock.NewVirtualClock(start) },
		Env: engine.EnvChain(env), Channels: engine.Capture{}})
	in, err := flow.Inputs(map[string]any{"id": "A-1"})
	if err != nil {
		t.Fatal(err)
	}
	res := flow.Run(context.Background(), in, opts)
	return res, rec.Cassette(res)
}

// A recording written and read back holds every exchange in order, network errors with their
// kind, instance-clock times, uuids and deliveries, redacted; the file is 0600.
func TestRecordWriteRead(t *testing.T) {
	t.Parallel()
	flow := load(t, flowText)
	res, c := record(t, flow, `push: [{error: timeout}, {error: connection_reset}, {status: 503, headers: {Retry-After: "3"}}]`,
		map[string]string{"TOKEN": "s3cr&t"})
	if res.Outcome != "escalated" {
		t.Fatalf("outcome %s", res.Outcome)
	}
	p := filepath.Join(t.TempDir(), "x"+cassette.Suffix)
	if err := c.WriteFile(p); err != nil {
		t.Fatal(err)
	}
	info, _ := os.Stat(p)
	if info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", info.Mode().Perm())
	}
	data, _ := os.ReadFile(p)
	if strings.Contains(string(data), "s3cr") || !strings.Contains(string(data), "k=[REDACTED]") {
		t.Errorf("secret not redacted:\n%s", data)
	}
	got, errs := cassette.ReadFile(p)
	if got == nil {
		t.Fatal(errs)
	}
	var kinds []string
	for _, it := range got.Interactions {
		kinds = append(kinds, it.Action+":"+it.Error+it.Result)
	}
	if strings.Join(kinds, " ") != "push:timeout push:connection_reset push: notify.hook:delivered" {
		t.Errorf("interactions %v", kinds)
	}
	// the timeout moved the clock by the action's 10s, the waits by 10s each
	at := got.Interactions[1].At.Sub(got.Started)
	if at != 20*time.Second {
		t.Errorf("second attempt at +%s, want +20s", at)
	}
	if len(got.UUIDs) != 1 || got.UUIDs[0] == got.Instance || got.Instance != res.Instance {
		t.Errorf("uuids %v instance %s", got.UUIDs, got.Instance)
	}
	if got.Result.Outcome != "escalated" || len(got.Result.Waits) != 2 {
		t.Errorf("result %+v", got.Result)
	}
}

// Replaying answers from the recording: mismatches, extra requests and unused interactions are
// named with their interaction; token requests are faked when absent and never extra or unused;
// deliveries are answered from the recorded result and never sent.
func TestPlayerProblems(t *testing.T) {
	t.Parallel()
	flow := load(t, flowText)
	_, c := record(t, flow, `push: [{status: 503}, {status: 503}, {status: 503}]`, map[string]string{"TOKEN": "tok"})
	c.Interactions[len(c.Interactions)-1].Result = cassette.Failed // the recorded delivery failed
	c.Interactions[len(c.Interactions)-1].Message = "hook down"
	for i, it := range c.Interactions {
		it.Index, it.Pos = i+1, yamldoc.Pos{File: "x.cassette.yaml", Line: 10 * (i + 1), Col: 5}
	}
	run := func(c *cassette.Cassette, m cassette.Match, inputs map[string]any) (*engine.Result, *cassette.Player) {
		p := cassette.NewPlayer(c, m)
		in, err := flow.Inputs(inputs)
		if err != nil {
			t.Fatal(err)
		}
		res := flow.Run(context.Background(), in, p.Options(flow, &engine.Options{
			Clock: func() clock.Clock { return clock.NewVirtualClock(c.Started) }, Env: func(string) (string, bool) { return "", false }}))
		return res, p
	}
	res, p := run(c, cassette.Match{Body: true}, map[string]any{"id": "A-1"})
	if len(p.Problems()) != 0 || len(p.Unused()) != 0 {
		t.Errorf("unedited: problems %v unused %v", p.Problems(), p.Unused())
	}
	if res.Outcome != "lost" || len(res.Notifications) != 1 || res.Instance != c.Instance {
		t.Errorf("the recorded failed delivery: outcome %s, %d notifications, instance %s", res.Outcome, len(res.Notifications), res.Instance)
	}
	// another body: named with the interaction, expected and got
	_, p = run(c, cassette.Match{Body: true}, map[string]any{"id": "B-2"})
	probs := p.Problems()
	if len(probs) != 3 || !strings.Contains(probs[0].String(), `x.cassette.yaml:10: interaction 1 (push from node call): expected body {"id":"A-1"`) ||
		!strings.Contains(probs[0].Msg, `got {"id":"B-2"`) {
		t.Errorf("body mismatch: %v", probs)
	}
	_, p = run(c, cassette.Match{}, map[string]any{"id": "B-2"})
	if len(p.Problems()) != 0 {
		t.Errorf("without match body: %v", p.Problems())
	}
	// one interaction fewer: the third attempt is extra; one more: unused
	short := *c
	short.Interactions = append([]*cassette.Interaction{}, c.Interactions[:1]...)
	short.Interactions = append(short.Interactions, c.Interactions[2:]...)
	res, p = run(&short, cassette.Match{}, map[string]any{"id": "A-1"})
	if probs := p.Problems(); len(probs) != 1 || !strings.Contains(probs[0].Msg, "extra request: POST") || res.Outcome != engine.OutcomeError {
		t.Errorf("extra: %v, outcome %s", probs, res.Outcome)
	}
	long := *c
	extra := *c.Interactions[0]
	extra.Index = 9
	long.Interactions = append(append([]*cassette.Interaction{}, c.Interactions[:3]...), &extra, c.Interactions[3])
	_, p = run(&long, cassette.Match{}, map[string]any{"id": "A-1"})
	if u := p.Unused(); len(u) != 1 || !strings.Contains(u[0].Msg, "interaction 9 (push from node call) was never used") {
		t.Errorf("unused: %v", u)
	}
}

// A token request the cassette lacks is answered with a fake token; one it holds is answered
// from it; neither is extra or unused.
func TestPlayerTokens(t *testing.T) {
	t.Parallel()
	p := cassette.NewPlayer(&cassette.Cassette{Interactions: []*cassette.Interaction{
		{Action: "auth.a", Index: 1, Request: &cassette.Request{Method: "POST", URL: "/token"},
			Response: &cassette.Response{Status: 200, Body: `{"access_token":"[REDACTED]","expires_in":60}`}},
	}}, cassette.Match{})
	for _, want := range []string{"[REDACTED]", "replay-token-a", "replay-token-b"} {
		action := "auth.a"
		if strings.HasSuffix(want, "-b") {
			action = "auth.b"
		}
		resp, err := p.Do(context.Background(), &transport.Request{Action: action, Method: "POST", URL: "http://x/token"})
		if err != nil || !strings.Contains(string(resp.Body), want) {
			t.Errorf("%s: %v %s", action, err, resp.Body)
		}
	}
	if len(p.Problems())+len(p.Unused()) != 0 {
		t.Errorf("tokens counted: %v %v", p.Problems(), p.Unused())
	}
}

// Recorded network errors come back as the transport errors they were.
func TestPlayerErrors(t *testing.T) {
	t.Parallel()
	p := cassette.NewPlayer(&cassette.Cassette{Interactions: []*cassette.Interaction{
		{Action: "a", Index: 1, Request: &cassette.Request{Method: "GET", URL: "/"}, Error: cassette.ErrTimeout},
		{Action: "a", Index: 2, Request: &cassette.Request{Method: "GET", URL: "/"}, Error: cassette.ErrConnectionReset},
		{Action: "a", Index: 3, Request: &cassette.Request{Method: "GET", URL: "/"}, Error: cassette.ErrDNS},
	}}, cassette.Match{})
	for _, want := range []struct {
		kind      string
		transient bool
	}{{"timeout", true}, {"network", true}, {"dns", false}} {
		_, err := p.Do(context.Background(), &transport.Request{Action: "a", Method: "GET", URL: "http://h/", Timeout: 5 * time.Second})
		var te *transport.TransportError
		if !errors.As(err, &te) || te.Kind != want.kind || te.Transient != want.transient {
			t.Errorf("got %v, want %s", err, want.kind)
		}
	}
}

// A cassette with mistakes is rejected with every mistake at its file:line:col.
func TestParseErrors(t *testing.T) {
	t.Parallel()
	src := `version: 2
flow: c
interactions:
  - action: push
    at: yesterday
    request: {method: GET, url: /x, bogus: 1}
    error: timout
  - action: notify.hook
  - action: push
    request: {method: GET, url: /x}
    response: {status: 99, elapsed: soon}
`
	_, errs := cassette.Parse("bad.cassette.yaml", []byte(src))
	got := errs.Error()
	for _, want := range []string{
		"bad.cassette.yaml:1:10: error: unsupported cassette version 2",
		`bad.cassette.yaml:5:9: error: expected an RFC 3339 time`,
		`bad.cassette.yaml:6:37: error: unknown key "bogus"`,
		`bad.cassette.yaml:7:12: error: unknown error "timout" (did you mean "timeout"?)`,
		"bad.cassette.yaml:8:5: error: a notify.<channel> interaction needs a result:",
		"bad.cassette.yaml:11:24: error: 99 is not an HTTP status",
		"bad.cassette.yaml:11:37: error: elapsed: expected seconds",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	// an alias bomb is refused at once with its position
	var bomb strings.Builder
	bomb.WriteString("version: 1\nflow: c\na: &a [x, x, x, x, x, x, x, x, x, x]\n")
	prev := "a"
	for i := range 8 {
		name := string(rune('b' + i))
		bomb.WriteString(name + ": &" + name + " [*" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n")
		prev = name
	}
	bomb.WriteString("interactions: []\n")
	start := time.Now()
	_, errs = cassette.Parse("bomb.cassette.yaml", []byte(bomb.String()))
	if len(errs) == 0 || !strings.HasPrefix(errs[0].Error(), "bomb.cassette.yaml:") || time.Since(start) > 10*time.Second { // milliseconds in practice; a bomb expanded would take minutes
		t.Errorf("alias bomb: %v in %s", errs, time.Since(start))
	}
}

// A trace with a malformed line is an error at its line and column; a good trace gives the
// same cassette content as the recorder (exchanges, uuids, deliveries, result).
func TestFromTrace(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte(`{"seq":1,"instance":"i","event":"start"}`+"\n"+`{"seq":2,"instance":"i",`+"\n"), 0o600)
	if _, errs := cassette.FromTrace(bad); len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), bad+":2:") {
		t.Errorf("bad trace: %v", errs)
	}
	flow := load(t, flowText)
	m := mock(t, `push: [{status: 503}, {error: connection_reset}, {status: 200}]`)
	p := filepath.Join(dir, "t.jsonl")
	f, _ := os.Create(p)
	jl := trace.NewJSONLTracer(f)
	rec := cassette.NewRecorder(m.Transport())
	opts := cassette.Tracing(rec.Options(&engine.Options{Clock: func() clock.Clock { return clock.NewVirtualClock(time.Unix(0, 0).UTC()) },
		Env: engine.EnvChain(map[string]string{"TOKEN": "t0k"}), Channels: engine.Capture{}, Tracer: jl}))
	in, _ := flow.Inputs(map[string]any{"id": "A-1"})
	res := flow.Run(context.Background(), in, opts)
	jl.Flush()
	f.Close()
	want := rec.Cassette(res)
	got, errs := cassette.FromTrace(p)
	if len(errs) > 0 || len(got) != 1 {
		t.Fatalf("%v %d", errs, len(got))
	}
	g := got[0]
	if g.Instance != want.Instance || strings.Join(g.UUIDs, ",") != strings.Join(want.UUIDs, ",") || len(g.Interactions) != len(want.Interactions) {
		t.Fatalf("trace %+v\nrecorder %+v", g, want)
	}
	for i := range g.Interactions {
		a, b := g.Interactions[i], want.Interactions[i]
		if a.Action != b.Action || a.Error != b.Error || !a.At.Equal(b.At) || (a.Response == nil) != (b.Response == nil) ||
			a.Request.URL != b.Request.URL || !cassette.SameBody(a.Request.Body, b.Request.Body) {
			t.Errorf("interaction %d: trace %+v, recorder %+v", i+1, a, b)
		}
	}
	if strings.Join(g.Result.Path, " ") != strings.Join(want.Result.Path, " ") || g.Result.Outcome != want.Result.Outcome || g.Result.Outputs["code"] != float64(200) {
		t.Errorf("result: trace %+v, recorder %+v", g.Result, want.Result)
	}
}
