package temporal

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/failure"
)

// Address is the server address: addr, else TEMPORAL_ADDRESS, else DefaultAddress.
func Address(addr string) string {
	if addr != "" {
		return addr
	}
	if a := os.Getenv("TEMPORAL_ADDRESS"); a != "" {
		return a
	}
	return DefaultAddress
}

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
