package nodes

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/archflow/archflow/engine"
	"gopkg.in/yaml.v3"
)

// dataAction sends an action's request and maps the response into variables. With a retry:
// policy it makes the attempts itself; without one, the flow's own loop does.
type dataAction struct {
	action    *engine.Action
	name      string
	next      *engine.Edge
	onFailure *engine.Edge
	onTimeout *engine.Edge
	retry     *retryPolicy
}

func init() {
	engine.RegisterKind(&engine.Kind{Name: "data_action", Keys: []string{"next", "on_failure", "on_timeout", "retry", "idempotency_key"}, Compile: compileDataAction})
}

func compileDataAction(c *engine.Compiler, n *engine.Node, spec *yaml.Node, keys map[string]*yaml.Node) engine.Step {
	d := &dataAction{name: n.Name, action: c.ActionRef(spec)}
	d.next = requireNext(c, n, keys)
	d.onFailure = c.Edge(n, "on_failure", keys["on_failure"])
	d.onTimeout = c.Edge(n, "on_timeout", keys["on_timeout"])
	if d.onFailure == nil && keys["on_failure"] == nil {
		c.Errorf(spec, "data_action node %s needs on_failure: (where a failed call goes)", n.Name)
	}
	if r := keys["retry"]; r != nil {
		d.retry = compileRetry(c, r)
		n.Retry = true
	}
	if k := keys["idempotency_key"]; k != nil && d.action != nil {
		// a node-level key overrides the action's
		cp := *d.action
		c.OnTheWire(func() { cp.IdempotencyKey = c.Template(k) })
		d.action = &cp
	}
	return d
}

// attempt is the outcome of one request.
type attempt struct {
	outcome    string // success, failure, timeout
	err        *engine.ErrorInfo
	retryAfter int // seconds, from Retry-After
}

func (d *dataAction) Exec(ctx context.Context, in *engine.Instance) (*engine.Edge, error) {
	var idem string
	if k := d.action.IdempotencyKey; k != nil {
		s, err := k.Render(in)
		if err != nil {
			return nil, err
		}
		idem = s // the same key on every attempt of this call
	}
	var a attempt
	var err error
	if d.retry == nil {
		a, err = d.attempt(ctx, in, 1, idem)
	} else {
		a, err = d.retry.run(ctx, in, d.name, func(n int) (attempt, error) { return d.attempt(ctx, in, n, idem) })
	}
	if err != nil {
		return nil, err
	}
	switch a.outcome {
	case "success":
		return d.next, nil
	case "timeout":
		if d.onTimeout != nil {
			return d.onTimeout, nil
		}
	}
	return d.onFailure, nil
}

// attempt renders and sends one request, then maps the response (success or not) into scope.
func (d *dataAction) attempt(ctx context.Context, in *engine.Instance, n int, idem string) (attempt, error) {
	act := d.action
	req, err := d.request(in, n, idem)
	if err != nil {
		return attempt{}, err
	}
	if act.Auth != nil {
		if _, err := act.Auth.Apply(ctx, in, req, false); err != nil {
			if ctx.Err() != nil {
				return attempt{}, ctx.Err()
			}
			return d.finish(in, req, nil, authFailure(d.name, err))
		}
	}
	resp, last, redirect, terr := d.sendFollowing(ctx, in, req)
	if terr != nil && ctx.Err() != nil {
		return attempt{}, ctx.Err()
	}
	if engine.IsScriptError(terr) {
		return attempt{}, terr // no response scripted: the instance ends with outcome error
	}
	if terr == nil && resp.Status == http.StatusUnauthorized && act.Auth != nil {
		// one fresh token and one re-send; the re-send is not a retry attempt
		refreshed, aerr := act.Auth.Apply(ctx, in, req, true)
		if aerr != nil {
			if ctx.Err() != nil {
				return attempt{}, ctx.Err()
			}
			return d.finish(in, last, resp, authFailure(d.name, aerr))
		}
		if refreshed {
			resp, last, redirect, terr = d.sendFollowing(ctx, in, req)
			if terr != nil && ctx.Err() != nil {
				return attempt{}, ctx.Err()
			}
			if engine.IsScriptError(terr) {
				return attempt{}, terr
			}
			if terr == nil && resp.Status == http.StatusUnauthorized {
				return d.finish(in, last, resp, &engine.ErrorInfo{Class: engine.Permanent, Kind: engine.KindAuth, Status: 401, Node: d.name,
					Message: "401 Unauthorized even with a fresh token"})
			}
		}
	}
	if terr != nil {
		return d.finish(in, last, resp, transportFailure(d.name, terr))
	}
	return d.finish(in, last, resp, redirect)
}

