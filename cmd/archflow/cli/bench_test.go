package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/archflow/archflow/nodes"
)

// Batch throughput (issue 9): `archflow run --inputs 20k.jsonl --concurrency 64 --output json` on a
// one-action flow against a plain net/http client loop sending as many requests, both on the
// same loopback upstream. Each iteration runs the plain loop and archflow one after the other,
// taking turns to go first, so that a noisy machine slows both alike; it reports the throughput
// ratio (the median of the iterations' ratios, and the ratio of the totals), and the ratio of
// process CPU per request (the upstream's share included in both). Run it with
//
//	go test ./cmd/archflow/cli -run '^$' -bench BatchThroughput -benchtime 10x -count 3
const (
	benchRequests    = 20000
	benchConcurrency = 64
)

// benchUpstream is the upstream of the throughput benchmark: this test binary run as
// archflow-bench-upstream (TestMain), in a process of its own, so that its collector runs the
// same whatever client is measured (archflow tunes GOGC while a batch runs; in one process the
// upstream would get that tuning too, and only in archflow's runs).
type benchUpstream struct {
	URL  string
	ctl  io.WriteCloser
	resp *bufio.Scanner
}

// startBenchUpstream starts the upstream process; it ends with the benchmark.
func startBenchUpstream(b *testing.B) *benchUpstream {
	cmd := exec.Command("archflow-bench-upstream")
	cmd.Stderr = os.Stderr
	ctl, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	u := &benchUpstream{ctl: ctl, resp: bufio.NewScanner(out)}
	b.Cleanup(func() {
		ctl.Close() // the upstream ends when its control input does
		cmd.Wait()
	})
	if !u.resp.Scan() {
		b.Fatalf("the upstream did not start: %v", u.resp.Err())
	}
	u.URL = u.resp.Text()
	return u
}

// closeConns closes the connections the upstream holds and returns how many it has accepted
// and the CPU time it has used, in all.
func (u *benchUpstream) closeConns(b *testing.B) (int64, time.Duration) {
	if _, err := io.WriteString(u.ctl, "close\n"); err != nil {
		b.Fatal(err)
	}
	if !u.resp.Scan() {
		b.Fatalf("the upstream did not answer: %v", u.resp.Err())
	}
	var n int64
	var cpu time.Duration
	if _, err := fmt.Sscan(u.resp.Text(), &n, &cpu); err != nil {
		b.Fatalf("the upstream answered %q: %v", u.resp.Text(), err)
	}
	return n, cpu
}

