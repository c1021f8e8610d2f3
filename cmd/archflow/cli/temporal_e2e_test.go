package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/archflow/archflow/engine/temporal"
)

// temporalCLI finds the Temporal CLI on PATH or in GOPATH/bin ("" when absent).
func temporalCLI() string {
	if p, err := exec.LookPath("temporal"); err == nil {
		return p
	}
	gopath, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil {
		return ""
	}
	p := filepath.Join(strings.TrimSpace(string(gopath)), "bin", "temporal")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return ""
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startDevServer starts `temporal server start-dev` on free loopback ports and stops it at the end.
func startDevServer(t *testing.T) (addr string, c client.Client) {
	t.Helper()
	cli := temporalCLI()
	if cli == "" {
		t.Skip("the Temporal CLI is not on PATH or in GOPATH/bin: go install github.com/temporalio/cli/cmd/temporal@v1.5.1 (.ci/run does)")
	}
	port := freePort(t)
	addr = fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(cli, "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", strconv.Itoa(port),
		"--http-port", strconv.Itoa(freePort(t)), "--metrics-port", strconv.Itoa(freePort(t)), "--log-level", "error")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	deadline := time.Now().Add(90 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var err error
		c, err = temporal.Dial(ctx, addr, "default")
		cancel()
		if err == nil {
			t.Cleanup(c.Close)
			return addr, c
		}
		if time.Now().After(deadline) {
			t.Fatalf("dev server at %s not ready: %v\n%s", addr, err, logs.String())
		}
		waitTick()
	}
}

// waitTick paces polling of another process (a server, a worker): there is no event to wait on.
func waitTick() { <-time.After(100 * time.Millisecond) }

func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		waitTick()
	}
}

// upstreamERP is the upstream: an OAuth token endpoint and an orders endpoint that answers each order's
// first call 503 with a Retry-After of 2 to 5 s and its second 200, counting every call.
type upstreamERP struct {
	secret, token string
	mu            sync.Mutex
	calls         map[string]int
	workers       map[string]int
	tokens        int
	badAuth       int
	// barrier holds first calls until that many have arrived, then answers them all at once, so
	// that every instance enters its wait together.
	barrier, firsts int
	release         chan struct{}
	// hang holds the first call of every order whose id starts with H- until the test ends.
	hang chan struct{}
}