// authFailure is a failure to get credentials: permanent, unless the auth type says otherwise
// (a token endpoint answering 503 may answer later) by returning an *engine.ErrorInfo.
func authFailure(node string, err error) *engine.ErrorInfo {
	var ie *engine.ErrorInfo
	if errors.As(err, &ie) {
		cp := *ie
		cp.Kind, cp.Node = engine.KindAuth, node
		if cp.Class == "" {
			cp.Class = engine.Permanent
		}
		return &cp
	}
	return &engine.ErrorInfo{Class: engine.Permanent, Kind: engine.KindAuth, Node: node, Message: err.Error()}
}

func transportFailure(node string, err error) *engine.ErrorInfo {
	if err == nil {
		return nil
	}
	var te *engine.TransportError
	info := &engine.ErrorInfo{Class: engine.Permanent, Kind: engine.KindNetwork, Node: node, Message: err.Error()}
	if errors.As(err, &te) {
		switch te.Kind {
		case engine.KindTimeout:
			info.Kind, info.Class = engine.KindTimeout, engine.Transient
		default:
			if te.Transient {
				info.Class = engine.Transient
			}
		}
	}
	return info
}

// request renders the action's request.
func (d *dataAction) request(in *engine.Instance, n int, idem string) (*engine.Request, error) {
	act := d.action
	u, err := act.URL.Render(in)
	if err != nil {
		return nil, err
	}
	if len(act.Query) > 0 {
		pu, err := url.Parse(u)
		if err != nil {
			return nil, fmt.Errorf("%s: url %q: %v", act.URL.Pos, u, err)
		}
		q := pu.Query()
		for _, h := range act.Query {
			v, err := h.Value.Render(in)
			if err != nil {
				return nil, err
			}
			q.Add(h.Name, v)
		}
		pu.RawQuery = q.Encode()
		u = pu.String()
	}
	req := &engine.Request{Action: act.Name, Node: d.name, Attempt: n, Method: act.Method, URL: u,
		Header: http.Header{}, Timeout: act.Timeout, MaxBody: act.MaxBodySize}
	if act.Body != nil {
		v, err := act.Body.Eval(in)
		if err != nil {
			return nil, err
		}
		if s, ok := v.(string); ok && act.Body.IsString() {
			req.Body = []byte(s)
		} else {
			b, err := json.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("%s: body: %v", act.Body.Pos, err)
			}
			req.Body = b
			req.Header.Set("Content-Type", "application/json")
		}
	}
	req.Header.Set("Accept", "application/json")
	for _, h := range act.Headers {
		v, err := h.Value.Render(in)
		if err != nil {
			return nil, err
		}
		req.Header.Set(h.Name, v)
	}
	if act.IdempotencyKey != nil {
		req.Header.Set("Idempotency-Key", idem)
	}
	return req, nil
}

