package batch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/transport"
	"github.com/archflow/archflow/nodes"
)

// blocking holds every request until its context ends, saying on started that one came.
type blocking struct{ started chan struct{} }

func (b blocking) Do(ctx context.Context, _ *transport.Request) (*transport.Response, error) {
	b.started <- struct{}{}
	<-ctx.Done()
	return nil, ctx.Err()
}

// An interrupted batch reports every input: those running as interrupted, the rest as never
// started, in the order of their lines.
func TestInterruptedBatchReportsEveryInput(t *testing.T) {
	t.Parallel()
	flow, err := nodes.Builtins().Load("f.yaml", []byte(`flow: f
variables:
  id: {type: string, input: true}
actions:
  push: {method: POST, url: "http://127.0.0.1:1/x"}
start: call
nodes:
  call: {data_action: push, next: done, on_failure: done}
  done: {end: success}
`))
	if err != nil {
		t.Fatal(err)
	}
	var lines strings.Builder
	for i := range 10 {
		fmt.Fprintf(&lines, "{\"id\": \"%d\"}\n", i)
	}
	path := filepath.Join(t.TempDir(), "in.jsonl")
	if err := os.WriteFile(path, []byte(lines.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	in, err := NewInputs(flow, nil, path, false)
	if err != nil {
		t.Fatal(err)
	}
	total, err := in.Check()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	tr := blocking{started: make(chan struct{})}
	go func() { // both workers are in a request: interrupt
		<-tr.started
		<-tr.started
		cancel()
	}()
	var running, notStarted []int
	err = Run(ctx, flow, in, total, Options{Concurrency: 2, Instance: engine.Options{Transport: tr, Channels: engine.Capture{}},
		Report: func(r *engine.Result, _ map[string]any, _ []byte) {
			if r.Outcome != engine.OutcomeInterrupted {
				t.Errorf("line %d: outcome %s", r.Input.Line, r.Outcome)
			}
			if r.Started.IsZero() {
				notStarted = append(notStarted, r.Input.Line)
			} else {
				running = append(running, r.Input.Line)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if len(running) != 2 || fmt.Sprint(notStarted) != "[3 4 5 6 7 8 9 10]" {
		t.Errorf("running %v, not started %v; want lines 1 and 2 running, 3 to 10 not started in order", running, notStarted)
	}
}
