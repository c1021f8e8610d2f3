package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/batch"
	"github.com/archflow/archflow/engine/trace"
	"github.com/archflow/archflow/nodes"
)

// A malformed CSV or JSONL line is an error with file:line:col, never a panic, and nothing runs.
func TestMalformedInputsArePositionedErrors(t *testing.T) {
	t.Parallel()
	srv, n := erp(t, 200, `{"success": true}`)
	dir := t.TempDir()
	for _, tc := range []struct{ name, content, want string }{
		{"quote.csv", "order_id\n\"bad\"quote\n", "quote.csv:2:5: error: extraneous or missing \" in quoted-field"},
		{"fields.csv", "order_id,amount\nA-1,1\nA-2,2,3\n", "fields.csv:3:1: error: wrong number of fields"},
		{"header.csv", "", "header.csv:1:1: error: expected a header row"},
		{"type.csv", "order_id,amount\nA-1,abc\n", "type.csv:2:5: error: input amount"},
		{"multiline.csv", "order_id,amount\n\"A\n1\",1\nA-2,x\n", "multiline.csv:4:5: error: input amount"},
		{"syntax.jsonl", "{\"order_id\": \"A-1\"}\n\n  {\"order_id\": \"A-2\",}\n", "syntax.jsonl:3:22: error: expected one JSON object per line: invalid character '}'"},
		{"array.jsonl", "[1, 2]\n", "array.jsonl:1:1: error: expected one JSON object per line: got an array"},
		{"null.jsonl", "null\n", "null.jsonl:1:1: error: expected one JSON object per line: got null"},
		{"two.jsonl", "{\"order_id\": \"A-1\"} {\"order_id\": \"A-2\"}\n", "two.jsonl:1:21: error: expected one JSON object per line: invalid character '{' after top-level value"},
		{"long.jsonl", "{\"order_id\": \"" + strings.Repeat("x", batch.MaxInputLine) + "\"}\n", "long.jsonl:1:1: error: line longer than 16 MiB"},
		{"long.csv", "order_id\n" + strings.Repeat("x", batch.MaxInputLine+1) + "\n", "long.csv:2:1: error: line longer than 16 MiB"},
	} {
		p := filepath.Join(dir, tc.name)
		os.WriteFile(p, []byte(tc.content), 0o600)
		var out, errb bytes.Buffer
		code := execute(nodes.Builtins(), []string{"run", seedFlow, "--inputs", p, "--env-file", envFileFor(t, srv.URL)}, &out, &errb)
		if code != exitInvalid || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%s: exit %d, stderr:\n%s\nwant exit 2 and %q", tc.name, code, errb.String(), tc.want)
		}
	}
	if n.Load() != 0 {
		t.Errorf("%d requests sent from invalid inputs", n.Load())
	}
}

func envFileFor(t *testing.T, url string) string {
	p := filepath.Join(t.TempDir(), "env")
	os.WriteFile(p, []byte("ERP_URL="+url+"\nDEAD_LETTER="+filepath.Join(t.TempDir(), "dl.jsonl")+"\n"), 0o600)
	return p
}

// Lines far above bufio's 64 KiB default are read whole.
func TestLongInputLinesWork(t *testing.T) {
	t.Parallel()
	srv, n := erp(t, 200, `{"success": true}`)
	dir := t.TempDir()
	id := strings.Repeat("y", 1<<20)
	p := filepath.Join(dir, "long.jsonl")
	os.WriteFile(p, []byte(`{"order_id": "`+id+`"}`+"\n"+`{"order_id": "B"}`), 0o600)
	var out, errb bytes.Buffer
	code := execute(nodes.Builtins(), []string{"run", seedFlow, "--inputs", p, "--output", "json", "--clock", "virtual", "--env-file", envFileFor(t, srv.URL)}, &out, &errb)
	if code != 0 || n.Load() != 2 || !strings.Contains(out.String(), id) {
		t.Errorf("exit %d after %d calls: %s", code, n.Load(), errb.String())
	}
}

