package temporal_test

import (
	"log/slog"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	archtemporal "github.com/archflow/archflow/engine/temporal"
)

// Histories recorded on a real server replay with the current workflow code: an archflow upgrade
// never breaks instances already waiting (SPEC §10). testdata/history-e2e.json is an instance of
// testdata/e2e.yaml (OAuth, a 503 with Retry-After, a durable wait, success), recorded by
// cmd/archflow/cli's TestTemporalEndToEnd with ARCHFLOW_UPDATE_HISTORY=1. Keep the histories of
// earlier releases beside it: a change of the workflow code must go behind workflow.GetVersion.
func TestReplayRecordedHistories(t *testing.T) {
	t.Parallel()
	f, src := load(t, "testdata/e2e.yaml")
	r := worker.NewWorkflowReplayer()
	w := &archtemporal.Workflow{Flows: archtemporal.Fixed{F: f, Hash: archtemporal.Hash(src)}}
	archtemporal.Register(replayRegistrar{r}, w, &archtemporal.Activities{})
	logger := log.NewStructuredLogger(slog.New(slog.DiscardHandler))
	if err := r.ReplayWorkflowHistoryFromJSONFile(logger, "testdata/history-e2e.json"); err != nil {
		t.Fatal(err)
	}
}

// replayRegistrar registers workflows on a replayer; it has no activities to run.
type replayRegistrar struct{ worker.WorkflowReplayer }

func (replayRegistrar) RegisterActivityWithOptions(any, activity.RegisterOptions) {}