// benchUpstreamMain serves the benchmark: every POST gets a small JSON body. It prints its URL,
// then for each line on its input closes its client connections and prints how many it has
// accepted and its CPU time in nanoseconds.
func benchUpstreamMain() {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"success":true,"id":"x"}`))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	fmt.Println(srv.URL)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		srv.CloseClientConnections()
		fmt.Println(conns.Load(), int64(processCPU()))
	}
}

// plainClient is the baseline: what a hand-written Go client does for the same batch.
func plainClient(b *testing.B, url string, n, workers int) {
	tr := &http.Transport{MaxIdleConns: workers, MaxIdleConnsPerHost: workers, IdleConnTimeout: 90 * time.Second}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				body := fmt.Sprintf(`{"id":"B-%d"}`, i)
				req, _ := http.NewRequest(http.MethodPost, url+"/orders", bytes.NewReader([]byte(body)))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Idempotency-Key", fmt.Sprintf("B-%d", i))
				resp, err := c.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				var v map[string]any
				if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || v["success"] != true {
					b.Errorf("answer %v %v", v, err)
				}
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
}

func BenchmarkBatchThroughput(b *testing.B) {
	srv := startBenchUpstream(b)
	dir := b.TempDir()
	inputs := filepath.Join(dir, "inputs.jsonl")
	var buf bytes.Buffer
	for i := range benchRequests {
		fmt.Fprintf(&buf, "{\"order_id\": \"B-%d\"}\n", i)
	}
	if err := os.WriteFile(inputs, buf.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	envFile := filepath.Join(dir, "bench.env")
	if err := os.WriteFile(envFile, []byte("BENCH_URL="+srv.URL+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	args := []string{"run", "testdata/bench/one-action.yaml", "--inputs", inputs, "--concurrency", fmt.Sprint(benchConcurrency),
		"--output", "json", "--env-file", envFile}
	reg := nodes.Builtins()
	var plain, arch, plainCPU, archCPU time.Duration
	var archConns int64
	var pairRatios []float64 // one per iteration: the plain run's time over archflow's, run just before or after it
	// each run starts with a clean heap (the garbage of the run before is not collected on the
	// next one's time) and no connections open
	// measure runs fn and returns its wall time, the CPU time it took (its client's and the
	// upstream's) and the connections the upstream accepted meanwhile
	measure := func(fn func()) (time.Duration, time.Duration, int64) {
		conns0, up0 := srv.closeConns(b)
		runtime.GC()
		t0, c0 := time.Now(), processCPU()
		fn()
		d, c := time.Since(t0), processCPU()-c0
		conns1, up1 := srv.closeConns(b)
		return d, c + up1 - up0, conns1 - conns0
	}
	// each side runs under a profiler label, which the goroutines it starts (net/http's
	// connection loops) inherit: with -cpuprofile, `go tool pprof -tags` splits the client CPU
	// between the two, and -tagfocus side=arch shows archflow's alone
	runPlain := func() time.Duration {
		d, c, _ := measure(func() {
			pprof.Do(context.Background(), pprof.Labels("side", "plain"), func(context.Context) { plainClient(b, srv.URL, benchRequests, benchConcurrency) })
		})
		plain += d
		plainCPU += c
		return d
	}
	runArch := func() time.Duration {
		var stderr bytes.Buffer
		d, c, conns := measure(func() {
			pprof.Do(context.Background(), pprof.Labels("side", "arch"), func(context.Context) {
				if code := execute(reg, args, io.Discard, &stderr); code != 0 {
					b.Fatalf("archflow run exited %d: %s", code, stderr.String())
				}
			})
		})
		arch += d
		archCPU += c
		archConns += conns
		return d
	}
	b.ResetTimer()
	for i := range b.N {
		// the two runs of a pair take turns to go first, so that neither always inherits what
		// the other left (sockets closing, a machine slowing down or speeding up)
		var p, a time.Duration
		if i%2 == 0 {
			p = runPlain()
			a = runArch()
		} else {
			a = runArch()
			p = runPlain()
		}
		pairRatios = append(pairRatios, p.Seconds()/a.Seconds())
	}
	plainRate := float64(b.N*benchRequests) / plain.Seconds()
	archRate := float64(b.N*benchRequests) / arch.Seconds()
	b.ReportMetric(plainRate, "plain-req/s")
	b.ReportMetric(archRate, "archflow-req/s")
	// the median of the iterations' ratios: a burst of another tenant's work slows one run of a
	// pair, and moves the total's ratio, not the median's
	slices.Sort(pairRatios)
	b.ReportMetric(pairRatios[len(pairRatios)/2]/2+pairRatios[(len(pairRatios)-1)/2]/2, "ratio")
	b.ReportMetric(archRate/plainRate, "total-ratio")
	b.ReportMetric(float64(archConns)/float64(b.N), "archflow-conns/run")
	// CPU per request, the upstream's share included in both: what a busy machine does not inflate
	n := float64(b.N * benchRequests)
	b.ReportMetric(float64(plainCPU.Microseconds())/n, "plain-cpu-µs/req")
	b.ReportMetric(float64(archCPU.Microseconds())/n, "archflow-cpu-µs/req")
	b.ReportMetric(float64(plainCPU)/float64(archCPU), "cpu-ratio")
}

// processCPU is the CPU time of the whole process (user and system).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
