package nodes_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/archflow/archflow/nodes"
)

// SPEC §3/§11 Numbers: a literal wait that is negative or overflows is a compile error, with
// or without trim.
func TestWaitLiteralsOutOfRangeAreCompileErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ wait, want string }{
		{"10000000000", "out of range"},
		{"1e300", "out of range"},
		{"{for: 10000000000, trim: true}", "out of range"},
		{"9999999999h", "out of range"},
		{"-5", "negative"},
		{`"-1m"`, "negative"},
		{"{for: 5s, max: -1s}", "max must be positive"},
		{".nan", "not a number of seconds"},
		{"Inf", "not a number of seconds"},
	} {
		src := "flow: w\nstart: p\nnodes:\n  p:\n    wait: " + tc.wait + "\n    next: done\n  done: {end: success}\n"
		_, err := nodes.Builtins().Load("w.yaml", []byte(src))
		if err == nil || !strings.Contains(err.Error(), "w.yaml:5:") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("wait: %s: got %v, want an error at line 5 saying %q", tc.wait, err, tc.want)
		}
	}
}

// A computed wait that overflows is above max: a runtime error, or max with trim; a computed
// negative one is a zero wait. None wraps round to a wait of 0 s.
func TestComputedWaitsOutOfRange(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		value, wait string
		outcome     string
		waits       []float64
	}{
		{"1e10", `"{{ v }}"`, "error", nil},
		{"1e10", `{for: "{{ v }}", trim: true}`, "success", []float64{72 * 3600}},
		{"1e300", `{for: "{{ v }}", trim: true}`, "success", []float64{72 * 3600}},
		{"'9999999999h'", `"{{ v }}"`, "error", nil},
		{"'9999999999h'", `{for: "{{ v }}", trim: true}`, "success", []float64{72 * 3600}},
		{"-1e10", `"{{ v }}"`, "success", []float64{0}},
		{"'-9999999999h'", `"{{ v }}"`, "success", []float64{0}},
		{"-5", `"{{ v }}"`, "success", []float64{0}},
	} {
		typ := "number"
		if strings.HasPrefix(tc.value, "'") {
			typ = "string"
		}
		src := "flow: w\nvariables:\n  v: {type: " + typ + ", default: " + tc.value + "}\nstart: p\nnodes:\n  p:\n    wait: " + tc.wait + "\n    next: done\n  done: {end: success}\n"
		p := filepath.Join(t.TempDir(), "w.yaml")
		os.WriteFile(p, []byte(src), 0o600)
		r := runFlow(t, p, nil, nil)
		if r.res.Outcome != tc.outcome {
			t.Errorf("v=%s wait %s: outcome %s (%+v), want %s", tc.value, tc.wait, r.res.Outcome, r.res.Error, tc.outcome)
			continue
		}
		if tc.outcome == "error" && !strings.Contains(r.res.Error.Message, "longer than its max") {
			t.Errorf("v=%s: error %q, want it to say the wait is longer than its max", tc.value, r.res.Error.Message)
		}
		if tc.waits != nil && (len(r.res.Waits) != 1 || r.res.Waits[0] != tc.waits[0]) {
			t.Errorf("v=%s wait %s: waits %v, want %v", tc.value, tc.wait, r.res.Waits, tc.waits)
		}
	}
}

// A backoff multiplier of .inf would make initial·multiplier^n NaN and the wait undefined.
func TestBackoffMultiplierMustBeFinite(t *testing.T) {
	t.Parallel()
	src := `flow: b
actions:
  a: {url: "http://127.0.0.1:1/"}
start: c
nodes:
  c:
    data_action: a
    retry: {backoff: {initial: 0s, multiplier: .inf, max: 10m}}
    next: done
    on_failure: done
  done: {end: success}
`
	_, err := nodes.Builtins().Load("b.yaml", []byte(src))
	if err == nil || !strings.Contains(err.Error(), "b.yaml:8:") || !strings.Contains(err.Error(), "finite") {
		t.Errorf("got %v, want a compile error at line 8 about a finite multiplier", err)
	}
}
