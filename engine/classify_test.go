package engine_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/clock"
	"github.com/archflow/archflow/engine/failure"
	"github.com/archflow/archflow/engine/transport"
)

// These tests follow SPEC §3 "Data action outcome": transient failures are worth retrying,
// permanent ones are escalated.

func TestClassifyStatus(t *testing.T) {
	t.Parallel()
	cases := []struct {
		status int
		want   string
	}{
		{408, failure.Transient}, // Request Timeout
		{425, failure.Transient}, // Too Early
		{429, failure.Transient}, // Too Many Requests
		{500, failure.Transient}, // Internal Server Error
		{502, failure.Transient}, // Bad Gateway
		{503, failure.Transient}, // Service Unavailable
		{504, failure.Transient}, // Gateway Timeout
		{400, failure.Permanent}, // Bad Request
		{401, failure.Permanent}, // Unauthorized
		{403, failure.Permanent}, // Forbidden
		{404, failure.Permanent}, // Not Found
		{409, failure.Permanent}, // Conflict
		{410, failure.Permanent}, // Gone
		{422, failure.Permanent}, // Unprocessable Entity
		{501, failure.Permanent}, // Not Implemented
		{505, failure.Permanent}, // HTTP Version Not Supported
		{511, failure.Permanent}, // Network Authentication Required
		{302, failure.Permanent}, // a redirect that was not followed
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			if got := failure.ClassifyStatus(tc.status, nil); got != tc.want {
				t.Errorf("ClassifyStatus(%d) = %s, want %s", tc.status, got, tc.want)
			}
		})
	}
}

// An action's transient_statuses replaces the default list: what it names is transient, and
// nothing else is.
func TestClassifyStatusCustomList(t *testing.T) {
	t.Parallel()
	custom := []int{409, 503}
	cases := []struct {
		status int
		want   string
	}{
		{409, failure.Transient},
		{503, failure.Transient},
		{429, failure.Permanent},
		{500, failure.Permanent},
		{404, failure.Permanent},
	}
	for _, tc := range cases {
		if got := failure.ClassifyStatus(tc.status, custom); got != tc.want {
			t.Errorf("ClassifyStatus(%d, %v) = %s, want %s", tc.status, custom, got, tc.want)
		}
	}
	if got := failure.ClassifyStatus(503, []int{}); got != failure.Permanent {
		t.Errorf("an empty transient_statuses list makes 503 %s, want permanent", got)
	}
}

func TestClassifyFailure(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name         string
		kind         string
		status       int
		transientNet bool
		transient    []int
		want         string
	}{
		{"timeout", failure.KindTimeout, 0, false, nil, failure.Transient},
		{"timeout with a custom list", failure.KindTimeout, 0, false, []int{409}, failure.Transient},
		{"connection refused or reset", failure.KindNetwork, 0, true, nil, failure.Transient},
		{"unknown host or TLS", failure.KindNetwork, 0, false, nil, failure.Permanent},
		{"http 503", failure.KindHTTP, 503, false, nil, failure.Transient},
		{"http 404", failure.KindHTTP, 404, false, nil, failure.Permanent},
		{"http 409 listed transient", failure.KindHTTP, 409, false, []int{409}, failure.Transient},
		{"http 503 not listed", failure.KindHTTP, 503, false, []int{409}, failure.Permanent},
		{"business (200 with success:false)", failure.KindBusiness, 200, false, nil, failure.Permanent},
		{"business even if the status were listed", failure.KindBusiness, 200, false, []int{200}, failure.Permanent},
		{"auth", failure.KindAuth, 401, false, nil, failure.Permanent},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := failure.ClassifyFailure(tc.kind, tc.status, tc.transientNet, tc.transient); got != tc.want {
				t.Errorf("ClassifyFailure(%s, %d, %v, %v) = %s, want %s", tc.kind, tc.status, tc.transientNet, tc.transient, got, tc.want)
			}
		})
	}
}

// classifyFlow calls one action and reports error.class and error.kind as outputs.
func classifyFlow(url, extra string) string {
	return fmt.Sprintf(`flow: classify
variables:
  class:  {type: string, output: true}
  kind:   {type: string, output: true}
  status_seen: {type: integer, output: true}
actions:
  push:
    method: POST
    url: "%s"
    timeout: 1s%s
start: call
nodes:
  call:
    data_action: push
    next: done
    on_failure: record
  record:
    assign: {class: "{{ error.class }}", kind: "{{ error.kind }}", status_seen: "{{ error.status }}"}
    next: failed
  done: {end: success}
  failed: {end: failure}
`, url, extra)
}

