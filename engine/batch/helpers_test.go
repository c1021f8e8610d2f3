package batch

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/nodes"
)

// loadFlow compiles a flow of the built-in node kinds.
func loadFlow(t *testing.T, src string) *engine.Flow {
	t.Helper()
	flow, err := nodes.Builtins().Load("f.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return flow
}

// jsonlInputs writes text as a JSON Lines file and gives it as flow's inputs.
func jsonlInputs(t *testing.T, flow *engine.Flow, text string) *Inputs {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in.jsonl")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	in, err := NewInputs(flow, nil, path, false)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// checked is jsonlInputs, checked: the inputs and how many there are.
func checked(t *testing.T, flow *engine.Flow, text string) (*Inputs, int) {
	t.Helper()
	in := jsonlInputs(t, flow, text)
	total, err := in.Check()
	if err != nil {
		t.Fatal(err)
	}
	return in, total
}

// parallelCheck is Check of a JSON Lines file by checkJSONL on workers goroutines, whatever
// GOMAXPROCS is.
func parallelCheck(t *testing.T, in *Inputs, workers int) (int, error) {
	t.Helper()
	fh, err := os.Open(in.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	return in.checked(in.checkJSONL(fh, workers, in.checkChunk))
}
