package nodes

import (
	"context"
	"fmt"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/failure"
	"github.com/archflow/archflow/engine/trace"
	"github.com/archflow/archflow/engine/transport"
)

// MaxRedirects is how many redirects one attempt follows (SPEC §11).
const MaxRedirects = transport.MaxSameOriginRedirects

// credentialHeaders are dropped from a request that follows a redirect to another origin, with
// every header whose value holds a secret.
var credentialHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie"}

// sendFollowing sends req and follows the redirects SPEC §11 allows: same-origin ones, and with
// follow_redirects: true cross-origin ones, without credentials. Every hop goes through send, so
// it is traced and counted. It returns the last response, the request that got it, and a
// redirect that was not followed as a failure (nil when there is none).
func (d *dataAction) sendFollowing(ctx context.Context, in *engine.Instance, req *transport.Request) (*transport.Response, *transport.Request, *failure.ErrorInfo, error) {
	for hops := 0; ; hops++ {
		resp, err := d.send(ctx, in, req)
		if err != nil || !transport.IsRedirect(resp.Status) {
			return resp, req, nil, err
		}
		loc := resp.Header.Get("Location")
		if loc == "" {
			return resp, req, nil, nil // a 3xx without a Location is an ordinary status
		}
		next, why := d.redirect(in, req, resp.Status, loc)
		if why == "" && hops >= MaxRedirects {
			why = fmt.Sprintf("more than %d redirects", MaxRedirects)
		}
		if why != "" {
			return resp, req, &failure.ErrorInfo{Class: failure.Permanent, Kind: failure.KindHTTP, Status: resp.Status, Node: d.name,
				Message: fmt.Sprintf("HTTP %d redirect to %s not followed: %s", resp.Status, in.Redactor().String(loc), why)}, nil
		}
		if in.Tracing() { // the hop's own response: the final one is traced by finish
			s := resp.Status
			in.Emit(&trace.Event{Node: d.name, Kind: "data_action", Event: "response", Action: req.Action, Attempt: req.Attempt,
				Method: req.Method, URL: req.URL, Status: &s, Headers: in.Redactor().RedactHeaders(resp.Header), Outcome: "redirect"})
		}
		req = next
	}
}

// redirect builds the request that follows a redirect, or says why it is not followed.
func (d *dataAction) redirect(in *engine.Instance, req *transport.Request, status int, loc string) (*transport.Request, string) {
	next, from, to, err := transport.Redirected(req, status, loc)
	if err != nil {
		return nil, err.Error()
	}
	if transport.SameOrigin(from, to) {
		return next, ""
	}
	if !d.action.FollowRedirects {
		return nil, "another origin (set follow_redirects: true on the action to follow it)"
	}
	if len(next.Body) > 0 {
		return nil, fmt.Sprintf("a %d to another origin would re-send the request body there", status)
	}
	for _, h := range credentialHeaders {
		next.Header.Del(h)
	}
	red := in.Redactor()
	for k, vs := range next.Header {
		for _, v := range vs {
			if red.Sensitive(v) { // holds a secret: an api_key header, a secret() value
				next.Header.Del(k)
				break
			}
		}
	}
	return next, ""
}
