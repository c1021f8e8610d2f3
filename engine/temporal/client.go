package temporal

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/durable"
	"github.com/archflow/archflow/engine/failure"
	"github.com/google/uuid"
)

// Address is the server address: addr, else TEMPORAL_ADDRESS, else DefaultAddress.
func Address(addr string) string { return durable.Address(addr) }

// Logger is the SDK's logger for archflow: warnings and errors only, to stderr.
func Logger() log.Logger {
	return log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
}

// Dial connects to a Temporal server.
func Dial(ctx context.Context, addr, namespace string) (client.Client, error) {
	if namespace == "" {
		namespace = DefaultNamespace
	}
	return client.DialContext(ctx, client.Options{HostPort: Address(addr), Namespace: namespace, Logger: Logger()})
}

// Starter starts instances of one flow version.
type Starter struct {
	Client    client.Client
	TaskQueue string
	Flow      *engine.Flow
	Source    []byte
	MaxSteps  int
}

// WorkflowID is the id of an instance's workflow: <flow>/<key>, the key being the instance id or
// the value of the --id-from variable.
func WorkflowID(flow, key string) string { return flow + "/" + key }

// Start starts an instance, or attaches to the workflow of that id when it is running or
// finished (so a batch run again reports results instead of running them again).
func (s *Starter) Start(ctx context.Context, workflowID, instance string, inputs map[string]any) (client.WorkflowRun, error) {
	q := s.TaskQueue
	if q == "" {
		q = DefaultTaskQueue
	}
	opts := client.StartWorkflowOptions{
		ID:                       workflowID,
		TaskQueue:                q,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		Memo:                     map[string]any{"archflow_version": Version, "flow": s.Flow.Name},
	}
	in := Input{Flow: s.Flow.Name, Hash: Hash(s.Source), Source: string(s.Source), Instance: instance,
		Inputs: engine.Values(inputs), MaxSteps: s.MaxSteps, Version: Version}
	run, err := s.Client.ExecuteWorkflow(ctx, opts, WorkflowName, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return s.Client.GetWorkflow(ctx, workflowID, ""), nil
	}
	return run, err
}

// Wait waits for an instance's result. A workflow that failed (refused by every worker, an
// invalid input) gives a result with outcome error; one cancelled before it could answer, a
// result with outcome interrupted.
func Wait(ctx context.Context, run client.WorkflowRun, f *engine.Flow, instance string) (*engine.Result, error) {
	var res engine.Result
	err := run.Get(ctx, &res)
	if err == nil {
		Retype(f, &res)
		return &res, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	var ce *temporal.CanceledError
	if errors.As(err, &ce) {
		r := notStarted(f, instance)
		r.Outcome = engine.OutcomeInterrupted
		return r, nil
	}
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		err = errors.New(ae.Message())
	}
	return failed(f, instance, time.Time{}, err), nil
}

// Running is the result line of an instance still running when the client stopped waiting.
func Running(f *engine.Flow, instance, workflowID string) *engine.Result {
	r := notStarted(f, instance)
	r.Outcome = "running"
	r.Error = &failure.ErrorInfo{Kind: "running", Message: "still running on Temporal as workflow " + workflowID +
		" (archflow cancel " + workflowID + " stops it)"}
	return r
}

// Cancel cancels the workflows of ids; it reports the ids that are unknown.
func Cancel(ctx context.Context, c client.Client, ids []string) (unknown []string, err error) {
	for _, id := range ids {
		if e := c.CancelWorkflow(ctx, id, ""); e != nil {
			var nf *serviceerror.NotFound
			if errors.As(e, &nf) {
				unknown = append(unknown, id)
				continue
			}
			return unknown, e
		}
	}
	return unknown, nil
}

// BatchOptions shape RunBatch.
type BatchOptions struct {
	// Concurrency bounds how many workflows are being started at once.
	Concurrency int
	// Keys are the instances' --id-from keys ("" for the instance id), one per input.
	Keys []string
	// Detach returns once every instance has started: their results read "running".
	Detach bool
}

// RunBatch starts one instance per input (attaching to those whose workflow id exists), then,
// unless detached, waits for each and reports its result as it ends; report is called one at a
// time. A cancelled ctx stops the starts and the waiting: every started instance not yet ended
// is reported "running" (it goes on on Temporal). It returns how many inputs were never started
// and the first error that stopped the starts.
func (s *Starter) RunBatch(ctx context.Context, inputs []map[string]any, o BatchOptions,
	report func(r *engine.Result, inputs map[string]any)) (notStarted int, startErr error) {
	type started struct {
		run                  client.WorkflowRun
		instance, workflowID string
	}
	runs := make([]*started, len(inputs))
	var mu sync.Mutex
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(max(o.Concurrency, 1), len(inputs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				instance := uuid.NewString()
				key := instance
				if i < len(o.Keys) && o.Keys[i] != "" {
					key = o.Keys[i]
				}
				id := WorkflowID(s.Flow.Name, key)
				run, err := s.Start(ctx, id, instance, inputs[i])
				mu.Lock()
				if err != nil && startErr == nil && ctx.Err() == nil {
					startErr = err
				} else if err == nil {
					runs[i] = &started{run: run, instance: instance, workflowID: id}
				}
				mu.Unlock()
			}
		}()
	}
	for i := range inputs {
		if ctx.Err() != nil || startErr != nil {
			break
		}
		work <- i
	}
	close(work)
	wg.Wait()
	var wwg sync.WaitGroup
	for i, st := range runs {
		if st == nil {
			notStarted++
			continue
		}
		if o.Detach {
			report(Running(s.Flow, st.instance, st.workflowID), inputs[i])
			continue
		}
		wwg.Add(1)
		go func() {
			defer wwg.Done()
			r, err := Wait(ctx, st.run, s.Flow, st.instance)
			if err != nil { // Ctrl-C: stop waiting; the instance goes on
				r = Running(s.Flow, st.instance, st.workflowID)
			}
			mu.Lock()
			defer mu.Unlock()
			report(r, inputs[i])
		}()
	}
	wwg.Wait()
	return notStarted, startErr
}
