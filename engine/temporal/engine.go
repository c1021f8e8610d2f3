package temporal

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/worker"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/durable"
	"github.com/archflow/archflow/engine/yamldoc"
)

// Engine is the Temporal engine behind the command line's durable.Engine.
type Engine struct{}

var _ durable.Engine = Engine{}

// RunBatch dials the server and runs b with a Starter.
func (Engine) RunBatch(ctx context.Context, at durable.Server, b durable.Batch, report func(*engine.Result, map[string]any)) (int, error) {
	c, err := Dial(ctx, at.Address, at.Namespace)
	if err != nil {
		return len(b.Inputs), &durable.Unreachable{Address: Address(at.Address), Err: err}
	}
	defer c.Close()
	st := &Starter{Client: c, TaskQueue: at.TaskQueue, Flow: b.Flow, Source: b.Source, MaxSteps: b.MaxSteps}
	return st.RunBatch(ctx, b.Inputs, BatchOptions{Concurrency: b.Concurrency, Keys: b.Keys, Detach: b.Detach}, report)
}

// Serve loads the flows of w, dials the server and runs a worker on at's task queue until stop
// is closed.
func (Engine) Serve(at durable.Server, w durable.Worker, stop <-chan any) error {
	reg := NewServed(w.Components, w.StateDir)
	if err := reg.Load(w.Paths); err != nil {
		if _, ok := yamldoc.AsList(err); ok {
			return err
		}
		return &durable.Invalid{Err: err}
	}
	c, err := Dial(context.Background(), at.Address, at.Namespace)
	if err != nil {
		return &durable.Unreachable{Address: Address(at.Address), Err: err}
	}
	defer c.Close()
	wfl := &Workflow{Flows: reg, HistoryLimit: w.HistoryLimit, Tracer: w.Tracer, Record: w.Record}
	acts := &Activities{Flows: reg, Env: w.Env, Tracer: w.Tracer, Record: w.Record}
	queue := at.TaskQueue
	if queue == "" {
		queue = DefaultTaskQueue
	}
	wk := worker.New(c, queue, worker.Options{})
	Register(wk, wfl, acts)
	fmt.Fprintf(w.Stderr, "archflow worker: serving %v on task queue %s at %s (Ctrl-C stops)\n",
		reg.Names(), queue, Address(at.Address))
	if err := wk.Run(stop); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	return nil
}

// Cancel dials the server and cancels the workflows of ids.
func (Engine) Cancel(ctx context.Context, at durable.Server, ids []string) ([]string, error) {
	c, err := Dial(ctx, at.Address, at.Namespace)
	if err != nil {
		return nil, &durable.Unreachable{Address: Address(at.Address), Err: err}
	}
	defer c.Close()
	return Cancel(ctx, c, ids)
}

// TestRun runs one test case on Temporal's in-process test environment.
func (Engine) TestRun(ctx context.Context, f *engine.Flow, inputs map[string]any, opts *engine.Options) *engine.Result {
	return TestRun(ctx, f, inputs, opts)
}
