package engine_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/clock"
	"github.com/archflow/archflow/engine/trace"
	"github.com/archflow/archflow/nodes"
)

// api is an httptest server that answers each request with the next scripted handler; the last
// one repeats. It records the requests it saw.
type api struct {
	srv      *httptest.Server
	mu       sync.Mutex
	handlers []http.HandlerFunc
	bodies   []map[string]any
	headers  []http.Header
	n        atomic.Int32
}

func newAPI(t *testing.T, handlers ...http.HandlerFunc) *api {
	a := &api{handlers: handlers}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(a.n.Add(1)) - 1
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		a.mu.Lock()
		a.bodies = append(a.bodies, body)
		a.headers = append(a.headers, r.Header.Clone())
		a.mu.Unlock()
		a.handlers[min(i, len(a.handlers)-1)](w, r)
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func reply(status int, headers map[string]string, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for k, v := range headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		w.Write([]byte(body))
	}
}

// dropConnection closes the TCP connection without answering.
func dropConnection(w http.ResponseWriter, r *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

// hang answers only when the client gives up.
func hang(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

const (
	ok503 = `{"success": false, "error_code": "SERVICE_UNAVAILABLE", "message": "try later"}`
	ok200 = `{"success": true}`
)

var t0 = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

type run struct {
	res   *engine.Result
	trace []trace.Event
	dead  string // dead-letter file path
}

func runFlow(t *testing.T, path, url string, inputs map[string]any) run {
	t.Helper()
	f, err := nodes.Builtins().LoadFile(path)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	in, err := f.Inputs(inputs)
	if err != nil {
		t.Fatalf("inputs: %v", err)
	}
	dead := filepath.Join(t.TempDir(), "dead-letter.jsonl")
	env := map[string]string{"ERP_URL": url, "DEAD_LETTER": dead}
	var mu sync.Mutex
	var events []trace.Event
	res := f.Run(context.Background(), in, &engine.Options{
		Clock:  func() clock.Clock { return clock.NewVirtualClock(t0) },
		Env:    func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Tracer: trace.TraceFunc(func(e *trace.Event) { mu.Lock(); events = append(events, *e); mu.Unlock() }),
	})
	return run{res: res, trace: events, dead: dead}
}

const seed = "../flows/self-healing.yaml"

func TestSelfHealingFlowAgainstRealHTTP(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		flow     string
		handlers []http.HandlerFunc
		outcome  string
		calls    int
		waits    []float64
		path     []string
		errKind  string
		errClass string
	}{
		{name: "503, 503, 200 recovers", handlers: []http.HandlerFunc{reply(503, nil, ok503), reply(503, nil, ok503), reply(200, nil, ok200)},
			outcome: "success", calls: 3, waits: []float64{30, 60},
			path: []string{"init", "call", "classify", "bump", "backoff", "call", "classify", "bump", "backoff", "call", "done"}},
		{name: "503 forever escalates after 4 calls", handlers: []http.HandlerFunc{reply(503, nil, ok503)},
			outcome: "escalated", calls: 4, waits: []float64{30, 60, 120}, errKind: "http", errClass: "transient"},
		{name: "401 is permanent", handlers: []http.HandlerFunc{reply(401, nil, `{"message":"bad token"}`)},
			outcome: "escalated", calls: 1, waits: []float64{}, path: []string{"init", "call", "classify", "escalate", "failed"}, errKind: "http", errClass: "permanent"},
		{name: "404 is permanent", handlers: []http.HandlerFunc{reply(404, nil, `{"message":"no such order"}`)},
			outcome: "escalated", calls: 1, waits: []float64{}, errKind: "http", errClass: "permanent"},
		{name: "200 with success:false is a permanent business failure", handlers: []http.HandlerFunc{reply(200, nil, `{"success": false, "error_code": "DUPLICATE", "message": "order exists"}`)},
			outcome: "escalated", calls: 1, waits: []float64{}, errKind: "business", errClass: "permanent"},
		{name: "429 honours Retry-After 7", handlers: []http.HandlerFunc{reply(429, map[string]string{"Retry-After": "7"}, ""), reply(200, nil, ok200)},
			outcome: "success", calls: 2, waits: []float64{7}},
		{name: "a dropped connection is transient", handlers: []http.HandlerFunc{dropConnection, reply(200, nil, ok200)},
			outcome: "success", calls: 2, waits: []float64{30}},
		{name: "502 with an HTML body is transient", handlers: []http.HandlerFunc{reply(502, map[string]string{"Content-Type": "text/html"}, "<html><body>Bad Gateway</body></html>"), reply(200, nil, ok200)},
			outcome: "success", calls: 2, waits: []float64{30}},
		{name: "a response slower than the timeout takes on_timeout", flow: "../testdata/e2e/fast-timeout.yaml", handlers: []http.HandlerFunc{hang, reply(200, nil, ok200)},
			outcome: "success", calls: 2, waits: []float64{30}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := newAPI(t, tc.handlers...)
			flow := seed
			if tc.flow != "" {
				flow = tc.flow
			}
			r := runFlow(t, flow, a.srv.URL, map[string]any{"order_id": "A-1001", "amount": 42})
			res := r.res
			if res.Outcome != tc.outcome {
				t.Fatalf("outcome = %s, want %s (error %+v, path %v)", res.Outcome, tc.outcome, res.Error, res.Path)
			}
			if got := res.Calls["push_order"]; got != tc.calls || int(a.n.Load()) != tc.calls {
				t.Errorf("calls = %d (server saw %d), want %d", got, a.n.Load(), tc.calls)
			}
			if !reflect.DeepEqual(res.Waits, tc.waits) {
				t.Errorf("waits = %v, want %v", res.Waits, tc.waits)
			}
			if tc.path != nil && !reflect.DeepEqual(res.Path, tc.path) {
				t.Errorf("path = %v\nwant   %v", res.Path, tc.path)
			}
			// every attempt carries the same request id and idempotency key, and the typed body
			for i, h := range a.headers {
				if h.Get("Idempotency-Key") == "" || h.Get("Idempotency-Key") != a.headers[0].Get("Idempotency-Key") || h.Get("X-Request-Id") != h.Get("Idempotency-Key") {
					t.Errorf("request %d: Idempotency-Key %q, X-Request-ID %q", i, h.Get("Idempotency-Key"), h.Get("X-Request-Id"))
				}
				if b := a.bodies[i]; b == nil || b["id"] != "A-1001" || b["amount"] != 42.0 {
					t.Errorf("request %d body = %v, want id A-1001 and the number 42", i, b)
				}
			}
			if tc.errKind != "" {
				var last *trace.Event
				for i := range r.trace {
					if r.trace[i].Event == "response" {
						last = &r.trace[i]
					}
				}
				if last == nil || last.Error == nil || last.Error.Kind != tc.errKind || last.Error.Class != tc.errClass {
					t.Errorf("last response error = %+v, want kind %s class %s", last.Error, tc.errKind, tc.errClass)
				}
			}
			if tc.outcome == "escalated" {
				checkDeadLetter(t, r)
			} else if _, err := os.Stat(r.dead); err == nil {
				t.Errorf("a dead letter was written for outcome %s", res.Outcome)
			}
		})
	}
}