// SPEC §4: an interrupted batch gives every input a result: those never started have outcome
// interrupted, started and stopped_at null, and their input line; the exit code is 3.
func TestInterruptedBatchGivesEveryInputAResult(t *testing.T) {
	t.Parallel()
	flow, err := nodes.Builtins().LoadFile("../../../testdata/e2e/long-wait.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "in.jsonl")
	os.WriteFile(p, []byte(strings.Repeat("{}\n", 7)), 0o600)
	src, err := batch.NewInputs(flow, nil, p, false)
	if err != nil {
		t.Fatal(err)
	}
	total, err := src.Check()
	if err != nil || total != 7 {
		t.Fatalf("check: %d, %v", total, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	waiting := 0
	opts := &engine.Options{Tracer: trace.TraceFunc(func(e *trace.Event) {
		if e.Event == "wait" { // real clock: an hour-long wait; interrupt once both workers wait
			mu.Lock()
			waiting++
			if waiting == 2 {
				cancel()
			}
			mu.Unlock()
		}
	})}
	var out, errb bytes.Buffer
	pr := newPrinter(&out, &errb, "json", total)
	err = batch.Run(ctx, flow, src, total, batch.Options{Concurrency: 2, Instance: *opts, Report: pr.reportLine, Encode: pr.encode})
	code := pr.finish(total, err, p)
	if code != exitInternal {
		t.Errorf("exit %d, want 3", code)
	}
	lines := map[int]map[string]any{}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var r map[string]any
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("not a JSON result: %s", l)
		}
		in, _ := r["input"].(map[string]any)
		line, _ := in["line"].(float64)
		lines[int(line)] = r
	}
	if len(lines) != 7 {
		t.Fatalf("%d results for lines %v, want 7:\n%s", len(lines), lines, out.String())
	}
	notStarted := 0
	for line := 1; line <= 7; line++ {
		r := lines[line]
		if r == nil || r["outcome"] != "interrupted" {
			t.Errorf("line %d: %v", line, r)
			continue
		}
		if r["started"] == nil {
			notStarted++
			if v, ok := r["stopped_at"]; !ok || v != nil {
				t.Errorf("line %d never started: stopped_at %v, want null", line, v)
			}
		} else if r["stopped_at"] != "pause" {
			t.Errorf("line %d started: stopped_at %v, want pause", line, r["stopped_at"])
		}
	}
	if notStarted != 5 || !strings.Contains(errb.String(), "5 of 7 instances not started") {
		t.Errorf("%d not started; stderr %s", notStarted, errb.String())
	}
}

// A batch's worker sends its requests one after the other under one timeout it resets (a lane):
// a request the upstream never answers times out after the action's timeout, alone, and the
// worker's next requests are answered. One worker, so that every request after a timeout is on
// the lane that timed out.
func TestBatchTimeoutsOneAfterAnother(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // then the server sees the client hang up
		if strings.HasPrefix(r.URL.Path, "/orders/H-") {
			<-r.Context().Done()
			return
		}
		w.Write([]byte(`{"success": true}`))
	}))
	defer srv.Close()
	dir := t.TempDir()
	inputs := filepath.Join(dir, "in.jsonl")
	order := []string{"A-1", "H-1", "A-2", "A-3", "H-2", "A-4"}
	var lines strings.Builder
	for _, id := range order {
		fmt.Fprintf(&lines, "{\"order_id\": %q}\n", id)
	}
	os.WriteFile(inputs, []byte(lines.String()), 0o600)
	env := filepath.Join(dir, "up.env")
	os.WriteFile(env, []byte("UPSTREAM="+srv.URL+"\n"), 0o600)
	var out, errb bytes.Buffer
	start := time.Now()
	code := execute(nodes.Builtins(), []string{"run", "testdata/batch/timeouts.yaml", "--inputs", inputs, "--concurrency", "1",
		"--output", "json", "--env-file", env}, &out, &errb)
	took := time.Since(start)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d (two instances failed): %s", code, exitFailed, errb.String())
	}
	results := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(results) != len(order) {
		t.Fatalf("%d results, want %d:\n%s", len(results), len(order), out.String())
	}
	for i, l := range results {
		var r struct {
			Outcome string         `json:"outcome"`
			Outputs map[string]any `json:"outputs"`
			Path    []string       `json:"path"`
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("not a JSON result: %s", l)
		}
		id := order[i]
		switch {
		case strings.HasPrefix(id, "H-") && (r.Outcome != "failed" || r.Outputs["kind"] != "timeout"):
			t.Errorf("%s, never answered: outcome %s, path %v, outputs %v; want failed by a timeout", id, r.Outcome, r.Path, r.Outputs)
		case strings.HasPrefix(id, "A-") && r.Outcome != "success":
			t.Errorf("%s, answered at once: outcome %s, path %v, outputs %v; want success", id, r.Outcome, r.Path, r.Outputs)
		}
	}
	// two timeouts of 1s, one after the other: neither cut short nor stretched by the other
	if took < 2*time.Second || took > 10*time.Second {
		t.Errorf("the batch took %v, want two 1s timeouts and little more", took)
	}
}
