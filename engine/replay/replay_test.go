package replay_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/cassette"
	"github.com/archflow/archflow/engine/clock"
	"github.com/archflow/archflow/engine/replay"
	"github.com/archflow/archflow/engine/scripted"
	"github.com/archflow/archflow/engine/trace"
	"github.com/archflow/archflow/nodes"
)

const flowText = `flow: r
variables:
  id:   {type: string, input: true, required: true}
  n:    {type: integer, default: 0}
  code: {type: integer, output: true}
actions:
  push:
    method: POST
    url: "http://127.0.0.1:1/orders/{{ id }}"
    body: {id: "{{ id }}", n: "{{ n }}"}
    outputs: {code: status}
start: call
nodes:
  call: {data_action: push, next: done, on_failure: count}
  count: {assign: {n: "{{ n + 1 }}"}, next: check}
  check:
    decision:
      - {when: n >= 3, next: failed}
    default: pause
  pause: {wait: 20s, next: call}
  done: {end: success}
  failed: {end: escalated}
`

func load(t *testing.T, text string) *engine.Flow {
	t.Helper()
	f, err := nodes.Builtins().Load("r.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// record runs the flow against scripted responses and records it; cancelAt, when set, cancels
// the run on entering that node for the second time (an interrupted instance).
func record(t *testing.T, flow *engine.Flow, script, cancelAt string) *cassette.Cassette {
	t.Helper()
	p := filepath.Join(t.TempDir(), "mock.yaml")
	os.WriteFile(p, []byte(script), 0o600)
	m, err := scripted.LoadMock(p)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	visits := 0
	rec := cassette.NewRecorder(m.Transport())
	opts := rec.Options(&engine.Options{Stderr: io.Discard, Clock: func() clock.Clock { return clock.NewVirtualClock(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)) },
		Tracer: trace.TraceFunc(func(e *trace.Event) {
			if e.Event == "enter" && e.Node == cancelAt {
				if visits++; visits == 2 {
					cancel()
				}
			}
		})})
	in, _ := flow.Inputs(map[string]any{"id": "A-1"})
	return rec.Cassette(flow.Run(ctx, in, opts))
}

func run(t *testing.T, flow *engine.Flow, c *cassette.Cassette) *replay.Report {
	t.Helper()
	rep, err := replay.Run(context.Background(), flow, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// Each kind of difference is reported at its step, recorded against now.
func TestDifferences(t *testing.T) {
	t.Parallel()
	flow := load(t, flowText)
	c := record(t, flow, `push: [{status: 503}, {status: 200}]`, "")
	if rep := run(t, flow, c); !rep.Same || rep.Text() != "same path (6 steps)" {
		t.Fatalf("unedited: %s", rep.Text())
	}
	for _, e := range []struct{ name, from, to, want string }{
		{"wait", "wait: 20s", "wait: 25s", "diverged at step 4 (pause): wait differs\n  recorded: 20s\n  now:      25s"},
		{"path", "n >= 3", "n >= 1", "diverged at step 4 (failed): path differs\n  recorded: pause\n  now:      failed"},
		{"request url", "/orders/{{ id }}", "/order/{{ id }}", "diverged at step 1 (call): request differs\n  recorded: push POST http://127.0.0.1:1/orders/A-1"},
		{"request body", `n: "{{ n }}"`, `n: "{{ n * 2 }}"`, "diverged at step 5 (call): request differs"},
		{"outputs", "outputs: {code: status}", "outputs: {code: status + 1}", "diverged at step 6 (done): outputs differs\n  recorded: code=200\n  now:      code=201"},
		{"outcome", "done: {end: success}", "done: {end: finished}", "diverged at step 6 (done): outcome differs\n  recorded: success\n  now:      finished"},
	} {
		edited := strings.Replace(flowText, e.from, e.to, 1)
		rep := run(t, load(t, edited), c)
		if rep.Same || !strings.HasPrefix(rep.Text(), e.want) {
			t.Errorf("%s: %s\nwant %s", e.name, rep.Text(), e.want)
		}
	}
}

// A recording of an interrupted instance replays up to where it stopped.
func TestInterruptedRecording(t *testing.T) {
	t.Parallel()
	flow := load(t, flowText)
	c := record(t, flow, `push: [{status: 503}, {status: 503}, {status: 200}]`, "pause")
	if c.Result.Outcome != engine.OutcomeInterrupted {
		t.Fatalf("recorded outcome %s", c.Result.Outcome)
	}
	rep := run(t, flow, c)
	if !rep.Same || rep.Result.Outcome != engine.OutcomeInterrupted || rep.Steps != len(c.Result.Path) {
		t.Errorf("%s, outcome %s, %d steps, recorded %v", rep.Text(), rep.Result.Outcome, rep.Steps, c.Result.Path)
	}
}

const notifyFlow = `flow: n
variables:
  id: {type: string, input: true, required: true}
actions:
  push: {method: POST, url: "http://127.0.0.1:1/x", body: {id: "{{ id }}"}}
channels:
  a: {type: log}
  b: {type: log}
start: call
nodes:
  call: {data_action: push, next: done, on_failure: tell}
  tell: {notify: {channel: a, subject: "failed {{ id }}"}, next: failed}
  done: {end: success}
  failed: {end: escalated}
`

// A notification to another channel is a difference at its step; the unedited flow delivers
// nothing on replay and takes the same path.
func TestNotificationDifference(t *testing.T) {
	t.Parallel()
	flow := load(t, notifyFlow)
	c := record(t, flow, `push: [{status: 404}]`, "")
	rep := run(t, flow, c)
	if !rep.Same || len(rep.Result.Notifications) != 1 {
		t.Fatalf("unedited: %s, %d notifications kept", rep.Text(), len(rep.Result.Notifications))
	}
	rep = run(t, load(t, strings.Replace(notifyFlow, "channel: a", "channel: b", 1)), c)
	if want := "diverged at step 2 (tell): notification differs\n  recorded: notify a\n  now:      notify b"; rep.Text() != want {
		t.Errorf("%s\nwant %s", rep.Text(), want)
	}
}