func checkDeadLetter(t *testing.T, r run) {
	t.Helper()
	data, err := os.ReadFile(r.dead)
	if err != nil {
		t.Fatalf("no dead letter: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 1 {
		t.Fatalf("dead letter has %d lines, want 1:\n%s", len(lines), data)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatalf("dead letter line is not JSON: %v", err)
	}
	reqID, _ := r.res.Variables["request_id"].(string)
	if reqID == "" {
		t.Fatal("request_id not set")
	}
	subject, _ := rec["subject"].(string)
	if subject != "CRITICAL: Data Action Retry Exhausted for "+reqID {
		t.Errorf("dead letter subject = %q, want the request id %s", subject, reqID)
	}
	if rec["instance"] != r.res.Instance || rec["flow"] != "self-healing" {
		t.Errorf("dead letter instance/flow = %v/%v", rec["instance"], rec["flow"])
	}
}

func TestTimeoutIsRoutedThroughOnTimeout(t *testing.T) {
	t.Parallel()
	a := newAPI(t, hang, reply(200, nil, ok200))
	r := runFlow(t, "../testdata/e2e/fast-timeout.yaml", a.srv.URL, map[string]any{"order_id": "T-1"})
	if len(r.res.Edges) < 2 || r.res.Edges[1].Label != "on_timeout" {
		t.Fatalf("second edge = %v, want on_timeout", r.res.Edges)
	}
	for _, e := range r.trace {
		if e.Event == "response" && e.Error != nil {
			if e.Error.Kind != "timeout" || e.Error.Class != "transient" {
				t.Errorf("timeout classified as %+v", e.Error)
			}
			return
		}
	}
	t.Error("no failed response in the trace")
}

func TestVirtualClockMakesBackoffFree(t *testing.T) {
	t.Parallel()
	a := newAPI(t, reply(503, nil, ok503))
	start := time.Now()
	r := runFlow(t, seed, a.srv.URL, map[string]any{"order_id": "V-1"})
	wall := time.Since(start)
	if got := r.res.Ended.Sub(r.res.Started); got != 210*time.Second {
		t.Errorf("virtual duration = %s, want 3m30s", got)
	}
	if wall > time.Second {
		t.Errorf("210 virtual seconds took %s of wall time", wall)
	}
	t.Logf("210 virtual seconds in %s wall", wall)
}

func TestRuntimeErrorsGoToOnErrorOnce(t *testing.T) {
	t.Parallel()
	r := runFlow(t, "../testdata/e2e/runtime-errors.yaml", "", nil)
	res := r.res
	if res.Outcome != "error" {
		t.Fatalf("outcome = %s, want error", res.Outcome)
	}
	if !reflect.DeepEqual(res.Path, []string{"bad", "recover", "worse"}) {
		t.Errorf("path = %v", res.Path)
	}
	if res.Outputs["handled"] != true {
		t.Errorf("on_error node did not run: outputs %v", res.Outputs)
	}
	note, _ := res.Outputs["note"].(string)
	if !strings.HasPrefix(note, "runtime: ") || !strings.Contains(note, "limit is NOT_SET") {
		t.Errorf("error in scope = %q, want a runtime error naming limit", note)
	}
	if res.Error == nil || res.Error.Node != "worse" || !strings.Contains(res.Error.Message, "limit") {
		t.Errorf("result error = %+v, want the second error, at worse", res.Error)
	}
	if res.Variables["limit"] != nil {
		t.Errorf("limit = %v, want NOT_SET (nil)", res.Variables["limit"])
	}
}

func TestMaxStepsGuard(t *testing.T) {
	t.Parallel()
	f, err := nodes.Builtins().LoadFile("../testdata/e2e/spin.yaml")
	if err != nil {
		t.Fatal(err)
	}
	res := f.Run(context.Background(), nil, &engine.Options{Clock: func() clock.Clock { return clock.NewVirtualClock(t0) }, MaxSteps: 50})
	if res.Outcome != "error" || len(res.Path) != 50 || res.Error == nil || !strings.Contains(res.Error.Message, "more than 50") {
		t.Fatalf("outcome %s after %d steps, error %+v", res.Outcome, len(res.Path), res.Error)
	}
	res = f.Run(context.Background(), nil, &engine.Options{Clock: func() clock.Clock { return clock.NewVirtualClock(t0) }})
	if len(res.Path) != engine.DefaultMaxSteps {
		t.Errorf("default guard stopped after %d steps, want %d", len(res.Path), engine.DefaultMaxSteps)
	}
}

func TestCancellationInterruptsAWait(t *testing.T) {
	t.Parallel()
	f, err := nodes.Builtins().LoadFile("../testdata/e2e/long-wait.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	// the real clock: the wait of one hour is cut short by the cancellation, as Ctrl-C does
	res := f.Run(ctx, nil, &engine.Options{Tracer: trace.TraceFunc(func(e *trace.Event) {
		if e.Event == "wait" {
			cancel()
		}
	})})
	if res.Outcome != "interrupted" || res.StoppedAt != "pause" || res.Outputs["stage"] != "waiting" {
		t.Fatalf("outcome %s at %s, stage %v", res.Outcome, res.StoppedAt, res.Outputs["stage"])
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("cancellation took %s", time.Since(start))
	}
}

func TestInstancesDoNotShareState(t *testing.T) {
	t.Parallel()
	a := newAPI(t, reply(503, nil, ok503), reply(200, nil, ok200))
	f, err := nodes.Builtins().LoadFile(seed)
	if err != nil {
		t.Fatal(err)
	}
	env := func(k string) (string, bool) {
		if k == "ERP_URL" {
			return a.srv.URL, true
		}
		return "", false
	}
	var wg sync.WaitGroup
	results := make([]*engine.Result, 20)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in, _ := f.Inputs(map[string]any{"order_id": "P-" + string(rune('a'+i))})
			results[i] = f.Run(context.Background(), in, &engine.Options{Env: env, Clock: func() clock.Clock { return clock.NewVirtualClock(t0) }})
		}()
	}
	wg.Wait()
	ids := map[string]bool{}
	for i, r := range results {
		if r.Outcome != "success" {
			t.Errorf("instance %d: %s", i, r.Outcome)
		}
		if r.Variables["order_id"] != "P-"+string(rune('a'+i)) {
			t.Errorf("instance %d saw order_id %v", i, r.Variables["order_id"])
		}
		id := r.Variables["request_id"].(string)
		if ids[id] {
			t.Errorf("request id %s shared", id)
		}
		ids[id] = true
	}
}

