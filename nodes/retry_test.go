package nodes_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/clock"
	"github.com/archflow/archflow/nodes"
)

const retryDir = "../testdata/retry/"

var unavailable = reply{status: 503, body: `{"success":false,"error_code":"SERVICE_UNAVAILABLE"}`}
var ok200 = reply{status: 200, body: `{"success":true}`}

func TestBackoffWaits(t *testing.T) {
	t.Parallel()
	// initial 1s, multiplier 2, max 5s, 6 attempts all failing: waits 1, 2, 4, 5, 5
	a := newAPI(t, unavailable)
	r := runFlow(t, retryDir+"backoff.yaml", map[string]string{"API_URL": a.URL}, nil)
	if got, want := r.res.Waits, seconds(1, 2, 4, 5, 5); !slices.Equal(got, want) {
		t.Errorf("waits = %v, want %v", got, want)
	}
	if n := len(a.requests()); n != 6 {
		t.Errorf("API got %d requests, want 6 (max_attempts)", n)
	}
	if r.res.Calls["get_thing"] != 6 {
		t.Errorf("calls = %v, want get_thing: 6", r.res.Calls)
	}
	if r.res.Outcome != "failure" {
		t.Errorf("outcome = %q, want failure (on_failure after the last attempt)", r.res.Outcome)
	}
	if got := r.res.Outputs["attempts_made"]; got != 6 {
		t.Errorf("retries.call + 1 = %v, want 6", got)
	}
	if got := strings.Join(r.res.Path, ","); got != "pick,call,gave_up,failed" {
		t.Errorf("path = %s: a node with retry: appears once per entry", got)
	}
	// every wait is in the trace, with the time the retry happens on the instance clock
	ws := r.waitEvents()
	if len(ws) != 5 {
		t.Fatalf("trace has %d wait events, want 5", len(ws))
	}
	elapsed := 0.0
	for i, e := range ws {
		elapsed += *e.Seconds
		if e.Node != "call" || e.Until == nil || !e.Until.Equal(clockStart.Add(time.Duration(elapsed*float64(time.Second)))) {
			t.Errorf("wait %d: node %s until %v, want node call until start+%vs", i+1, e.Node, e.Until, elapsed)
		}
	}
	requests := 0
	for _, e := range r.events {
		if e.Event == "request" {
			requests++
			if e.Attempt != requests {
				t.Errorf("request %d carries attempt %d", requests, e.Attempt)
			}
		}
	}
	if requests != 6 {
		t.Errorf("trace has %d request events, want 6", requests)
	}
}

func TestBackoffRecovers(t *testing.T) {
	t.Parallel()
	a := newAPI(t, unavailable, unavailable, ok200)
	r := runFlow(t, retryDir+"backoff.yaml", map[string]string{"API_URL": a.URL}, nil)
	if r.res.Outcome != "success" || !slices.Equal(r.res.Waits, seconds(1, 2)) || len(a.requests()) != 3 {
		t.Errorf("outcome %s, waits %v, %d requests; want success, [1 2], 3", r.res.Outcome, r.res.Waits, len(a.requests()))
	}
	if got := r.res.Outputs["attempts_made"]; got != 3 {
		t.Errorf("retries.call + 1 = %v, want 3", got)
	}
	if got := r.res.Outputs["last_status"]; got != 200 {
		t.Errorf("last_status = %v, want 200: outputs are mapped after every attempt", got)
	}
}

func TestJitter(t *testing.T) {
	t.Parallel()
	computed := []float64{1, 2, 4, 5, 5}
	for _, kind := range []string{"full", "equal"} {
		t.Run(kind, func(t *testing.T) {
			lowFactor := 0.0
			if kind == "equal" {
				lowFactor = 0.5
			}
			differs := false
			var first []float64
			for seed := uint64(1); seed <= 20; seed++ {
				a := newAPI(t, unavailable)
				r := runFlow(t, retryDir+"backoff.yaml", map[string]string{"API_URL": a.URL}, map[string]any{"jitter": kind},
					func(o *engine.Options) { o.Seed = seed })
				if len(r.res.Waits) != 5 {
					t.Fatalf("seed %d: waits %v, want 5 of them", seed, r.res.Waits)
				}
				for i, w := range r.res.Waits {
					if w < computed[i]*lowFactor || w > computed[i] {
						t.Errorf("seed %d: wait %d = %vs, outside [%v, %v]", seed, i+1, w, computed[i]*lowFactor, computed[i])
					}
					if w != computed[i] {
						differs = true
					}
				}
				if seed == 1 {
					first = r.res.Waits
				}
			}
			if !differs {
				t.Errorf("%s jitter never changed a wait over 20 seeds", kind)
			}
			// the same seed gives the same waits: tests stay deterministic
			a := newAPI(t, unavailable)
			r := runFlow(t, retryDir+"backoff.yaml", map[string]string{"API_URL": a.URL}, map[string]any{"jitter": kind},
				func(o *engine.Options) { o.Seed = 1 })
			if !slices.Equal(r.res.Waits, first) {
				t.Errorf("seed 1 gave %v, then %v", first, r.res.Waits)
			}
		})
	}
}

