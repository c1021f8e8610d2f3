package nodes_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/clock"
	"github.com/archflow/archflow/engine/transport"
	"github.com/archflow/archflow/nodes"
)

// chaosUpstream fails in every way an ERP does, chosen per request from a seeded mix: it answers
// 503 with Retry-After seconds, 429 with an HTTP date, HTML 502s, 400s and "200 success:false",
// resets connections, answers after the timeout, and redirects (same origin: followed; another
// origin: not). It counts every request it reads.
type chaosUpstream struct {
	*httptest.Server
	seed      uint64
	requests  atomic.Int64
	faults    sync.Map // fault name → *atomic.Int64
	elsewhere *httptest.Server
	strayHops atomic.Int64 // requests that reached the other origin: must stay 0
	mu        sync.Mutex
	perID     map[string]int64 // requests seen per request id: the draw depends on nothing else
}

var chaosMix = []struct {
	name   string
	weight int
}{
	{"ok", 40}, {"503", 12}, {"429-date", 8}, {"reset", 8}, {"html-502", 8}, {"slow", 2},
	{"redirect-same", 8}, {"redirect-cross", 2}, {"400", 3}, {"business", 2},
}

func newChaosUpstream(t *testing.T, seed uint64) *chaosUpstream {
	u := &chaosUpstream{seed: seed, perID: map[string]int64{}}
	u.elsewhere = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { u.strayHops.Add(1) }))
	t.Cleanup(u.elsewhere.Close)
	u.Server = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.Close)
	return u
}

// pick draws a fault from the mix, seeded by the request: the same seed gives the same faults.
func (u *chaosUpstream) pick(r *http.Request, n int64) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s|%d", r.Header.Get("X-Request-ID"), n)
	rng := rand.New(rand.NewPCG(u.seed, h.Sum64()))
	total := 0
	for _, m := range chaosMix {
		total += m.weight
	}
	x := rng.IntN(total)
	for _, m := range chaosMix {
		if x < m.weight {
			return m.name
		}
		x -= m.weight
	}
	return "ok"
}

func (u *chaosUpstream) serve(w http.ResponseWriter, r *http.Request) {
	u.requests.Add(1)
	u.mu.Lock()
	u.perID[r.Header.Get("X-Request-ID")]++
	n := u.perID[r.Header.Get("X-Request-ID")]
	u.mu.Unlock()
	fault := u.pick(r, n)
	c, _ := u.faults.LoadOrStore(fault, &atomic.Int64{})
	c.(*atomic.Int64).Add(1)
	switch fault {
	case "ok":
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"success": true}`)
	case "503":
		w.Header().Set("Retry-After", "45")
		w.WriteHeader(503)
	case "429-date":
		w.Header().Set("Retry-After", time.Now().Add(90*time.Second).UTC().Format(http.TimeFormat))
		w.WriteHeader(429)
	case "reset":
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.(*net.TCPConn).SetLinger(0) // RST, not FIN
			conn.Close()
		}
	case "html-502":
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(502)
		fmt.Fprint(w, "<html><body><h1>502 Bad Gateway</h1></body></html>")
	case "slow": // beyond the action's 1 s timeout; ends early when the client gives up
		select {
		case <-r.Context().Done():
		case <-time.After(1500 * time.Millisecond):
		}
		w.WriteHeader(200)
	case "redirect-same":
		http.Redirect(w, r, "/orders?hop="+fmt.Sprint(n), http.StatusTemporaryRedirect)
	case "redirect-cross":
		http.Redirect(w, r, u.elsewhere.URL+"/orders", http.StatusFound)
	case "400":
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		fmt.Fprint(w, `{"error_code": "BAD_ORDER"}`)
	case "business":
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"success": false, "message": "duplicate order"}`)
	}
}

// TestChaos runs hundreds of instances of the retry flow against the chaos upstream on virtual
// clocks (backoffs and Retry-After waits take no wall time), concurrently, under -race in CI:
// every instance ends success or escalated; every escalation leaves exactly one dead letter with
// its request id and no success leaves one; the requests the upstream saw are the calls archflow
// counted, redirect hops and reset connections included.
func TestChaos(t *testing.T) {
	t.Parallel()
	const instances, concurrency = 400, 40
	up := newChaosUpstream(t, 20261129)
	dir := t.TempDir()
	dl := filepath.Join(dir, "dead-letter.jsonl")
	flow, err := nodes.Builtins().LoadFile("../testdata/chaos/chaos.yaml")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ERP_URL": up.URL, "DEAD_LETTER": dl}
	transport := transport.NewHTTPTransport() // one, as archflow run shares it
	results := make([]*engine.Result, instances)
	var wg sync.WaitGroup
	sem := make(chan struct{}, concurrency)
	start := time.Now()
	for i := range instances {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			in, err := flow.Inputs(map[string]any{"order_id": fmt.Sprintf("O-%d", i)})
			if err != nil {
				t.Error(err)
				return
			}
			results[i] = flow.Run(context.Background(), in, &engine.Options{
				Clock:     func() clock.Clock { return clock.NewVirtualClock(time.Now()) },
				Transport: transport,
				Env:       func(k string) (string, bool) { v, ok := env[k]; return v, ok },
				Seed:      uint64(i + 1),
				UUID:      func() string { return fmt.Sprintf("req-%d", i) }, // the same faults on every run
			})
		}()
	}
	wg.Wait()
	wall := time.Since(start)

	letters := map[string]int{}
	fh, err := os.Open(dl)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	lines := 0
	for sc.Scan() {
		lines++
		var n struct{ Subject string }
		if err := json.Unmarshal(sc.Bytes(), &n); err != nil {
			t.Fatalf("dead letter %d is not JSON: %v", lines, err)
		}
		letters[strings.TrimPrefix(n.Subject, "escalated ")]++
	}
	calls, outcomes := 0, map[string]int{}
	for i, r := range results {
		if r == nil {
			t.Fatalf("instance %d has no result", i)
		}
		outcomes[r.Outcome]++
		calls += r.Calls["push"]
		id, _ := r.Variables["request_id"].(string)
		switch r.Outcome {
		case "success":
			if letters[id] != 0 {
				t.Errorf("instance %d succeeded but has %d dead letters", i, letters[id])
			}
		case "escalated":
			if letters[id] != 1 {
				t.Errorf("instance %d escalated with %d dead letters for %q", i, letters[id], id)
			}
		default:
			t.Errorf("instance %d ended %s: %+v", i, r.Outcome, r.Error)
		}
	}
	faults := map[string]int64{}
	up.faults.Range(func(k, v any) bool { faults[k.(string)] = v.(*atomic.Int64).Load(); return true })
	t.Logf("%d instances in %s: %v; %d dead letters; upstream saw %d requests, archflow counted %d; faults %v",
		instances, wall.Round(time.Millisecond), outcomes, lines, up.requests.Load(), calls, faults)
	if int64(calls) != up.requests.Load() {
		t.Errorf("the upstream saw %d requests, archflow counted %d calls", up.requests.Load(), calls)
	}
	if lines != outcomes["escalated"] {
		t.Errorf("%d dead letters for %d escalations", lines, outcomes["escalated"])
	}
	if up.strayHops.Load() != 0 {
		t.Errorf("%d requests followed a redirect to another origin", up.strayHops.Load())
	}
	for _, m := range chaosMix {
		if faults[m.name] == 0 {
			t.Errorf("the mix never drew %s: the test proves less than it says", m.name)
		}
	}
}
