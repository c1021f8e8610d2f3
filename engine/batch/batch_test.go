package batch

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/transport"
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
	flow := loadFlow(t, `flow: f
variables:
  id: {type: string, input: true}
actions:
  push: {method: POST, url: "http://127.0.0.1:1/x"}
start: call
nodes:
  call: {data_action: push, next: done, on_failure: done}
  done: {end: success}
`)
	var lines strings.Builder
	for i := range 10 {
		fmt.Fprintf(&lines, "{\"id\": \"%d\"}\n", i)
	}
	in, total := checked(t, flow, lines.String())
	ctx, cancel := context.WithCancel(t.Context())
	tr := blocking{started: make(chan struct{})}
	go func() { // both workers are in a request: interrupt
		<-tr.started
		<-tr.started
		cancel()
	}()
	var running, notStarted []int
	err := Run(ctx, flow, in, total, Options{Concurrency: 2, Instance: engine.Options{Transport: tr, Channels: engine.Capture{}},
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

// A batch hands each result, and the inputs map of its line, back once reported: later lines
// decode into those maps and later instances fill those results, and none of them sees a value
// of an earlier one (a line without n gets n's default, not the n of the line before).
func TestBatchReusesNothingItShows(t *testing.T) {
	t.Parallel()
	flow := loadFlow(t, `flow: f
variables:
  id: {type: string, input: true, required: true}
  n: {type: integer, input: true, default: -1}
  seen: {type: string, output: true}
start: look
nodes:
  look: {assign: {seen: "{{ id }}:{{ n }}"}, next: done}
  done: {end: success}
`)
	var lines, want strings.Builder
	for i := range 200 {
		if i%3 == 0 {
			fmt.Fprintf(&lines, "{\"id\": \"l%d\", \"n\": %d}\n", i, i)
			fmt.Fprintf(&want, "l%d:%d\n", i, i)
		} else {
			fmt.Fprintf(&lines, "{\"id\": \"l%d\"}\n", i)
			fmt.Fprintf(&want, "l%d:-1\n", i)
		}
	}
	for _, workers := range []int{1, 4} { // 4: a map handed back while another worker reads it shows under -race
		in, total := checked(t, flow, lines.String())
		got := make([]string, total)
		err := Run(context.Background(), flow, in, total, Options{Concurrency: workers, Instance: engine.Options{Channels: engine.Capture{}},
			Report: func(r *engine.Result, inputs map[string]any, _ []byte) {
				if fmt.Sprint(inputs["id"]) != strings.Split(fmt.Sprint(r.Outputs["seen"]), ":")[0] {
					t.Errorf("%d workers, line %d: inputs %v beside outputs %v", workers, r.Input.Line, inputs, r.Outputs)
				}
				got[r.Input.Line-1] = fmt.Sprint(r.Outputs["seen"])
			}})
		if err != nil {
			t.Fatal(err)
		}
		if g := strings.Join(got, "\n") + "\n"; g != want.String() {
			t.Errorf("%d workers: got\n%s\nwant\n%s", workers, g, want.String())
		}
	}
}