func TestRetryAfterWaits(t *testing.T) {
	t.Parallel()
	at := func(d time.Duration) time.Time { return clockStart.Add(d) }
	tests := []struct {
		name, mode, value string
		want              float64
	}{
		{"seconds", "override", "7", 7},
		{"IMF-fixdate", "override", at(90 * time.Second).Format(http.TimeFormat), 90},
		{"RFC 850 date", "override", at(2 * time.Minute).Format(time.RFC850), 120},
		{"asctime date", "override", at(45 * time.Second).Format(time.ANSIC), 45},
		{"past date falls back to backoff", "override", at(-time.Hour).Format(http.TimeFormat), 30},
		{"garbage falls back to backoff", "override", "later, maybe", 30},
		{"above the default 15m cap", "override", "3600", 900},
		{"above a 2m cap", "capped", "3600", 120},
		{"override: shorter than backoff wins", "override", "7", 7},
		{"floor: backoff when longer", "floor", "7", 30},
		{"floor: Retry-After when longer", "floor", "45", 45},
		{"floor: capped", "floor", "86400", 900},
		{"ignore", "ignore", "7", 30},
		{"ignore a longer one too", "ignore", "600", 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAPI(t, reply{status: 429, header: map[string]string{"Retry-After": tt.value}}, ok200)
			r := runFlow(t, retryDir+"retry-after.yaml", map[string]string{"API_URL": a.URL}, map[string]any{"mode": tt.mode})
			if !slices.Equal(r.res.Waits, seconds(tt.want)) {
				t.Errorf("Retry-After %q, mode %s: waits %v, want [%v]", tt.value, tt.mode, r.res.Waits, tt.want)
			}
			if r.res.Outcome != "success" || len(a.requests()) != 2 {
				t.Errorf("outcome %s after %d requests, want success after 2", r.res.Outcome, len(a.requests()))
			}
		})
	}
}

func TestMaxElapsed(t *testing.T) {
	t.Parallel()
	// 30s then 60s make 90s; the next wait of 120s would pass 100s, so no third retry is made
	a := newAPI(t, unavailable)
	r := runFlow(t, retryDir+"max-elapsed.yaml", map[string]string{"API_URL": a.URL}, nil)
	if !slices.Equal(r.res.Waits, seconds(30, 60)) {
		t.Errorf("waits = %v, want [30 60]", r.res.Waits)
	}
	if n := len(a.requests()); n != 3 {
		t.Errorf("API got %d requests, want 3", n)
	}
	if r.res.Outcome != "escalated" || strings.Join(r.res.Path, ",") != "call,escalate,failed" {
		t.Errorf("outcome %s path %v, want escalated via on_failure", r.res.Outcome, r.res.Path)
	}
	if got := r.res.Outputs["retries_made"]; got != 2 {
		t.Errorf("retries.call = %v, want 2", got)
	}
	if got := r.res.Ended.Sub(r.res.Started); got != 90*time.Second {
		t.Errorf("instance took %s on its clock, want 90s", got)
	}
}

