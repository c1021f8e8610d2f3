package nodes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/failure"
	"github.com/archflow/archflow/engine/jsondec"
	"github.com/archflow/archflow/engine/trace"
	"github.com/archflow/archflow/engine/transport"
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

// DataAction declares the data_action kind.
func DataAction() *engine.Kind {
	return &engine.Kind{
		Spec: engine.Spec{Name: "data_action", Doc: "calls an action and maps the response into variables. Routes: next (success), on_failure, on_timeout.",
			Fields: []engine.Field{
				{Name: "next", Doc: "Where a success goes.", Schema: engine.Ref("nodeRef"), Required: true},
				{Name: "on_failure", Doc: "Where a failure goes (permanent, or retries exhausted).", Schema: engine.Ref("nodeRef"), Required: true, Missing: "where a failed call goes"},
				{Name: "on_timeout", Doc: "Where a timeout goes (with retry:, when the last attempt timed out); defaults to on_failure.", Schema: engine.Ref("nodeRef")},
				{Name: "retry", Doc: "A retry policy instead of a hand-built loop: the same calls and waits as the explicit machine. `retry:` with nothing after it takes every default.", Schema: engine.Ref("retry")},
				{Name: "idempotency_key", Doc: "Sent as Idempotency-Key, the same on every attempt; overrides the action's.", Schema: engine.Ref("template")},
			},
			Defs:    map[string]engine.Schema{"retry": engine.SchemaJSON(`{"description": "A retry policy instead of a hand-built loop: the same calls and waits as the explicit machine. retry: with nothing after it takes every default.", "type": ["object", "null"], "additionalProperties": false, "properties": {"max_attempts": {"description": "Attempts in all, the first included (default 3, at most 100).", "type": "integer", "minimum": 1, "maximum": 100}, "retry_on": {"description": "What is retried (default [transient]): classes (transient, permanent), kinds (timeout, network, http, business, auth) and statuses (429, 5xx, 50x).", "type": "array", "minItems": 1, "items": {"anyOf": [{"enum": ["transient", "permanent", "timeout", "network", "http", "business", "auth"]}, {"type": "integer", "minimum": 100, "maximum": 599}, {"type": "string", "pattern": "^[1-5][0-9xX]{2}$"}]}}, "backoff": {"description": "The waits between attempts: exponential {initial, multiplier, max, jitter} or a fixed {schedule}.", "anyOf": [{"type": "object", "additionalProperties": false, "properties": {"initial": {"description": "The first wait.", "$ref": "#/$defs/duration"}, "multiplier": {"description": "Each wait is the previous one times this.", "type": "number", "minimum": 1}, "max": {"description": "The longest wait.", "$ref": "#/$defs/duration"}, "jitter": {"description": "none (default), full (random 0..wait) or equal (wait/2 + random 0..wait/2).", "enum": ["none", "full", "equal"]}}}, {"type": "object", "additionalProperties": false, "required": ["schedule"], "properties": {"schedule": {"description": "The waits in order; a schedule shorter than the retries repeats its last entry.", "type": "array", "minItems": 1, "items": {"$ref": "#/$defs/duration"}}, "jitter": {"description": "none (default), full (random 0..wait) or equal (wait/2 + random 0..wait/2).", "enum": ["none", "full", "equal"]}}}]}, "retry_after": {"description": "How a Retry-After header sets the wait (default {mode: override, max: 15m}).", "type": "object", "additionalProperties": false, "properties": {"mode": {"description": "override: wait what the server asks; floor: at least that; ignore: the backoff alone.", "enum": ["override", "floor", "ignore"]}, "max": {"description": "A larger Retry-After is clamped to this.", "$ref": "#/$defs/duration"}}}, "max_elapsed": {"description": "Measured on the instance clock from the first attempt; a retry whose wait would pass it is not made.", "$ref": "#/$defs/duration"}}}`)},
			Example: "call:\n  data_action: push_order\n  retry: {max_attempts: 4, backoff: {initial: 30s, multiplier: 2}}\n  next: done\n  on_failure: escalate",
		},
		Value:        engine.Field{Doc: "The name of the action to call.", Schema: engine.Ref("name")},
		Shape:        engine.ShapeCall,
		SelfRetryKey: "retry",
		Describe:     describeDataAction,
		Compile:      compileDataAction,
	}
}

// CallsAction is the action the node sends, its node-level idempotency_key applied.
func (d *dataAction) CallsAction() *engine.Action { return d.action }

