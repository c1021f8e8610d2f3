package nodes_test

import (
	"net/http"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/archflow/archflow/engine"
)

// TestSelfHealingRetryMatchesExplicitLoop runs flows/self-healing.yaml (the hand-built loop) and
// flows/self-healing-retry.yaml (the retry: shorthand) against the same scripted API and checks
// that a user sees the same thing: requests, waits, outcome, outputs and notifications.
func TestSelfHealingRetryMatchesExplicitLoop(t *testing.T) {
	t.Parallel()
	unavailable := reply{status: 503, body: `{"success":false,"error_code":"SERVICE_UNAVAILABLE","message":"try later"}`}
	success := reply{status: 200, body: `{"success":true}`}
	tests := []struct {
		name    string
		replies []reply
		outcome string
		waits   []float64
	}{
		{"503, 503, 200", []reply{unavailable, unavailable, success}, "success", seconds(30, 60)},
		{"503 forever", []reply{unavailable}, "escalated", seconds(30, 60, 120)},
		{"429 with Retry-After: 7", []reply{{status: 429, header: map[string]string{"Retry-After": "7"}}, success}, "success", seconds(7)},
		{"429 with Retry-After above the cap", []reply{{status: 429, header: map[string]string{"Retry-After": "3600"}}, success}, "success", seconds(900)},
		{"Retry-After as an HTTP date", []reply{{status: 503, header: map[string]string{"Retry-After": clockStart.Add(2 * time.Minute).Format(http.TimeFormat)}}, success}, "success", seconds(120)},
		{"Retry-After in the middle of the schedule", []reply{unavailable, {status: 429, header: map[string]string{"Retry-After": "7"}}, unavailable, success}, "success", seconds(30, 7, 120)},
		{"401", []reply{{status: 401, body: `{"error_code":"UNAUTHORIZED","message":"bad token"}`}, success}, "escalated", seconds()},
		{"200 success:false", []reply{{status: 200, body: `{"success":false,"error_code":"DUPLICATE","message":"order exists"}`}, success}, "escalated", seconds()},
		{"404 after a 503", []reply{unavailable, {status: 404, body: `{"message":"no such order"}`}}, "escalated", seconds(30)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			type seenRun struct {
				res  *engine.Result
				reqs []seen
			}
			var runs []seenRun
			for _, flow := range []string{"../flows/self-healing.yaml", "../flows/self-healing-retry.yaml"} {
				a := newAPI(t, tt.replies...)
				r := runFlow(t, flow, map[string]string{"ERP_URL": a.URL}, map[string]any{"order_id": "A-1001", "amount": 42})
				runs = append(runs, seenRun{r.res, a.requests()})
				if r.res.Outcome != tt.outcome || !slices.Equal(r.res.Waits, tt.waits) {
					t.Errorf("%s: outcome %s, waits %v; want %s, %v (path %v)", flow, r.res.Outcome, r.res.Waits, tt.outcome, tt.waits, r.res.Path)
				}
			}
			explicit, shorthand := runs[0], runs[1]
			if !reflect.DeepEqual(explicit.reqs, shorthand.reqs) {
				t.Errorf("requests differ:\nexplicit:  %+v\nshorthand: %+v", explicit.reqs, shorthand.reqs)
			}
			for i, q := range explicit.reqs {
				if q.IdempotencyKey == "" || q.IdempotencyKey != explicit.reqs[0].IdempotencyKey {
					t.Errorf("request %d: Idempotency-Key %q, first was %q", i+1, q.IdempotencyKey, explicit.reqs[0].IdempotencyKey)
				}
			}
			if !reflect.DeepEqual(explicit.res.Calls, shorthand.res.Calls) {
				t.Errorf("calls differ: explicit %v, shorthand %v", explicit.res.Calls, shorthand.res.Calls)
			}
			if !reflect.DeepEqual(explicit.res.Outputs, shorthand.res.Outputs) {
				t.Errorf("outputs differ: explicit %v, shorthand %v", explicit.res.Outputs, shorthand.res.Outputs)
			}
			if explicit.res.Ended.Sub(explicit.res.Started) != shorthand.res.Ended.Sub(shorthand.res.Started) {
				t.Errorf("instance clock: explicit took %s, shorthand %s", explicit.res.Ended.Sub(explicit.res.Started), shorthand.res.Ended.Sub(shorthand.res.Started))
			}
			en, sn := explicit.res.Notifications, shorthand.res.Notifications
			if len(en) != len(sn) {
				t.Fatalf("notifications: explicit %d, shorthand %d", len(en), len(sn))
			}
			for i := range en {
				if en[i].Channel != sn[i].Channel || en[i].Subject != sn[i].Subject || en[i].Body != sn[i].Body || !en[i].Time.Equal(sn[i].Time) {
					t.Errorf("notification %d differs:\nexplicit:  %s %q %q %s\nshorthand: %s %q %q %s", i+1,
						en[i].Channel, en[i].Subject, en[i].Body, en[i].Time, sn[i].Channel, sn[i].Subject, sn[i].Body, sn[i].Time)
				}
			}
		})
	}
}
