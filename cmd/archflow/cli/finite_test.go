package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// SPEC §11 Numbers: {{ total / cnt }} with cnt = 0 is a runtime error naming the variable, not
// +Inf stored; the on_error escalation writes its dead letter, and the result encodes.
func TestDivisionByZeroIsNeverStored(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	flow := filepath.Join(dir, "avg.yaml")
	dl := filepath.Join(dir, "dl.jsonl")
	os.WriteFile(flow, []byte(`flow: avg
variables:
  total: {type: number, input: true, default: 10}
  cnt: {type: number, input: true, default: 0}
  avg: {type: number, output: true}
  kept: {type: string, default: still-here, output: true}
channels:
  deadletter: {type: file, path: "`+dl+`"}
start: compute
on_error: escalate
nodes:
  compute:
    assign: {avg: "{{ total / cnt }}"}
    next: done
  escalate:
    notify: {channel: deadletter, subject: "avg failed", body: "{{ error.message }}"}
    next: failed
  done: {end: success}
  failed: {end: escalated}
`), 0o600)
	trace := filepath.Join(dir, "trace.jsonl")
	code, out, errOut := cli(t, "run", flow, "--output", "json", "--clock", "virtual", "--trace", trace)
	if code != 1 {
		t.Fatalf("exit %d: %s%s", code, out, errOut)
	}
	var r struct {
		Outcome   string         `json:"outcome"`
		Variables map[string]any `json:"variables"`
		Error     *struct{ Message string }
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("result does not decode: %v\n%s", err, out)
	}
	if r.Outcome != "escalated" || r.Variables["kept"] != "still-here" || r.Variables["avg"] != nil {
		t.Errorf("result %+v", r)
	}
	if r.Error == nil || !strings.Contains(r.Error.Message, "avg: the value is +Inf") {
		t.Errorf("error %+v, want one naming avg and +Inf", r.Error)
	}
	d, _ := os.ReadFile(dl)
	if !strings.Contains(string(d), "avg: the value is +Inf") {
		t.Errorf("dead letter %q", d)
	}
	tr, _ := os.ReadFile(trace)
	for _, ev := range []string{`"event":"start"`, `"event":"error"`, `"event":"notify"`, `"event":"end"`} {
		if !strings.Contains(string(tr), ev) {
			t.Errorf("trace lacks %s", ev)
		}
	}
	// an input of NaN or Inf is refused before anything runs
	code, _, errOut = cli(t, "run", flow, "--input", "total=Inf")
	if code != 2 || !strings.Contains(errOut, "input total: +Inf is not a number that can be stored") {
		t.Errorf("exit %d: %s", code, errOut)
	}
}
