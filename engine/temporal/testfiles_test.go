package temporal_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/temporal"
	"github.com/archflow/archflow/engine/tester"
	"github.com/archflow/archflow/nodes"
	_ "github.com/archflow/archflow/nodes"
	_ "github.com/archflow/archflow/nodes/auth"
	_ "github.com/archflow/archflow/nodes/channel"
)

// Every test file of the repository gives the same statuses and failures on the Temporal test
// environment as in process, and every one under flows/ passes (SPEC §10).
func TestTestFilesOnTemporal(t *testing.T) {
	t.Parallel()
	paths := []string{"../../flows", "../../testdata"}
	local := tester.RunPaths(context.Background(), nodes.Builtins(), paths, &tester.Options{Parallel: 1, Coverage: true})
	remote := tester.RunPaths(context.Background(), nodes.Builtins(), paths, &tester.Options{Runner: temporal.TestRun, Parallel: 2, Coverage: true})
	lc, _ := json.Marshal(local.Coverage)
	rc, _ := json.Marshal(remote.Coverage)
	if string(lc) != string(rc) {
		t.Errorf("coverage differs:\ntemporal %s\nlocal    %s", rc, lc)
	}
	want := map[string]*tester.CaseResult{}
	for _, f := range local.Files {
		for _, c := range f.Cases {
			want[f.Path+"\x00"+c.Case.Name] = c
		}
	}
	// the seed scenarios, whose results (outcome, path, calls, waits, variables, notifications)
	// must be the same on both engines
	seed := map[string]bool{
		"recovers after two 503s":                         false,
		"503 forever is exhausted after 4 calls":          false, // 4 calls, waits 30/60/120
		"401 escalates at once":                           false,
		"404 escalates at once":                           false,
		"200 with success false is a permanent failure":   false,
		"honours Retry-After on 429":                      false,
		"a slow answer past the 10s timeout is a timeout": false,
	}
	n := 0
	for _, f := range remote.Files {
		for _, c := range f.Cases {
			n++
			if _, ok := seed[c.Case.Name]; ok && strings.HasSuffix(f.Path, "flows/self-healing.test.yaml") && c.Status == tester.Pass {
				seed[c.Case.Name] = true
			}
			w := want[f.Path+"\x00"+c.Case.Name]
			if strings.HasPrefix(f.Path, "../../flows") && c.Status != tester.Pass {
				t.Errorf("%s: %s: %s on temporal", f.Path, c.Case.Name, c.Status)
			}
			if w == nil {
				t.Errorf("%s: %s: ran only on temporal", f.Path, c.Case.Name)
				continue
			}
			if w.Status != c.Status || failures(w) != failures(c) {
				t.Errorf("%s: %s: temporal %s%s\nlocal %s%s", f.Path, c.Case.Name, c.Status, failures(c), w.Status, failures(w))
			}
			if g, l := resultJSON(c.Result), resultJSON(w.Result); g != l {
				t.Errorf("%s: %s: results differ\ntemporal %s\nlocal    %s", f.Path, c.Case.Name, g, l)
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d test cases found", n)
	}
	for name, ran := range seed {
		if !ran {
			t.Errorf("seed scenario %q did not run and pass on temporal", name)
		}
	}
	t.Logf("%d cases agree", n)
}

// resultJSON is what both engines must agree on: outcome, path, calls, waits, variables,
// outputs, notifications, error, start and end times.
func resultJSON(r *engine.Result) string {
	if r == nil {
		return "null"
	}
	cp := *r
	cp.Edges = nil
	b, err := json.Marshal(&cp)
	if err != nil {
		return err.Error()
	}
	var v any
	_ = json.Unmarshal(b, &v)
	b, _ = json.Marshal(inUTC(v))
	return string(b)
}

// inUTC writes every time in UTC: workflow time is UTC (workflow code never reads a time zone),
// while a test case's clock.start keeps the offset it was written with in process.
func inUTC(v any) any {
	switch x := v.(type) {
	case string:
		if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
			return t.UTC().Format(time.RFC3339Nano)
		}
	case map[string]any:
		for k, e := range x {
			x[k] = inUTC(e)
		}
	case []any:
		for i, e := range x {
			x[i] = inUTC(e)
		}
	}
	return v
}

func failures(c *tester.CaseResult) string {
	var b strings.Builder
	for _, f := range c.Failures {
		b.WriteString("\n    " + f.String())
	}
	return b.String()
}
