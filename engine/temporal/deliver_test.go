package temporal_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/clock"
	archtemporal "github.com/archflow/archflow/engine/temporal"
)

// Notifications are delivered by an activity on the worker, which resolves the channel's
// settings there; a refused delivery takes on_failure, as in process.
func TestNotificationsAreDeliveredByActivities(t *testing.T) {
	t.Parallel()
	f, _ := load(t, "testdata/notify.yaml")
	chat := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	defer chat.Close()
	dead := filepath.Join(t.TempDir(), "dead.jsonl")
	env := engine.EnvChain(map[string]string{"DEAD_LETTER": dead, "CHAT_URL": chat.URL})
	res := archtemporal.TestRun(t.Context(), f, map[string]any{"order_id": "N-1"}, &engine.Options{
		Clock: func() clock.Clock { return clock.NewVirtualClock(t0) }, Env: env})
	if res.Outcome != "chat_down" || strings.Join(res.Path, ",") != "dead,chat,undelivered" {
		t.Fatalf("outcome %s path %v error %v", res.Outcome, res.Path, res.Error)
	}
	b, err := os.ReadFile(dead)
	if err != nil || !strings.Contains(string(b), `"subject":"order N-1 failed"`) || !strings.Contains(string(b), res.Instance) {
		t.Fatalf("dead letter %q %v", b, err)
	}
	if len(res.Notifications) != 1 || res.Notifications[0].Channel != "chat" || !strings.Contains(res.Notifications[0].Error, "503") {
		t.Fatalf("kept notifications %+v, want the undelivered chat message with its error", res.Notifications)
	}
	local := f.Run(t.Context(), map[string]any{"order_id": "N-1"}, &engine.Options{
		Clock: func() clock.Clock { return clock.NewVirtualClock(t0) }, Env: env})
	if local.Outcome != res.Outcome || len(local.Notifications) != 1 || local.Notifications[0].Error != res.Notifications[0].Error {
		t.Errorf("in process: outcome %s, notifications %+v", local.Outcome, local.Notifications)
	}
}
