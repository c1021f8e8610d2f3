package schema_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/archflow/archflow/nodes"
	"github.com/archflow/archflow/schema"
)

var update = flag.Bool("update", false, "rewrite flow.schema.json from the component declarations")

// flow.schema.json is generated from the declarations of the built-in node kinds, channel
// types and auth types; editors read the file, so it must not drift from them.
func TestFlowSchemaFileUpToDate(t *testing.T) {
	got, err := schema.GenerateFlow(nodes.Builtins())
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("flow.schema.json", got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(got, schema.FlowFile) {
		t.Fatal("schema/flow.schema.json is stale: a component's declaration changed. Rewrite it with\n\tgo test ./schema -run TestFlowSchemaFileUpToDate -update")
	}
}

// docs/reference is generated from the same declarations; a changed component must not leave
// its reference behind.
func TestReferenceUpToDate(t *testing.T) {
	for name, page := range schema.Reference(nodes.Builtins()) {
		path := filepath.Join("..", "docs", "reference", name)
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(page), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != page {
			t.Errorf("%s is stale or missing: rewrite it with\n\tgo test ./schema -run TestReferenceUpToDate -update", path)
		}
	}
}
