package temporal_test

import (
	"context"
	"strings"
	"testing"

	"github.com/archflow/archflow/engine/temporal"
	"github.com/archflow/archflow/engine/tester"
	_ "github.com/archflow/archflow/nodes"
	_ "github.com/archflow/archflow/nodes/auth"
	_ "github.com/archflow/archflow/nodes/channel"
)

// Every test file of the repository gives the same statuses and failures on the Temporal test
// environment as in process, and every one under flows/ passes (SPEC §10).
func TestTestFilesOnTemporal(t *testing.T) {
	t.Parallel()
	paths := []string{"../../flows", "../../testdata"}
	local := tester.RunPaths(context.Background(), paths, &tester.Options{Parallel: 1})
	remote := tester.RunPaths(context.Background(), paths, &tester.Options{Runner: temporal.TestRun, Parallel: 2})
	want := map[string]*tester.CaseResult{}
	for _, f := range local.Files {
		for _, c := range f.Cases {
			want[f.Path+"\x00"+c.Case.Name] = c
		}
	}
	n := 0
	for _, f := range remote.Files {
		for _, c := range f.Cases {
			n++
			w := want[f.Path+"\x00"+c.Case.Name]
			if strings.HasPrefix(f.Path, "../../flows") && c.Status != tester.Pass {
				t.Errorf("%s: %s: %s on temporal", f.Path, c.Case.Name, c.Status)
			}
			if w == nil || w.Status != c.Status || failures(w) != failures(c) {
				t.Errorf("%s: %s: temporal %s%s\nlocal %s%s", f.Path, c.Case.Name, c.Status, failures(c), w.Status, failures(w))
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d test cases found", n)
	}
	t.Logf("%d cases agree", n)
}

func failures(c *tester.CaseResult) string {
	var b strings.Builder
	for _, f := range c.Failures {
		b.WriteString("\n    " + f.String())
	}
	return b.String()
}
