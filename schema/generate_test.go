package schema_test

import (
	"bytes"
	"flag"
	"os"
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