func TestRetryOn(t *testing.T) {
	t.Parallel()
	forbidden := reply{status: 403, body: `{"message":"no"}`}
	tooMany := reply{status: 429}
	tests := []struct {
		name, policy string
		replies      []reply
		requests     int
		outcome      string
		kind, class  string
	}{
		{"default retries transient statuses", "default", []reply{unavailable, unavailable, ok200}, 3, "success", "", ""},
		{"default gives up after 3 attempts", "default", []reply{unavailable}, 3, "failure", "http", "transient"},
		{"default does not retry a permanent 403", "default", []reply{forbidden, ok200}, 1, "failure", "http", "permanent"},
		{"default does not retry 200 success:false", "default", []reply{{status: 200, body: `{"success":false}`}, ok200}, 1, "success", "", ""},
		{"429 only: retries 429", "429", []reply{tooMany, tooMany, ok200}, 3, "success", "", ""},
		{"429 only: not 503", "429", []reply{unavailable, ok200}, 1, "failure", "http", "transient"},
		{"4xx wildcard retries 403", "4xx", []reply{forbidden, ok200}, 2, "success", "", ""},
		{"4xx wildcard: not 503", "4xx", []reply{unavailable, ok200}, 1, "failure", "http", "transient"},
		{"permanent class retried on request", "permanent", []reply{forbidden, forbidden, ok200}, 3, "success", "", ""},
		{"timeout kind: not an HTTP status", "timeout", []reply{unavailable, ok200}, 1, "failure", "http", "transient"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAPI(t, tt.replies...)
			r := runFlow(t, retryDir+"retry-on.yaml", map[string]string{"API_URL": a.URL}, map[string]any{"policy": tt.policy})
			if n := len(a.requests()); n != tt.requests {
				t.Errorf("API got %d requests, want %d", n, tt.requests)
			}
			if r.res.Outcome != tt.outcome {
				t.Errorf("outcome %s, want %s (path %v)", r.res.Outcome, tt.outcome, r.res.Path)
			}
			if tt.kind != "" && (r.res.Outputs["err_kind"] != tt.kind || r.res.Outputs["err_class"] != tt.class) {
				t.Errorf("error kind/class = %v/%v, want %s/%s", r.res.Outputs["err_kind"], r.res.Outputs["err_class"], tt.kind, tt.class)
			}
		})
	}
}

func TestRetryOnTimeout(t *testing.T) {
	t.Parallel()
	// every attempt times out: timeouts are transient, retried, and the last one takes on_timeout
	for _, policy := range []string{"default", "timeout"} {
		tr := &scriptedTimeout{}
		r := runFlow(t, retryDir+"retry-on.yaml", nil, map[string]any{"policy": policy},
			func(o *engine.Options) {
				o.Transport = tr
				o.Env = func(string) (string, bool) { return "http://127.0.0.1:9", true }
			})
		if tr.calls != 3 || r.res.Outcome != "timeout" || r.res.Outputs["err_kind"] != "timeout" {
			t.Errorf("%s: %d calls, outcome %s, error.kind %v; want 3 calls and on_timeout with kind timeout", policy, tr.calls, r.res.Outcome, r.res.Outputs["err_kind"])
		}
		// the instance clock moves by each timeout (2s) and each wait (1s)
		if got := r.res.Ended.Sub(r.res.Started); got != 3*2*time.Second+2*time.Second {
			t.Errorf("%s: instance took %s on its clock, want 8s", policy, got)
		}
	}
}

func TestIdempotencyKeySameOnEveryAttempt(t *testing.T) {
	t.Parallel()
	a := newAPI(t, unavailable, unavailable, ok200)
	r := runFlow(t, retryDir+"idempotency.yaml", map[string]string{"API_URL": a.URL}, nil)
	reqs := a.requests()
	if r.res.Outcome != "success" || len(reqs) != 3 {
		t.Fatalf("outcome %s after %d requests, want success after 3", r.res.Outcome, len(reqs))
	}
	key := reqs[0].IdempotencyKey
	if key == "" {
		t.Fatal("no Idempotency-Key header sent")
	}
	for i, q := range reqs {
		if q.IdempotencyKey != key {
			t.Errorf("attempt %d sent Idempotency-Key %q, attempt 1 sent %q", i+1, q.IdempotencyKey, key)
		}
	}
	// a second instance is a different call with a different key
	b := newAPI(t, ok200)
	runFlow(t, retryDir+"idempotency.yaml", map[string]string{"API_URL": b.URL}, nil,
		func(o *engine.Options) { o.UUID = func() string { return "another-id" } })
	if k := b.requests()[0].IdempotencyKey; k == key || k != "another-id" {
		t.Errorf("second instance sent key %q; want its own (another-id)", k)
	}
}

