package channel_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/clock"
	"github.com/archflow/archflow/nodes"
)

// 1,000 instances of the seed flow escalate at once to one dead-letter file: 1,000 intact
// JSON lines, one per instance, each with its own correlation id and outputs.
func TestDeadLetterConcurrentInstances(t *testing.T) {
	t.Parallel()
	const n = 1000
	f, err := nodes.Builtins().LoadFile(filepath.Join("..", "..", "flows", "self-healing.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	deadLetter := filepath.Join(t.TempDir(), "dead-letter.jsonl")
	opts := &engine.Options{
		Transport: down503{},
		Clock:     func() clock.Clock { return clock.NewVirtualClock(clockStart) },
		Env: func(name string) (string, bool) {
			if name == "DEAD_LETTER" {
				return deadLetter, true
			}
			return "", false
		},
	}
	results := make([]*engine.Result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in, err := f.Inputs(map[string]any{"order_id": "ORD-" + strings.Repeat("9", i%7), "amount": i})
			if err != nil {
				t.Error(err)
				return
			}
			results[i] = f.Run(context.Background(), in, opts)
		}()
	}
	wg.Wait()

	want := map[string]string{} // instance -> request_id
	for _, r := range results {
		if r == nil || r.Outcome != "escalated" {
			t.Fatalf("an instance did not escalate: %s", asJSON(r))
		}
		want[r.Instance] = r.Variables["request_id"].(string)
	}
	raw, err := os.ReadFile(deadLetter)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(raw, []byte("\n")) {
		t.Error("the file does not end with a newline")
	}
	lines := readLines(t, deadLetter)
	if len(lines) != n {
		t.Fatalf("%d lines, want %d", len(lines), n)
	}
	seen := map[string]bool{}
	for i, l := range lines {
		inst, _ := l["instance"].(string)
		reqID, ok := want[inst]
		if !ok || seen[inst] {
			t.Fatalf("line %d: instance %q unknown or repeated", i+1, inst)
		}
		seen[inst] = true
		if l["subject"] != "CRITICAL: Data Action Retry Exhausted for "+reqID {
			t.Fatalf("line %d: subject %q does not carry its instance's request_id %s", i+1, l["subject"], reqID)
		}
		outputs, _ := l["outputs"].(map[string]any)
		if l["flow"] != "self-healing" || l["node"] != "escalate" || l["channel"] != "deadletter" || l["time"] == "" ||
			outputs["external_error_code"] != "SERVICE_UNAVAILABLE" || outputs["data_action_status_code"] != 503.0 ||
			!strings.Contains(l["body"].(string), "failed after 4 attempts") {
			t.Fatalf("line %d: %s", i+1, asJSON(l))
		}
	}
}

// A dead-letter file that cannot be written: the instance ends error with the notification.
func TestDeadLetterUnwritable(t *testing.T) {
	t.Parallel()
	f, err := nodes.Builtins().LoadFile(filepath.Join("..", "..", "flows", "self-healing.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "no-such-dir", "dead-letter.jsonl")
	in, _ := f.Inputs(map[string]any{"order_id": "A-1"})
	res := f.Run(context.Background(), in, &engine.Options{Transport: down503{},
		Clock: func() clock.Clock { return clock.NewVirtualClock(clockStart) },
		Env:   func(name string) (string, bool) { return missing, name == "DEAD_LETTER" }})
	if res.Outcome != engine.OutcomeError || len(res.Notifications) != 1 || !strings.Contains(res.Notifications[0].Error, "no such file or directory") {
		t.Fatalf("outcome %q notifications %s", res.Outcome, asJSON(res.Notifications))
	}
	if strings.Count(strings.Join(res.Path, " "), "escalate") != 1 {
		t.Errorf("path %v: a failed escalation must not re-enter escalate through on_error", res.Path)
	}
}

// The log channel writes one block per notification to stderr.
func TestLogChannel(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	src := `flow: log-it
variables:
  order_id: {type: string, input: true}
channels:
  console: {type: log}
start: say
nodes:
  say:
    notify: {channel: console, subject: "order {{ order_id }} failed", body: "line 1\nline 2"}
    next: done
  done: {end: success}
`
	f, err := nodes.Builtins().Load("log-it.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	in, _ := f.Inputs(map[string]any{"order_id": "A-7"})
	res := f.Run(context.Background(), in, &engine.Options{Clock: func() clock.Clock { return clock.NewVirtualClock(clockStart) }, Stderr: &buf})
	if res.Outcome != "success" {
		t.Fatalf("outcome %q", res.Outcome)
	}
	want := "[console] 2026-11-28T09:00:00Z log-it/" + res.Instance + " say: order A-7 failed\n    line 1\n    line 2\n"
	if buf.String() != want {
		t.Errorf("stderr =\n%q\nwant\n%q", buf.String(), want)
	}
}
