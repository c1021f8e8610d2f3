package nodes_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
)

func TestRetryFollowsActionOverrides(t *testing.T) {
	t.Parallel()
	conflict := reply{status: 409, body: `{"code":"LOCKED"}`}
	internal := reply{status: 500, body: `{"code":"BUG"}`}
	batch := reply{status: 500, body: `{"code":"LOCKED_BY_BATCH"}`}
	tests := []struct {
		name     string
		replies  []reply
		requests int
		outcome  string
		class    any
	}{
		{"409 is transient for this action", []reply{conflict, conflict, ok200}, 3, "success", nil},
		{"500 is permanent for this action", []reply{internal, ok200}, 1, "failure", "permanent"},
		{"classify makes a 500 transient by its body", []reply{batch, ok200}, 2, "success", nil},
		{"retries exhausted keep the class", []reply{conflict}, 3, "failure", "transient"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAPI(t, tt.replies...)
			r := runFlow(t, retryDir+"overrides.yaml", map[string]string{"API_URL": a.URL}, nil)
			if n := len(a.requests()); n != tt.requests || r.res.Outcome != tt.outcome || r.res.Outputs["err_class"] != tt.class {
				t.Errorf("%d requests, outcome %s, error.class %v; want %d, %s, %v", n, r.res.Outcome, r.res.Outputs["err_class"], tt.requests, tt.outcome, tt.class)
			}
		})
	}
}

func TestQueryParametersEncoded(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []*url.URL
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.URL)
		mu.Unlock()
		w.WriteHeader(503)
	}))
	defer srv.Close()
	query := "a b&c=d/e?#x"
	runFlow(t, retryDir+"overrides.yaml", map[string]string{"API_URL": srv.URL}, map[string]any{"query": query})
	if len(got) != 3 {
		t.Fatalf("%d requests, want 3", len(got))
	}
	for i, u := range got {
		q := u.Query()
		if u.Path != "/orders/lock" || q.Get("q") != query || q.Get("tag") != "ü & ö" || q.Get("source") != "archflow" || len(q) != 3 {
			t.Errorf("request %d: path %s, query %v; want q=%q, tag=%q and the url's own source=archflow", i+1, u.Path, q, query, "ü & ö")
		}
	}
}