func TestRetryCompileErrors(t *testing.T) {
	t.Parallel()
	_, err := nodes.Builtins().LoadFile(retryDir + "invalid.yaml")
	if err == nil {
		t.Fatal("invalid.yaml loaded without errors")
	}
	got := err.Error()
	want := []string{
		"invalid.yaml:9:21: error: max_attempts must be between 1 and 100",
		`invalid.yaml:10:29: error: unknown retry_on entry "flaky"`,
		`invalid.yaml:10:36: error: unknown retry_on entry "5xy": expected a class (transient, permanent), a kind (http, business, timeout, network, auth) or a status like 429 or 5xx (did you mean "5xx"?)`,
		"invalid.yaml:11:42: error: backoff multiplier must be at least 1; got 0.5",
		"invalid.yaml:11:52: error: backoff max 1s is shorter than initial 2s",
		`invalid.yaml:11:64: error: unknown jitter "random" (one of none, full, equal)`,
		`invalid.yaml:12:27: error: unknown retry_after mode "sometimes" (one of override, floor, ignore)`,
		"invalid.yaml:12:43: error: retry_after max must be positive; got 0s",
		"invalid.yaml:13:20: error: max_elapsed must be positive; got -1s",
		`invalid.yaml:14:7: error: unknown key "max_attempt" (did you mean "max_attempts"?)`,
		"invalid.yaml:20:27: error: backoff schedule expects a non-empty list of durations",
		"invalid.yaml:20:40: error: backoff: schedule replaces initial, multiplier and max",
		"invalid.yaml:21:17: error: retry_on expects a list",
		"invalid.yaml:26:12: error: expected a mapping, got a list",
	}
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("errors lack %q", w)
		}
	}
	if t.Failed() {
		t.Logf("errors:\n%s", got)
	}
	if !strings.HasPrefix(got, retryDir+"invalid.yaml:") {
		t.Errorf("errors do not start with the file name:\n%s", got)
	}
}

func TestRetryDefaults(t *testing.T) {
	t.Parallel()
	a := newAPI(t, unavailable)
	r := runFlow(t, retryDir+"defaults.yaml", map[string]string{"API_URL": a.URL}, nil)
	if !slices.Equal(r.res.Waits, seconds(30, 60)) || len(a.requests()) != 3 || r.res.Outcome != "failure" {
		t.Errorf("waits %v, %d requests, outcome %s; want [30 60], 3, failure", r.res.Waits, len(a.requests()), r.res.Outcome)
	}
}

// cancellingClock is a virtual clock whose first wait is interrupted, as SIGINT would do.
type cancellingClock struct {
	*clock.VirtualClock
	cancel func()
}

func (c cancellingClock) Sleep(ctx context.Context, d time.Duration) error {
	c.cancel()
	<-ctx.Done()
	return ctx.Err()
}

func TestRetryWaitInterrupted(t *testing.T) {
	t.Parallel()
	a := newAPI(t, unavailable)
	f, err := nodes.Builtins().LoadFile(retryDir + "defaults.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res := f.Run(ctx, nil, &engine.Options{
		Clock: func() clock.Clock { return cancellingClock{clock.NewVirtualClock(clockStart), cancel} },
		Env:   func(string) (string, bool) { return a.URL, true },
	})
	if res.Outcome != engine.OutcomeInterrupted || res.StoppedAt != "call" || len(a.requests()) != 1 {
		t.Errorf("outcome %s stopped at %q after %d requests; want interrupted at call after 1", res.Outcome, res.StoppedAt, len(a.requests()))
	}
}

// A variable assigned {{ retries }} keeps the counts of that moment: the retries made later do
// not change it.
func TestRetriesAssignedKeepTheirCounts(t *testing.T) {
	t.Parallel()
	f, err := nodes.Builtins().Load("snap.yaml", []byte(`flow: snap
variables:
  before: {type: object, output: true}
  after:  {type: object, output: true}
actions:
  get: {method: GET, url: "http://127.0.0.1:1/x"}
start: first
nodes:
  first: {assign: {before: "{{ retries }}"}, next: call}
  call:
    data_action: get
    retry: {max_attempts: 3, backoff: {schedule: [1s]}}
    next: last
    on_failure: last
  last: {assign: {after: "{{ retries }}"}, next: done}
  done: {end: success}
`))
	if err != nil {
		t.Fatal(err)
	}
	a := answers{{Status: 503}}
	r := f.Run(context.Background(), nil, &engine.Options{Transport: &a, Channels: engine.Capture{},
		Clock: func() clock.Clock { return clock.NewVirtualClock(clockStart) }})
	before, _ := r.Outputs["before"].(map[string]any)
	after, _ := r.Outputs["after"].(map[string]any)
	if before["call"] != 0 || after["call"] != 2 {
		t.Errorf("retries assigned before the call %v, after it %v; want call 0, then 2", r.Outputs["before"], r.Outputs["after"])
	}
}