// send sends req once, counting the call and moving a virtual clock by any simulated time.
func (d *dataAction) send(ctx context.Context, in *engine.Instance, req *engine.Request) (*engine.Response, error) {
	if in.Tracing() {
		var body any
		if len(req.Body) > 0 {
			body = decodeBody(req.Body)
			if body == nil {
				body = string(req.Body)
			}
		}
		in.Emit(&engine.Event{Node: d.name, Kind: "data_action", Event: "request", Action: req.Action, Attempt: req.Attempt,
			Method: req.Method, URL: req.URL, Headers: in.Redactor().RedactHeaders(req.Header), Body: body})
	}
	resp, err := in.Transport().Do(ctx, req)
	var te *engine.TransportError
	if !errors.As(err, &te) || !te.NotSent { // calls counts requests on the wire (SPEC §5)
		in.CountCall(req.Action)
	}
	switch {
	case errors.As(err, &te):
		in.Clock().Advance(te.Virtual)
	case resp != nil:
		in.Clock().Advance(resp.Virtual)
	}
	if err != nil && resp != nil && te != nil && te.Kind == "too_large" {
		return resp, err
	}
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// finish maps a response (or its absence) into scope, decides success, classifies failures and
// evaluates the outputs map, which runs after every attempt so no value survives from an earlier one.
func (d *dataAction) finish(in *engine.Instance, req *engine.Request, resp *engine.Response, failure *engine.ErrorInfo) (attempt, error) {
	act := d.action
	status, text := 0, ""
	headers := map[string]string{}
	var body any
	elapsed := 0.0
	if resp != nil {
		status = resp.Status
		for k, vs := range resp.Header {
			headers[http.CanonicalHeaderKey(k)] = strings.Join(vs, ", ")
		}
		text = string(resp.Body)
		body = decodeBody(resp.Body)
		elapsed = resp.Elapsed.Seconds()
		if resp.Virtual > 0 {
			elapsed = resp.Virtual.Seconds()
		}
	}
	in.SetScope("status", status)
	in.SetScope("headers", headers)
	in.SetScope("body", body)
	in.SetScope("text", text)
	in.SetScope("elapsed", elapsed)
	in.SetError(nil)

	a := attempt{outcome: "success", err: failure}
	if failure != nil && resp != nil && failure.Kind == engine.KindNetwork && strings.Contains(failure.Message, "larger than") {
		failure.Status = status
	}
	if failure == nil {
		ok := status >= 200 && status <= 299
		if act.Success != nil {
			var err error
			ok, err = act.Success.EvalBool(in)
			if err != nil {
				return attempt{}, err
			}
		}
		if !ok {
			if status >= 200 && status <= 299 {
				a.err = &engine.ErrorInfo{Class: engine.Permanent, Kind: engine.KindBusiness, Status: status, Node: d.name,
					Message: fmt.Sprintf("%d response failed the success condition", status)}
			} else {
				a.err = &engine.ErrorInfo{Class: engine.ClassifyStatus(status, act.TransientStatuses), Kind: engine.KindHTTP, Status: status, Node: d.name,
					Message: fmt.Sprintf("HTTP %d %s", status, http.StatusText(status))}
			}
		}
	}
	if a.err != nil {
		a.outcome = "failure"
		if a.err.Kind == engine.KindTimeout {
			a.outcome = "timeout"
		}
		in.SetError(a.err)
		if act.Classify != nil {
			v, err := act.Classify.Eval(in)
			if err != nil {
				return attempt{}, err
			}
			switch v {
			case engine.Transient, engine.Permanent:
				a.err.Class = v.(string)
				in.SetError(a.err)
			default:
				return attempt{}, fmt.Errorf("%s: classify gave %v; it must give \"transient\" or \"permanent\"", act.Classify.Pos, v)
			}
		}
	}
	a.retryAfter = engine.RetryAfter(headers, in.Clock().Now())
	for _, o := range act.Outputs {
		v, err := o.Expr.Eval(in)
		if err != nil {
			return attempt{}, err
		}
		if err := in.Set(o.Var, v); err != nil {
			return attempt{}, fmt.Errorf("%s: output %v", o.Pos, err)
		}
	}
	if in.Tracing() {
		ev := &engine.Event{Node: d.name, Kind: "data_action", Event: "response", Action: act.Name, Attempt: req.Attempt,
			Method: req.Method, URL: req.URL, Outcome: a.outcome, Error: a.err}
		if resp != nil {
			s := status
			ev.Status = &s
			ev.Headers = in.Redactor().RedactHeaders(resp.Header)
			if body != nil {
				ev.Body = body
			} else if text != "" {
				ev.Body = text
			}
			ev.Elapsed = &elapsed
		}
		if a.err != nil {
			ev.Class = a.err.Class
		}
		in.Emit(ev)
	}
	return a, nil
}

// decodeBody decodes a JSON body; an empty or non-JSON body gives nil.
func decodeBody(b []byte) any {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil
	}
	return v
}
