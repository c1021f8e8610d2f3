package archy_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/archflow/archflow/engine/archy"
	"github.com/archflow/archflow/engine/archy/dataaction"
	"github.com/archflow/archflow/engine/tester"
	"github.com/archflow/archflow/nodes"
	_ "github.com/archflow/archflow/nodes"
)

var update = flag.Bool("update", false, "rewrite the imported flows under testdata/archy")

const dir = "../../testdata/archy"

// fixtures are Architect workflows of our own, one or more constructs each; NAME.workflow.yaml is
// imported to NAME.flow.yaml (golden) and run by the test runner with NAME.test.yaml.
var fixtures = []struct {
	name string
	set  map[string]string
}{
	{"retry", map[string]string{"flow_name": "Push-Order", "integration": "ERP", "push_order": "Push Order"}},
	{"constructs", nil},
	{"platform", map[string]string{"integration": "Genesys"}},
}

func exports(t *testing.T) []*dataaction.Export {
	t.Helper()
	xs, probs := dataaction.LoadDir(filepath.Join(dir, "actions"))
	if len(probs) > 0 {
		t.Fatalf("exports: %v", probs)
	}
	return xs
}

func importFixture(t *testing.T, name string, set map[string]string) *archy.Result {
	t.Helper()
	src := filepath.Join(dir, name+".workflow.yaml")
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	res, diags := archy.Import(src, data, archy.Options{Set: set, Exports: exports(t)})
	if len(diags) > 0 {
		var b strings.Builder
		for _, d := range diags {
			b.WriteString(d.Error() + "\n")
		}
		t.Fatalf("import %s:\n%s", src, b.String())
	}
	return res
}

func TestFixturesImportValidateAndRun(t *testing.T) {
	t.Parallel()
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			t.Parallel()
			res := importFixture(t, fx.name, fx.set)
			golden := filepath.Join(dir, fx.name+".flow.yaml")
			if *update {
				if err := os.WriteFile(golden, res.YAML, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./engine/archy -update)", err)
			}
			if !bytes.Equal(want, res.YAML) {
				t.Errorf("the import of %s.workflow.yaml differs from %s (go test ./engine/archy -update rewrites it):\n%s", fx.name, golden, res.YAML)
			}
			f, err := nodes.Builtins().Load(golden, res.YAML)
			if err != nil {
				t.Fatalf("the imported flow does not compile: %v", err)
			}
			if f.Start == nil {
				t.Fatal("no start node")
			}
			rep := tester.RunPaths(context.Background(), nodes.Builtins(), []string{filepath.Join(dir, fx.name+".test.yaml")}, &tester.Options{Parallel: 1})
			c := rep.Counts()
			for _, fr := range rep.Files {
				for _, e := range fr.Invalid {
					t.Errorf("%s", e)
				}
				for _, cr := range fr.Cases {
					for _, fl := range cr.Failures {
						t.Errorf("%s: %s", cr.Case.Name, fl)
					}
				}
			}
			if c.Passed == 0 || c.Failed+c.Errors+c.Invalid > 0 {
				t.Errorf("%s.test.yaml: %+v", fx.name, c)
			}
		})
	}
}
