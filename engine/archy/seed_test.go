package archy_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/archy"
	"github.com/archflow/archflow/engine/archy/dataaction"
	"github.com/archflow/archflow/engine/clock"
	"github.com/archflow/archflow/engine/transport"
	"github.com/archflow/archflow/nodes"
)

// The seed pattern written as an Architect workflow, imported, and run against a real HTTP server
// on loopback with a virtual clock: the same calls and waits as flows/self-healing.yaml.
func TestSeedRetryAgainstHTTPServer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		statuses []int // answers in order; the last repeats
		calls    int32
		reason   string
		waits    []float64
	}{
		{"503, 503, 200", []int{503, 503, 200}, 3, "delivered R-1", []float64{30, 60}},
		{"503 forever", []int{503}, 4, "GaveUp", []float64{30, 60, 120}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var n atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				i := int(n.Add(1)) - 1
				if r.Method != http.MethodPost || r.URL.Path != "/orders/A-7" || r.URL.Query().Get("source") != "archy import" {
					t.Errorf("request %s %s", r.Method, r.URL)
				}
				st := tt.statuses[min(i, len(tt.statuses)-1)]
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(st)
				if st == 200 {
					w.Write([]byte(`{"status": "accepted", "confirmation": {"ref": "R-1"}}`))
				} else {
					w.Write([]byte(`{"code": "SERVICE_UNAVAILABLE"}`))
				}
			}))
			defer srv.Close()

			// the export, pointed at the server
			raw, err := os.ReadFile(filepath.Join(dir, "actions", "Push-Order.custom.json"))
			if err != nil {
				t.Fatal(err)
			}
			x, probs := dataaction.Parse("Push-Order.custom.json", []byte(strings.ReplaceAll(string(raw), "https://erp.example.com", srv.URL)))
			if len(probs) > 0 {
				t.Fatal(probs)
			}
			src := filepath.Join(dir, "retry.workflow.yaml")
			data, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			res, diags := archy.Import(src, data, archy.Options{Exports: []*dataaction.Export{x},
				Set: map[string]string{"flow_name": "Push-Order", "integration": "ERP", "push_order": "Push Order"}})
			if len(diags) > 0 {
				t.Fatal(diags)
			}
			f, err := nodes.Builtins().Load("retry.flow.yaml", res.YAML)
			if err != nil {
				t.Fatal(err)
			}
			in, err := f.Inputs(map[string]any{"orderId": "A-7"})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
			r := f.Run(context.Background(), in, &engine.Options{
				Clock:     func() clock.Clock { return clock.NewVirtualClock(start) },
				Transport: transport.NewHTTPTransport(),
				Channels:  engine.Capture{},
			})
			if r.Outcome != "success" {
				t.Fatalf("outcome %s: %v", r.Outcome, r.Error)
			}
			if got := n.Load(); got != tt.calls {
				t.Errorf("server saw %d calls, want %d", got, tt.calls)
			}
			if got := r.Outputs[archy.ExitReason]; got != tt.reason {
				t.Errorf("exit_reason = %v, want %q", got, tt.reason)
			}
			if len(r.Waits) != len(tt.waits) {
				t.Fatalf("waits %v, want %v", r.Waits, tt.waits)
			}
			for i, w := range tt.waits {
				if r.Waits[i] != w {
					t.Errorf("wait %d = %vs, want %vs", i+1, r.Waits[i], w)
				}
			}
		})
	}
}