// Outcomes are what coverage counts for a call: success, failure, timeout.
func (d *dataAction) Outcomes() []string { return []string{"success", "failure", "timeout"} }

// RetriesItself: a node with retry: makes its attempts itself.
func (d *dataAction) RetriesItself() bool { return d.retry != nil }

// describeDataAction reads a call's events: each request, its response, and a retry policy's
// decisions and waits between attempts.
func describeDataAction(e *trace.Event) (trace.Line, bool) {
	switch e.Event {
	case "request":
		which := fmt.Sprintf("%s, call #%d", e.Action, e.Visit)
		if e.Attempt > 1 {
			which += fmt.Sprintf(", retry attempt %d", e.Attempt)
		}
		return trace.Line{Text: e.Method + " " + e.URL, Note: "(" + which + ")"}, true
	case "response":
		status := "no response"
		if e.Status != nil {
			status = fmt.Sprint(*e.Status)
		}
		l := trace.Line{Text: "← " + status}
		switch {
		case e.Outcome == "success":
			l.Text += " success"
			l.Tone = trace.ToneGood
		case e.Error != nil:
			l.Text = fmt.Sprintf("%s %s %s: %s", l.Text, e.Error.Class, e.Error.Kind, e.Error.Message)
			l.Tone = trace.ToneWarn
		}
		return l, true
	case "decision":
		return describeDecision(e)
	case "wait":
		return describeWait(e)
	}
	return trace.Line{}, false
}

