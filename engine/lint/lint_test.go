package lint_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/archflow/archflow/engine/lint"
	"github.com/archflow/archflow/engine/yamldoc"
	"github.com/archflow/archflow/nodes"
)

// Each fixture under testdata/lint commits exactly one classic mistake, named by its file.
func TestLintRulesEachFireOnTheirFixture(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("../../testdata/lint/*.yaml")
	if len(files) != 7 {
		t.Fatalf("found %d lint fixtures, want one per rule (7)", len(files))
	}
	for _, file := range files {
		rule := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(rule, func(t *testing.T) {
			f, err := nodes.Builtins().LoadFile(file)
			if err != nil {
				t.Fatalf("fixture must compile: %v", err)
			}
			var got []string
			diags := append(f.Diagnostics, lint.Check(f)...)
			for _, d := range diags {
				got = append(got, d.Rule)
				if d.Severity != yamldoc.SevWarning || d.Hint == "" || d.Pos.Line == 0 {
					t.Errorf("diagnostic lacks severity, hint or position: %v", d)
				}
			}
			if len(got) != 1 || got[0] != rule {
				t.Errorf("rules fired = %v, want only %s\n%v", got, rule, diags)
			}
		})
	}
}

func TestSeedFlowIsLintClean(t *testing.T) {
	t.Parallel()
	f, err := nodes.Builtins().LoadFile("../../flows/self-healing.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if d := append(f.Diagnostics, lint.Check(f)...); len(d) != 0 {
		t.Errorf("the seed flow has diagnostics:\n%v", d)
	}
}

// A loop left through a decision on its counter is bounded however the decision reads the
// counter: by name or through $env.
func TestLoopCounterReadThroughEnv(t *testing.T) {
	t.Parallel()
	for _, cond := range []string{`attempts < 3`, `$env['attempts'] < 3`, `$env.attempts < 3`} {
		f, err := nodes.Builtins().Load("loop.yaml", []byte(`flow: loop
variables:
  attempts: {type: integer, default: 0}
start: init
nodes:
  init: {assign: {attempts: 0}, next: bump}
  bump: {assign: {attempts: "{{ attempts + 1 }}"}, next: check}
  check:
    decision:
      - when: "`+cond+`"
        next: bump
    default: done
  done: {end: success}
`))
		if err != nil {
			t.Fatal(err)
		}
		if d := append(f.Diagnostics, lint.Check(f)...); len(d) != 0 {
			t.Errorf("%s: %v, want no diagnostics", cond, d)
		}
	}
}