func TestTraceIsJSONLinesWithRequiredFields(t *testing.T) {
	t.Parallel()
	a := newAPI(t, reply(503, nil, ok503), reply(200, nil, ok200))
	f, err := nodes.Builtins().LoadFile(seed)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tr := trace.NewJSONLTracer(&buf)
	in, _ := f.Inputs(map[string]any{"order_id": "J-1"})
	f.Run(context.Background(), in, &engine.Options{Tracer: tr, Clock: func() clock.Clock { return clock.NewVirtualClock(t0) },
		Env: func(k string) (string, bool) { return a.srv.URL, k == "ERP_URL" }})
	tr.Flush()
	sc := bufio.NewScanner(&buf)
	seen := map[string]bool{}
	seq := 0
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("not JSON: %s", sc.Text())
		}
		seq++
		if ev["seq"] != float64(seq) || ev["instance"] == "" || ev["time"] == nil || ev["event"] == nil {
			t.Errorf("event lacks seq/instance/time/event: %s", sc.Text())
		}
		seen[ev["event"].(string)] = true
		if ev["event"] == "wait" && ev["seconds"] != 30.0 {
			t.Errorf("wait event seconds = %v", ev["seconds"])
		}
	}
	for _, want := range []string{"start", "enter", "assign", "request", "response", "decision", "wait", "end"} {
		if !seen[want] {
			t.Errorf("no %s event", want)
		}
	}
}