// What a flow sees in error after a real HTTP exchange.
func TestFailuresAreClassifiedForTheFlow(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		status int
		body   string
		extra  string // more action keys
		class  string // "" for success
		kind   string
	}{
		{"503 is transient", 503, "", "", "transient", "http"},
		{"429 is transient", 429, "", "", "transient", "http"},
		{"404 is permanent", 404, "", "", "permanent", "http"},
		{"501 is permanent", 501, "", "", "permanent", "http"},
		{"200 passes by default", 200, `{"success": false}`, "", "", ""},
		{"200 with success:false is a permanent business failure", 200, `{"success": false}`,
			"\n    success: status >= 200 && status <= 299 && body?.success != false", "permanent", "business"},
		{"200 with success:true", 200, `{"success": true}`,
			"\n    success: status >= 200 && status <= 299 && body?.success != false", "", ""},
		{"transient_statuses makes 409 transient", 409, "", "\n    transient_statuses: [409]", "transient", "http"},
		{"transient_statuses makes 503 permanent", 503, "", "\n    transient_statuses: [409]", "permanent", "http"},
		{"classify overrides the status", 503, `{"error_code": "INVALID_ORDER"}`,
			"\n    classify: 'body?.error_code == \"INVALID_ORDER\" ? \"permanent\" : error.class'", "permanent", "http"},
		{"classify may make a business failure transient", 200, `{"success": false, "error_code": "LOCKED"}`,
			"\n    success: body?.success != false\n    classify: 'body?.error_code == \"LOCKED\" ? \"transient\" : error.class'", "transient", "business"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			res := specRun(t, specLoad(t, classifyFlow(srv.URL, tc.extra)), nil)
			if tc.class == "" {
				if res.Outcome != "success" {
					t.Fatalf("outcome %s, error class %v kind %v; want success", res.Outcome, res.Outputs["class"], res.Outputs["kind"])
				}
				return
			}
			if res.Outcome != "failure" {
				t.Fatalf("outcome %s (error %+v), want failure", res.Outcome, res.Error)
			}
			if res.Outputs["class"] != tc.class || res.Outputs["kind"] != tc.kind || res.Outputs["status_seen"] != tc.status {
				t.Errorf("error.class %v, error.kind %v, error.status %v; want %s, %s, %d",
					res.Outputs["class"], res.Outputs["kind"], res.Outputs["status_seen"], tc.class, tc.kind, tc.status)
			}
		})
	}
}

// A refused connection is a transient network failure, with status 0.
func TestRefusedConnectionIsTransient(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	res := specRun(t, specLoad(t, classifyFlow("http://"+addr+"/orders", "")), nil)
	if res.Outputs["class"] != "transient" || res.Outputs["kind"] != "network" || res.Outputs["status_seen"] != 0 {
		t.Errorf("error.class %v, error.kind %v, error.status %v; want transient, network, 0",
			res.Outputs["class"], res.Outputs["kind"], res.Outputs["status_seen"])
	}
}

// failingTransport answers every request with one transport error.
type failingTransport struct{ err error }

func (f failingTransport) Do(context.Context, *transport.Request) (*transport.Response, error) {
	return nil, f.err
}

// Transport failures through the Transport seam: a timeout is transient, an unknown host permanent.
func TestTransportFailuresAreClassified(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		err   error
		class string
		kind  string
		path  string // node after call
	}{
		{"timeout", &transport.TransportError{Kind: failure.KindTimeout, Transient: true, Err: errors.New("no response within the timeout")}, "transient", "timeout", "record"},
		{"connection reset", &transport.TransportError{Kind: failure.KindNetwork, Transient: true, Err: errors.New("connection reset by peer")}, "transient", "network", "record"},
		{"unknown host", &transport.TransportError{Kind: "dns", Err: errors.New("unknown host erp.invalid")}, "permanent", "network", "record"},
		{"certificate", &transport.TransportError{Kind: "tls", Err: errors.New("x509: certificate signed by unknown authority")}, "permanent", "network", "record"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := specLoad(t, classifyFlow("http://127.0.0.1:1/orders", ""))
			res := f.Run(context.Background(), nil, &engine.Options{
				Clock:     func() clock.Clock { return clock.NewVirtualClock(specStart) },
				Transport: failingTransport{tc.err},
			})
			if res.Outcome != "failure" || len(res.Path) < 2 || res.Path[1] != tc.path {
				t.Fatalf("outcome %s, path %v; want failure via %s", res.Outcome, res.Path, tc.path)
			}
			if res.Outputs["class"] != tc.class || res.Outputs["kind"] != tc.kind {
				t.Errorf("error.class %v, error.kind %v; want %s, %s", res.Outputs["class"], res.Outputs["kind"], tc.class, tc.kind)
			}
		})
	}
}