func newUpstreamERP(t *testing.T) (*upstreamERP, *httptest.Server) {
	e := &upstreamERP{secret: "s3cr3t-client-" + strconv.Itoa(os.Getpid()), token: "tok-" + strconv.FormatInt(time.Now().UnixNano(), 36),
		calls: map[string]int{}, workers: map[string]int{}, release: make(chan struct{}), hang: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		if r.URL.Path == "/token" {
			defer e.mu.Unlock()
			r.ParseForm()
			user, pass, _ := r.BasicAuth()
			if user != "archflow" || pass != e.secret {
				w.WriteHeader(401)
				return
			}
			e.tokens++
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"access_token": %q, "token_type": "bearer", "expires_in": 3600}`, e.token)
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+e.token {
			e.badAuth++
			e.mu.Unlock()
			w.WriteHeader(401)
			return
		}
		id := strings.TrimPrefix(r.URL.Path, "/orders/")
		e.calls[id]++
		e.workers[r.Header.Get("X-Worker")]++
		first := e.calls[id] == 1
		var hold chan struct{}
		if first && e.barrier > 0 {
			e.firsts++
			if e.firsts == e.barrier {
				close(e.release)
				e.barrier = 0
			} else {
				hold = e.release
			}
		}
		if first && strings.HasPrefix(id, "H-") {
			hold = e.hang
		}
		e.mu.Unlock()
		if hold != nil {
			<-hold
		}
		w.Header().Set("Content-Type", "application/json")
		if first {
			n, _ := strconv.Atoi(strings.TrimLeft(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ-"))
			w.Header().Set("Retry-After", strconv.Itoa(2+n%4))
			w.WriteHeader(503)
			fmt.Fprint(w, `{"success": false}`)
			return
		}
		fmt.Fprint(w, `{"success": true}`)
	}))
	t.Cleanup(func() {
		close(e.hang)
		e.mu.Lock()
		if e.barrier > 0 {
			close(e.release)
			e.barrier = 0
		}
		e.mu.Unlock()
		srv.Close()
	})
	return e, srv
}

func (e *upstreamERP) total() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, c := range e.calls {
		n += c
	}
	return n
}

// worker is an `archflow worker` subprocess.
type workerProc struct {
	cmd  *exec.Cmd
	logs *bytes.Buffer
}

func startWorker(t *testing.T, bin, addr, dir, name, stateDir string, paths ...string) *workerProc {
	t.Helper()
	env := filepath.Join(dir, name+".env")
	if err := os.WriteFile(env, []byte("WORKER_NAME="+name+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"worker", "--temporal", addr, "--env-file", env, "--state-dir", stateDir}, paths...)
	cmd := exec.Command(bin, args...)
	cmd.Env = os.Environ()
	w := &workerProc{cmd: cmd, logs: &bytes.Buffer{}}
	cmd.Stdout, cmd.Stderr = w.logs, w.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.kill() })
	return w
}

// stop stops the worker as an operator does (SIGTERM) and checks it exits 0.
func (w *workerProc) stop(t *testing.T) {
	t.Helper()
	if w == nil || w.cmd.ProcessState != nil {
		return
	}
	w.cmd.Process.Signal(syscall.SIGTERM)
	timer := time.AfterFunc(30*time.Second, func() { w.cmd.Process.Kill() })
	defer timer.Stop()
	if err := w.cmd.Wait(); err != nil {
		t.Errorf("worker stopped with %v\n%s", err, w.logs.String())
	}
}

func (w *workerProc) kill() {
	if w == nil {
		return
	}
	if w.cmd.ProcessState == nil {
		w.cmd.Process.Signal(syscall.SIGKILL)
		w.cmd.Wait()
	}
}

type runOut struct {
	code    int
	results []map[string]any
	stderr  string
}

func runArchflow(t *testing.T, bin string, limit time.Duration, args ...string) runOut {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Run()
	out := runOut{code: cmd.ProcessState.ExitCode(), stderr: stderr.String()}
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("result line %q: %v", sc.Text(), err)
		}
		out.results = append(out.results, m)
	}
	return out
}

// TestTemporalEndToEnd runs flows on a real Temporal dev server with archflow workers as
// subprocesses: 200 instances in 2-5 s Retry-After waits survive a kill -9 of their worker with
// no call repeated; two workers share a batch; nothing secret is in any history; an edited flow
// keeps its old version for the instance that started on it; an unserved flow is refused.
func TestTemporalEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal dev server")
	}
	addr, c := startDevServer(t)
	dir := t.TempDir()
	bin := buildBinaries(t)
	e, srv := newUpstreamERP(t)
	t.Setenv("ERP_URL", srv.URL)
	t.Setenv("ERP_CLIENT_SECRET", e.secret)
	flows := filepath.Join(dir, "flows")
	os.MkdirAll(flows, 0o700)
	src, err := os.ReadFile("../../../engine/temporal/testdata/e2e.yaml")
	if err != nil {
		t.Fatal(err)
	}
	flowFile := filepath.Join(flows, "e2e.yaml")
	os.WriteFile(flowFile, src, 0o600)
	state := filepath.Join(dir, "state")
	long := filepath.Join(flows, "long.yaml")
	os.WriteFile(long, []byte("flow: long\nvariables:\n  key: {type: string, input: true, required: true}\n  stage: {type: string, default: start}\n"+
		"start: begin\nnodes:\n  begin: {assign: {stage: waiting}, next: pause}\n  pause: {wait: 1h, next: done}\n  done: {end: success}\n"), 0o600)
	traces := filepath.Join(dir, "traces")

	inputs := func(name string, from, n int) string {
		var b strings.Builder
		for i := from; i < from+n; i++ {
			fmt.Fprintf(&b, "{\"order_id\": \"A-%d\"}\n", i)
		}
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(b.String()), 0o600)
		return p
	}
	checkBatch := func(t *testing.T, out runOut, n int) {
		t.Helper()
		if out.code != 0 || len(out.results) != n {
			t.Fatalf("exit %d with %d results, want 0 and %d\n%s", out.code, len(out.results), n, out.stderr)
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, r := range out.results {
			id := r["variables"].(map[string]any)["order_id"].(string)
			calls := int(r["calls"].(map[string]any)["push"].(float64))
			if r["outcome"] != "success" || calls != 2 || e.calls[id] != 2 {
				t.Errorf("%s: outcome %v, %d calls counted by the flow, %d seen upstream; want success, 2, 2", id, r["outcome"], calls, e.calls[id])
			}
		}
	}

	var w2, w3, w5 *workerProc
	top := t // workers live until the end of the whole test, not of the subtest that starts them
	w1 := startWorker(t, bin, addr, dir, "w1", state, flows)
	t.Run("kill -9 of the worker while 200 instances wait", func(t *testing.T) {
		batch := inputs("batch1.jsonl", 0, 200)
		e.mu.Lock()
		e.barrier = 200
		e.mu.Unlock()
		done := make(chan runOut, 1)
		go func() {
			done <- runArchflow(t, bin, 4*time.Minute, "run", flowFile, "--engine", "temporal", "--temporal", addr,
				"--inputs", batch, "--concurrency", "32", "--output", "json", "--id-from", "order_id")
		}()
		waitFor(t, "200 first calls", 2*time.Minute, func() bool { return e.total() >= 200 })
		// every instance has its 503 and enters a 2-5 s wait; once history shows no activity
		// pending, every one of them is a durable timer and nothing is in flight
		waitFor(t, "no pending activity", time.Minute, func() bool {
			for i := range 200 {
				d, err := c.DescribeWorkflowExecution(context.Background(), fmt.Sprintf("e2e/A-%d", i), "")
				if err != nil || len(d.PendingActivities) > 0 {
					return false
				}
			}
			return true
		})
		w1.kill()
		w2 = startWorker(top, bin, addr, dir, "w2", state, flows)
		checkBatch(t, <-done, 200)
		if e.badAuth != 0 {
			t.Errorf("%d requests had no valid token", e.badAuth)
		}
	})

	t.Run("two workers share a batch", func(t *testing.T) {
		w3 = startWorker(top, bin, addr, dir, "w3", state, flows)
		e.mu.Lock()
		before := map[string]int{"w2": e.workers["w2"], "w3": e.workers["w3"]}
		e.mu.Unlock()
		out := runArchflow(t, bin, 3*time.Minute, "run", flowFile, "--engine", "temporal", "--temporal", addr,
			"--inputs", inputs("batch2.jsonl", 1000, 60), "--concurrency", "16", "--output", "json", "--id-from", "order_id")
		checkBatch(t, out, 60)
		e.mu.Lock()
		defer e.mu.Unlock()
		w2, w3 := e.workers["w2"]-before["w2"], e.workers["w3"]-before["w3"]
		if w2 == 0 || w3 == 0 || w2+w3 != 120 {
			t.Errorf("calls made by w2 %d, by w3 %d: want both, 120 in all", w2, w3)
		}
	})

	t.Run("a run again attaches to finished instances", func(t *testing.T) {
		before := e.total()
		out := runArchflow(t, bin, time.Minute, "run", flowFile, "--engine", "temporal", "--temporal", addr,
			"--input", "order_id=A-7", "--output", "json", "--id-from", "order_id")
		if out.code != 0 || len(out.results) != 1 || out.results[0]["outcome"] != "success" || e.total() != before {
			t.Fatalf("exit %d, results %v, %d new calls\n%s", out.code, out.results, e.total()-before, out.stderr)
		}
	})

	t.Run("no secret or token in any history", func(t *testing.T) {
		for _, id := range []string{"e2e/A-0", "e2e/A-7", "e2e/A-199", "e2e/A-1000"} {
			hist := history(t, c, id)
			raw, err := proto.Marshal(hist)
			if err != nil {
				t.Fatal(err)
			}
			js, _ := protojson.Marshal(hist)
			for _, s := range []string{e.secret, e.token} {
				if bytes.Contains(raw, []byte(s)) || bytes.Contains(js, []byte(s)) {
					t.Errorf("history of %s holds %q", id, s)
				}
			}
			if !bytes.Contains(js, []byte("archflow.attempt")) {
				t.Errorf("history of %s has no attempt activity: the check looked at nothing", id)
			}
			if id == "e2e/A-7" && os.Getenv("ARCHFLOW_UPDATE_HISTORY") != "" {
				// the history the replay test (engine/temporal) replays with the current workflow code
				os.WriteFile("../../../engine/temporal/testdata/history-e2e.json", js, 0o644)
			}
		}
	})

	t.Run("an edited flow keeps its version; an unserved flow is refused", func(t *testing.T) {
		w2.stop(t) // a worker that does not serve a flow fails its workflow tasks, which Temporal
		w3.stop(t) // retries until one that does takes them: leave only the workers under test
		wait := filepath.Join(flows, "slow.yaml")
		v1 := "flow: slow\nvariables:\n  key: {type: string, input: true, required: true}\nstart: pause\nnodes:\n  pause: {wait: 3s, next: done}\n  done: {end: success}\n"
		os.WriteFile(wait, []byte(v1), 0o600)
		w4 := startWorker(top, bin, addr, dir, "w4", state, flows) // loads slow v1 (and keeps it)
		out := runArchflow(t, bin, time.Minute, "run", wait, "--engine", "temporal", "--temporal", addr,
			"--input", "key=old", "--id-from", "key", "--detach", "--output", "json")
		if out.code != 0 || len(out.results) != 1 || out.results[0]["outcome"] != "running" {
			t.Fatalf("detach: exit %d %v\n%s", out.code, out.results, out.stderr)
		}
		os.WriteFile(wait, []byte(strings.Replace(v1, "end: success", "end: finished", 1)), 0o600)
		w4.stop(t)
		w5 = startWorker(top, bin, addr, dir, "w5", state, flows, "--trace", traces) // current: v2; kept: v1
		old := runArchflow(t, bin, time.Minute, "run", wait, "--engine", "temporal", "--temporal", addr,
			"--input", "key=old", "--id-from", "key", "--output", "json")
		if len(old.results) != 1 || old.results[0]["outcome"] != "success" {
			t.Errorf("the instance started on v1 ended %v, want success (v1's end)\n%s", old.results, old.stderr)
		}
		fresh := runArchflow(t, bin, time.Minute, "run", wait, "--engine", "temporal", "--temporal", addr,
			"--input", "key=new", "--id-from", "key", "--output", "json")
		if len(fresh.results) != 1 || fresh.results[0]["outcome"] != "finished" {
			t.Errorf("a new instance ended %v, want finished (v2's end)\n%s", fresh.results, fresh.stderr)
		}
		other := filepath.Join(dir, "elsewhere.yaml")
		os.WriteFile(other, []byte(strings.Replace(v1, "flow: slow", "flow: unserved", 1)), 0o600)
		ref := runArchflow(t, bin, time.Minute, "run", other, "--engine", "temporal", "--temporal", addr,
			"--input", "key=x", "--id-from", "key", "--detach", "--output", "json")
		if ref.code != 0 {
			t.Fatalf("detach: exit %d\n%s", ref.code, ref.stderr)
		}
		var last []byte
		defer func() {
			if t.Failed() {
				t.Logf("history of unserved/x: %s", last)
			}
		}()
		waitFor(t, "the refusal in the history", 30*time.Second, func() bool {
			js, _ := protojson.Marshal(history(t, c, "unserved/x"))
			last = js
			return bytes.Contains(js, []byte("EVENT_TYPE_WORKFLOW_TASK_FAILED")) && bytes.Contains(js, []byte(`does not serve flow \"unserved\"`))
		})
		d, err := c.DescribeWorkflowExecution(context.Background(), "unserved/x", "")
		if err != nil || d.WorkflowExecutionInfo.Status.String() != "Running" {
			t.Errorf("the refused instance is not waiting for a worker that serves it: %v %v", d, err)
		}
	})

	t.Run("cancel, and Ctrl-C on a waiting run", func(t *testing.T) {
		inTimer := func(id string) func() bool {
			return func() bool {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				it := c.GetWorkflowHistory(ctx, id, "", false, 0)
				for it.HasNext() {
					ev, err := it.Next()
					if err != nil {
						return false // not started yet
					}
					if ev.GetTimerStartedEventAttributes() != nil {
						return true
					}
				}
				return false
			}
		}
		start := func(key string) (*exec.Cmd, *bytes.Buffer) {
			cmd := exec.Command(bin, "run", long, "--engine", "temporal", "--temporal", addr, "--input", "key="+key,
				"--id-from", "key", "--output", "json")
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			timer := time.AfterFunc(time.Minute, func() { cmd.Process.Kill() })
			t.Cleanup(func() { timer.Stop() })
			return cmd, &out
		}
		run, out := start("c1")
		waitFor(t, "long/c1 in its wait", 30*time.Second, inTimer("long/c1"))
		if r := runArchflow(t, bin, 30*time.Second, "cancel", "--temporal", addr, "long/c1"); r.code != 0 {
			t.Fatalf("cancel: exit %d\n%s", r.code, r.stderr)
		}
		run.Wait()
		if code := run.ProcessState.ExitCode(); code != 3 || !strings.Contains(out.String(), `"outcome":"interrupted"`) ||
			!strings.Contains(out.String(), `"stopped_at":"pause"`) || !strings.Contains(out.String(), `"stage":"waiting"`) {
			t.Errorf("a run waiting on a cancelled instance: exit %d\n%s", code, out.String())
		}
		if r := runArchflow(t, bin, 30*time.Second, "cancel", "--temporal", addr, "long/nope"); r.code != 1 {
			t.Errorf("cancel of an unknown id: exit %d, want 1\n%s", r.code, r.stderr)
		}
		run, out = start("c2")
		waitFor(t, "long/c2 in its wait", 30*time.Second, inTimer("long/c2"))
		run.Process.Signal(syscall.SIGINT)
		run.Wait()
		if code := run.ProcessState.ExitCode(); code != 3 || !strings.Contains(out.String(), `"outcome":"running"`) ||
			!strings.Contains(out.String(), "long/c2") {
			t.Errorf("Ctrl-C on a waiting run: exit %d\n%s", run.ProcessState.ExitCode(), out.String())
		}
		d, err := c.DescribeWorkflowExecution(context.Background(), "long/c2", "")
		if err != nil || d.WorkflowExecutionInfo.Status.String() != "Running" {
			t.Errorf("the instance did not go on after Ctrl-C: %v", err)
		}
	})

	t.Run("a worker killed in the middle of a call", func(t *testing.T) {
		done := make(chan runOut, 1)
		go func() {
			done <- runArchflow(t, bin, 2*time.Minute, "run", flowFile, "--engine", "temporal", "--temporal", addr,
				"--input", "order_id=H-1", "--id-from", "order_id", "--output", "json")
		}()
		waitFor(t, "the call to hang", time.Minute, func() bool {
			e.mu.Lock()
			defer e.mu.Unlock()
			return e.calls["H-1"] == 1
		})
		w5.kill()
		startWorker(top, bin, addr, dir, "w6", state, flows)
		// the lost worker stops heartbeating: the attempt is a timeout the flow retries
		out := <-done
		if out.code != 0 || len(out.results) != 1 {
			t.Fatalf("exit %d %v\n%s", out.code, out.results, out.stderr)
		}
		r := out.results[0]
		e.mu.Lock()
		defer e.mu.Unlock()
		if r["outcome"] != "success" || r["calls"].(map[string]any)["push"] != 2.0 || e.calls["H-1"] != 2 {
			t.Errorf("outcome %v, calls %v, %d seen upstream: want success, 2 (the lost one was sent), 2", r["outcome"], r["calls"], e.calls["H-1"])
		}
	})

	t.Run("the worker's trace", func(t *testing.T) {
		files, _ := filepath.Glob(filepath.Join(traces, "worker-*.jsonl"))
		if len(files) != 1 {
			t.Fatalf("trace files %v, want one", files)
		}
		b, _ := os.ReadFile(files[0])
		for _, want := range []string{`"event":"enter"`, `"event":"wait"`, `"event":"end"`, `"outcome":"finished"`} {
			if !bytes.Contains(b, []byte(want)) {
				t.Errorf("the trace has no %s:\n%s", want, b)
			}
		}
		if bytes.Contains(b, []byte(e.secret)) || bytes.Contains(b, []byte(e.token)) {
			t.Error("the worker's trace holds a secret")
		}
	})

	t.Run("a long instance continues as new", func(t *testing.T) {
		loops := filepath.Join(dir, "loops")
		os.MkdirAll(loops, 0o700)
		loop := filepath.Join(loops, "loop.yaml")
		os.WriteFile(loop, []byte("flow: loop\nvariables:\n  key: {type: string, input: true, required: true}\n  n: {type: integer, default: 0, output: true}\n"+
			"start: bump\nnodes:\n  bump: {assign: {n: \"{{ n + 1 }}\"}, next: check}\n"+
			"  check:\n    decision:\n      - when: n >= 25\n        next: done\n    default: pause\n"+
			"  pause: {wait: 0.01, next: bump}\n  done: {end: success}\n"), 0o600)
		startWorker(top, bin, addr, dir, "w7", filepath.Join(dir, "state7"), loops, "--task-queue", "loops", "--history-limit", "100")
		out := runArchflow(t, bin, 2*time.Minute, "run", loop, "--engine", "temporal", "--temporal", addr, "--task-queue", "loops",
			"--input", "key=k", "--id-from", "key", "--output", "json")
		if out.code != 0 || len(out.results) != 1 {
			t.Fatalf("exit %d %v\n%s", out.code, out.results, out.stderr)
		}
		r := out.results[0]
		if r["outputs"].(map[string]any)["n"] != 25.0 || len(r["path"].([]any)) != 25*3 || len(r["waits"].([]any)) != 24 {
			t.Errorf("outputs %v, %d nodes in path, %d waits: want n 25, 75, 24", r["outputs"], len(r["path"].([]any)), len(r["waits"].([]any)))
		}
		d, err := c.DescribeWorkflowExecution(context.Background(), "loop/k", "")
		if err != nil {
			t.Fatal(err)
		}
		if info := d.WorkflowExecutionInfo; info.FirstRunId == info.Execution.RunId {
			t.Error("the instance never continued as new")
		}
	})

	t.Run("flags that belong elsewhere are errors", func(t *testing.T) {
		for flag, where := range map[string]string{"--clock=virtual": "test --engine temporal", "--env-file=x": "worker --env-file",
			"--trace=x": "worker --trace", "--mock=x": "test --engine temporal"} {
			out := runArchflow(t, bin, 30*time.Second, "run", flowFile, "--engine", "temporal", "--input", "order_id=X", flag)
			if out.code != 2 || !strings.Contains(out.stderr, where) {
				t.Errorf("%s: exit %d, stderr %q: want 2 and a pointer to %q", flag, out.code, out.stderr, where)
			}
		}
	})
}

func history(t *testing.T, c client.Client, id string) *historypb.History {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	it := c.GetWorkflowHistory(ctx, id, "", false, 0)
	h := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, ev)
	}
	return h
}
