package temporal_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/cassette"
	"github.com/archflow/archflow/engine/replay"
	archtemporal "github.com/archflow/archflow/engine/temporal"
)

// worker --record: the deliveries made by activities become notify.<channel> interactions with
// their result, joined at the instance's end into a cassette that replays to the same path.
func TestRecordingWorkerWritesACassette(t *testing.T) {
	t.Parallel()
	f, src := load(t, "testdata/notify.yaml")
	chat := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	defer chat.Close()
	dir := t.TempDir()
	rec := filepath.Join(dir, "cassettes")
	env := engine.EnvChain(map[string]string{"DEAD_LETTER": filepath.Join(dir, "dead.jsonl"), "CHAT_URL": chat.URL})
	flows := archtemporal.Fixed{F: f, Hash: archtemporal.Hash(src)}
	tenv := newEnvWith(t, &archtemporal.Workflow{Flows: flows, Record: rec}, &archtemporal.Activities{Flows: flows, Env: env, Record: rec})
	tenv.ExecuteWorkflow(archtemporal.WorkflowName, archtemporal.Input{Flow: f.Name, Hash: flows.Hash, Source: string(src),
		Instance: "r-1", Inputs: engine.Values{"order_id": "N-1"}})
	var res engine.Result
	if err := tenv.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(rec, "r-1"+cassette.Suffix)
	c, errs := cassette.ReadFile(file)
	if c == nil {
		t.Fatalf("cassette: %v", errs)
	}
	var got []string
	for _, it := range c.Interactions {
		s := it.Action + " " + it.Result
		if it.Response != nil {
			s += " " + http.StatusText(it.Response.Status)
		}
		got = append(got, s)
	}
	want := "notify.deadletter delivered, notify.chat failed Service Unavailable"
	if strings.Join(got, ", ") != want || c.Result == nil || c.Result.Outcome != "chat_down" {
		data, _ := os.ReadFile(file)
		t.Fatalf("interactions %q, want %q; result %+v\n%s", got, want, c.Result, data)
	}
	if _, err := os.Stat(filepath.Join(rec, ".parts", "r-1")); !os.IsNotExist(err) {
		t.Errorf("the parts are still there: %v", err)
	}
	rep, err := replay.Run(t.Context(), f, c, &replay.Options{Env: env})
	if err != nil || !rep.Same {
		t.Fatalf("replay: %v %+v", err, rep)
	}
}