func compileDataAction(c *engine.Compiler, n *engine.Node, spec *yaml.Node, keys map[string]*yaml.Node) engine.Step {
	d := &dataAction{name: n.Name, action: c.ActionRef(spec)}
	d.next = requireNext(c, n, keys)
	d.onFailure = c.Edge(n, "on_failure", keys["on_failure"])
	d.onTimeout = c.Edge(n, "on_timeout", keys["on_timeout"])
	if r := keys["retry"]; r != nil {
		d.retry = compileRetry(c, r)
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
	err        *failure.ErrorInfo
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
		a, err = d.perform(ctx, in, 1, idem)
	} else {
		a, err = d.retry.run(ctx, in, d.name, func(n int) (attempt, error) { return d.perform(ctx, in, n, idem) })
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

// perform makes one attempt, here or through the instance's host (engine.Instance.Attempt).
func (d *dataAction) perform(ctx context.Context, in *engine.Instance, n int, idem string) (attempt, error) {
	if in.AttemptsHere() { // what Attempt would do, without boxing the call and its outcome
		return d.attempt(ctx, in, n, idem, in.Visits(d.name))
	}
	out, err := in.Attempt(ctx, &engine.AttemptCall{Node: d.name, Attempt: n, IdempotencyKey: idem, Visit: in.Visits(d.name)}, d)
	if err != nil || out == nil {
		return attempt{}, err
	}
	return attempt{outcome: out.Outcome, err: out.Err, retryAfter: out.RetryAfter}, nil
}

// AttemptHere is engine.Attempter: one attempt in this process.
func (d *dataAction) AttemptHere(ctx context.Context, in *engine.Instance, call *engine.AttemptCall) (*engine.AttemptOutcome, error) {
	a, err := d.attempt(ctx, in, call.Attempt, call.IdempotencyKey, call.Visit)
	if err != nil {
		return nil, err
	}
	return &engine.AttemptOutcome{Outcome: a.outcome, Err: a.err, RetryAfter: a.retryAfter}, nil
}

// AttemptLost is engine.Attempter: an attempt that got no response at all, mapped as one.
func (d *dataAction) AttemptLost(in *engine.Instance, call *engine.AttemptCall, failure *failure.ErrorInfo) (*engine.AttemptOutcome, error) {
	act := d.action
	req := &transport.Request{Action: act.Name, Node: d.name, Attempt: call.Attempt, Method: act.Method, Timeout: act.Timeout}
	cp := *failure
	cp.Node = d.name
	a, err := d.finish(in, req, nil, &cp)
	if err != nil {
		return nil, err
	}
	return &engine.AttemptOutcome{Outcome: a.outcome, Err: a.err, RetryAfter: a.retryAfter}, nil
}

// attempt renders and sends one request, then maps the response (success or not) into scope.
func (d *dataAction) attempt(ctx context.Context, in *engine.Instance, n int, idem string, visit int) (attempt, error) {
	act := d.action
	req, err := d.request(in, n, idem)
	if err != nil {
		return attempt{}, err
	}
	req.Visit = visit
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
				return d.finish(in, last, resp, &failure.ErrorInfo{Class: failure.Permanent, Kind: failure.KindAuth, Status: 401, Node: d.name,
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
// (a token endpoint answering 503 may answer later) by returning an *failure.ErrorInfo.
func authFailure(node string, err error) *failure.ErrorInfo {
	var ie *failure.ErrorInfo
	if errors.As(err, &ie) {
		cp := *ie
		cp.Kind, cp.Node = failure.KindAuth, node
		if cp.Class == "" {
			cp.Class = failure.Permanent
		}
		return &cp
	}
	return &failure.ErrorInfo{Class: failure.Permanent, Kind: failure.KindAuth, Node: node, Message: err.Error()}
}

func transportFailure(node string, err error) *failure.ErrorInfo {
	if err == nil {
		return nil
	}
	kind, transient := failure.KindNetwork, false
	var te *transport.TransportError
	if errors.As(err, &te) {
		transient = te.Transient
		if te.Kind == failure.KindTimeout {
			kind = failure.KindTimeout
		}
	}
	return &failure.ErrorInfo{Class: failure.ClassifyFailure(kind, 0, transient, nil), Kind: kind, Node: node, Message: err.Error()}
}

// request renders the action's request.
func (d *dataAction) request(in *engine.Instance, n int, idem string) (*transport.Request, error) {
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
	req := &transport.Request{Action: act.Name, Node: d.name, Attempt: n, Method: act.Method, URL: u,
		Header: make(http.Header, 3+len(act.Headers)), Timeout: act.Timeout, MaxBody: act.MaxBodySize}
	switch {
	case act.Body == nil:
	case act.Body.IsString(): // a string is sent as it is, anything else as JSON
		v, err := act.Body.Eval(in)
		if err != nil {
			return nil, err
		}
		if s, ok := v.(string); ok {
			req.Body = []byte(s)
			break
		}
		if req.Body, err = trace.AppendValue(make([]byte, 0, 128), v, true); err != nil {
			return nil, fmt.Errorf("%s: body: %v", act.Body.Pos, err)
		}
		req.Header["Content-Type"] = applicationJSON
	default:
		// encoding/json's bytes, written straight from the templates' values
		var err error
		if req.Body, err = act.Body.AppendJSON(make([]byte, 0, 128), in); err != nil {
			var je *engine.JSONError
			if errors.As(err, &je) {
				return nil, fmt.Errorf("%s: body: %v", act.Body.Pos, je.Err)
			}
			return nil, err
		}
		req.Header["Content-Type"] = applicationJSON
	}
	req.Header["Accept"] = applicationJSON
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

// applicationJSON is the value of the Content-Type and Accept headers the request sets, shared:
// header values are replaced, never written in place (and append copies a full slice).
var applicationJSON = []string{"application/json"}[:1:1]

// send sends req once, counting the call and moving a virtual clock by any simulated time.
func (d *dataAction) send(ctx context.Context, in *engine.Instance, req *transport.Request) (*transport.Response, error) {
	if in.Tracing() {
		var body any
		if len(req.Body) > 0 {
			body = decodeBody(req.Body)
			if body == nil {
				body = string(req.Body)
			}
		}
		in.Emit(&trace.Event{Node: d.name, Kind: "data_action", Event: "request", Action: req.Action, Attempt: req.Attempt, Visit: req.Visit,
			Method: req.Method, URL: req.URL, Headers: in.Redactor().RedactHeaders(req.Header), Body: body})
	}
	resp, err := in.Transport().Do(ctx, req)
	te := asTransportError(err)
	if te == nil || !te.NotSent { // calls counts requests on the wire (SPEC §5)
		in.CountCall(req.Action)
	}
	switch {
	case te != nil:
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

// asTransportError is the TransportError in err, or nil; a nil err costs nothing (the target of
// errors.As escapes to the heap).
func asTransportError(err error) *transport.TransportError {
	if err == nil {
		return nil
	}
	var te *transport.TransportError
	if errors.As(err, &te) {
		return te
	}
	return nil
}

// finish maps a response (or its absence) into scope, decides success, classifies failures and
// evaluates the outputs map, which runs after every attempt so no value survives from an earlier one.
func (d *dataAction) finish(in *engine.Instance, req *transport.Request, resp *transport.Response, failed *failure.ErrorInfo) (attempt, error) {
	act := d.action
	f, tracing := in.Flow(), in.Tracing()
	status, text, retryAfter := 0, "", ""
	var headers map[string]string
	var body any
	elapsed := 0.0
	// what no expression of the flow reads, and no trace shows, is not made
	readHeaders := f.ReadsScope("headers")
	if resp != nil {
		status = resp.Status
		if readHeaders {
			headers = make(map[string]string, len(resp.Header))
		}
		for k, vs := range resp.Header { // a scripted response's keys may not be canonical
			if readHeaders {
				headers[http.CanonicalHeaderKey(k)] = strings.Join(vs, ", ")
			}
			if strings.EqualFold(k, "Retry-After") {
				retryAfter = strings.Join(vs, ", ")
			}
		}
		if tracing || f.ReadsScope("text") {
			text = string(resp.Body)
		}
		if tracing || f.ReadsScope("body") {
			body = decodeBody(resp.Body)
		}
		elapsed = resp.Elapsed.Seconds()
		if resp.Virtual > 0 {
			elapsed = resp.Virtual.Seconds()
		}
	} else if readHeaders {
		headers = map[string]string{}
	}
	in.SetScope("status", status)
	if readHeaders {
		in.SetScope("headers", headers)
	}
	in.SetScope("body", body)
	in.SetScope("text", text)
	in.SetScope("elapsed", elapsed)
	in.SetError(nil)

	a := attempt{outcome: "success", err: failed}
	// the response is shown even when an expression over it then fails: that is when it is needed
	emitResponse := func(a attempt) {
		if !tracing {
			return
		}
		ev := &trace.Event{Node: d.name, Kind: "data_action", Event: "response", Action: act.Name, Attempt: req.Attempt,
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
			e := elapsed // a copy: elapsed itself stays off the heap when nothing is traced
			ev.Elapsed = &e
		}
		if a.err != nil {
			ev.Class = a.err.Class
		}
		in.Emit(ev)
	}
	if failed != nil && resp != nil && failed.Kind == failure.KindNetwork && strings.Contains(failed.Message, "larger than") {
		failed.Status = status
	}
	if failed == nil {
		ok := status >= 200 && status <= 299
		if act.Success != nil {
			var err error
			ok, err = act.Success.EvalBool(in)
			if err != nil {
				emitResponse(attempt{outcome: "error", err: a.err})
				return attempt{}, err
			}
		}
		if !ok {
			if status >= 200 && status <= 299 {
				a.err = &failure.ErrorInfo{Class: failure.Permanent, Kind: failure.KindBusiness, Status: status, Node: d.name,
					Message: fmt.Sprintf("%d response failed the success condition", status)}
			} else {
				a.err = &failure.ErrorInfo{Class: failure.ClassifyStatus(status, act.TransientStatuses), Kind: failure.KindHTTP, Status: status, Node: d.name,
					Message: fmt.Sprintf("HTTP %d %s", status, http.StatusText(status))}
			}
		}
	}
	if a.err != nil {
		a.outcome = "failure"
		if a.err.Kind == failure.KindTimeout {
			a.outcome = "timeout"
		}
		in.SetError(a.err)
		if act.Classify != nil {
			v, err := act.Classify.Eval(in)
			if err != nil {
				emitResponse(attempt{outcome: "error", err: a.err})
				return attempt{}, err
			}
			switch v {
			case failure.Transient, failure.Permanent:
				a.err.Class = v.(string)
				in.SetError(a.err)
			default:
				emitResponse(attempt{outcome: "error", err: a.err})
				return attempt{}, fmt.Errorf("%s: classify gave %v; it must give \"transient\" or \"permanent\"", act.Classify.Pos, v)
			}
		}
	}
	if retryAfter != "" { // most responses have none to read the clock for
		a.retryAfter = engine.RetryAfterValue(retryAfter, in.Clock().Now())
	}
	for _, o := range act.Outputs {
		v, err := o.Expr.Eval(in)
		if err != nil {
			emitResponse(attempt{outcome: "error", err: a.err})
			return attempt{}, err
		}
		if err := in.Set(o.Var, v); err != nil {
			emitResponse(attempt{outcome: "error", err: a.err})
			return attempt{}, fmt.Errorf("%s: output %v", o.Pos, err)
		}
	}
	emitResponse(a)
	return a, nil
}

// decodeBody decodes a JSON body; an empty or non-JSON body gives nil.
func decodeBody(b []byte) any {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil
	}
	v, err := jsondec.Unmarshal(b) // encoding/json's values, faster for the common body
	if err != nil {
		return nil
	}
	return v
}
