package cli

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/archflow/archflow/engine/cassette"
)

// recordFlow calls an upstream with a secret header until it succeeds, waiting 1 s between tries.
const recordFlow = `flow: rec
variables:
  order_id: {type: string, input: true, required: true}
  request_id: {type: string}
  tries: {type: integer, default: 0}
  status_code: {type: integer, output: true}
actions:
  push:
    method: POST
    url: "{{ env('REC_URL') }}/orders/{{ order_id }}"
    headers: {X-Api-Key: "{{ secret('REC_KEY') }}"}
    body: {id: "{{ order_id }}", request: "{{ request_id }}"}
    timeout: 10s
    success: status == 200
    outputs:
      status_code: status
start: init
nodes:
  init: {assign: {request_id: "{{ uuid() }}"}, next: call}
  call: {data_action: push, next: done, on_failure: check}
  check:
    decision:
      - when: error.class == "permanent" || tries >= 3
        next: failed
    default: bump
  bump: {assign: {tries: "{{ tries + 1 }}"}, next: pause}
  pause: {wait: 1s, next: call}
  done: {end: success}
  failed: {end: escalated}
`

// TestTemporalWorkerRecord runs an instance on a real Temporal dev server with a worker started
// with --record DIR: the upstream answers 503 then 200 (and echoes the secret header it got), and
// the cassette the worker writes is 0600, holds neither the secret nor its echo, and replays on
// the flow to the same path.
func TestTemporalWorkerRecord(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal dev server")
	}
	addr, _ := startDevServer(t)
	dir := t.TempDir()
	bin := buildBinaries(t)
	secret := fmt.Sprintf("rec-key-%d-%d", os.Getpid(), time.Now().UnixNano())
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if r.Header.Get("X-Api-Key") != secret {
			w.WriteHeader(401)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if n == 1 {
			w.WriteHeader(503)
			fmt.Fprintf(w, `{"busy": true, "key": %q}`, secret)
			return
		}
		fmt.Fprintf(w, `{"success": true, "key": %q}`, secret)
	}))
	defer srv.Close()

	flowFile := filepath.Join(dir, "rec.yaml")
	os.WriteFile(flowFile, []byte(recordFlow), 0o600)
	envFile := filepath.Join(dir, "worker.env")
	os.WriteFile(envFile, []byte("REC_URL="+srv.URL+"\nREC_KEY="+secret+"\n"), 0o600)
	rec := filepath.Join(dir, "cassettes")
	cmd := exec.Command(bin, "worker", "--temporal", addr, "--env-file", envFile, "--state-dir", filepath.Join(dir, "state"),
		"--task-queue", "rec", "--record", rec, flowFile)
	w := &workerProc{cmd: cmd, logs: &bytes.Buffer{}}
	cmd.Stdout, cmd.Stderr = w.logs, w.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.kill)

	out := runArchflow(t, bin, 2*time.Minute, "run", flowFile, "--engine", "temporal", "--temporal", addr, "--task-queue", "rec",
		"--input", "order_id=R-1", "--output", "json")
	if out.code != 0 || len(out.results) != 1 || out.results[0]["outcome"] != "success" {
		t.Fatalf("exit %d, results %v\n%s\nworker:\n%s", out.code, out.results, out.stderr, w.logs)
	}
	instance, _ := out.results[0]["instance"].(string)
	file := filepath.Join(rec, instance+cassette.Suffix)
	// the result reaches the client when the workflow task that wrote the cassette completed
	info, err := os.Stat(file)
	if err != nil {
		entries, _ := os.ReadDir(rec)
		t.Fatalf("no cassette %s (%v); %s holds %v\nworker:\n%s", file, err, rec, entries, w.logs)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("cassette mode %v, want 0600", info.Mode().Perm())
	}
	data, _ := os.ReadFile(file)
	if bytes.Contains(data, []byte(secret)) {
		t.Errorf("the cassette holds the secret:\n%s", data)
	}
	c, errs := cassette.ReadFile(file)
	if c == nil {
		t.Fatalf("cassette does not read back: %v\n%s", errs, data)
	}
	var statuses []int
	for _, it := range c.Interactions {
		if it.Response != nil {
			statuses = append(statuses, it.Response.Status)
		}
	}
	if fmt.Sprint(statuses) != "[503 200]" || len(c.UUIDs) != 1 || c.Result == nil || c.Result.Outcome != "success" {
		t.Errorf("cassette has responses %v, uuids %v, result %+v; want [503 200], one uuid, success\n%s", statuses, c.UUIDs, c.Result, data)
	}
	if _, err := os.Stat(filepath.Join(rec, ".parts", instance)); !os.IsNotExist(err) {
		t.Errorf("the recorded parts of %s are still there (%v)", instance, err)
	}

	rp := exec.Command(bin, "replay", file, "--flow", flowFile)
	got, err := rp.CombinedOutput()
	t.Logf("archflow replay: %s", bytes.TrimSpace(got))
	if err != nil || !strings.Contains(string(got), "same path") {
		t.Errorf("replay: %v\n%s\ncassette:\n%s", err, got, data)
	}
	w.cmd.Process.Signal(syscall.SIGTERM)
	w.cmd.Wait()
}
