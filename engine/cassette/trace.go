package cassette

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/failure"
	"github.com/archflow/archflow/engine/trace"
	"github.com/archflow/archflow/engine/transport"
	"github.com/archflow/archflow/engine/yamldoc"
)

// Tracing returns a copy of base that adds to the trace what a cassette holds and node kinds do
// not trace themselves (SPEC §5): uuid() results (event uuid), token requests and webhook
// deliveries as request/response events, and the outputs on the end event. It needs a tracer.
func Tracing(base *engine.Options) *engine.Options {
	if base.Tracer == nil {
		return base
	}
	o := *base
	t := &tracing{next: base.Transport, tracer: base.Tracer}
	if t.next == nil {
		t.next = transport.NewHTTPTransport()
	}
	o.Transport = t
	ids := base.UUID
	if ids == nil {
		ids = uuid.NewString
	}
	o.UUID = func() string {
		id := ids()
		if in := t.instance(); in != nil { // nil while instance.id itself is made
			in.Emit(&trace.Event{Event: "uuid", UUID: id})
		}
		return id
	}
	o.Tracer = trace.TraceFunc(func(e *trace.Event) {
		if in := t.instance(); in != nil && e.Event == "end" && e.Instance == in.ID() {
			if out := in.Outputs(); len(out) > 0 {
				e.Outputs = Plain(out).(map[string]any)
			}
		}
		t.tracer.Event(e)
	})
	started := base.Started
	o.Started = func(in *engine.Instance) {
		t.mu.Lock()
		t.in = in
		t.mu.Unlock()
		if started != nil {
			started(in)
		}
	}
	return &o
}

type tracing struct {
	next   transport.Transport
	tracer trace.Tracer
	mu     sync.Mutex
	in     *engine.Instance
}

func (t *tracing) instance() *engine.Instance {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.in
}

// Unwrap is the transport the requests go on to.
func (t *tracing) Unwrap() transport.Transport { return t.next }

// Do traces the requests no node kind traces: token requests and webhook deliveries.
func (t *tracing) Do(ctx context.Context, req *transport.Request) (*transport.Response, error) {
	in := t.instance()
	own := strings.HasPrefix(req.Action, transport.AuthPrefix) || strings.HasPrefix(req.Action, transport.NotifyPrefix)
	if in == nil || !own {
		return t.next.Do(ctx, req)
	}
	red := in.Redactor()
	in.Emit(&trace.Event{Node: req.Node, Event: "request", Action: req.Action, Attempt: req.Attempt, Method: req.Method,
		URL: req.URL, Headers: red.RedactHeaders(req.Header), Body: bodyValue(string(req.Body))})
	resp, err := t.next.Do(ctx, req)
	if err != nil && ctx.Err() != nil {
		return resp, err
	}
	ev := &trace.Event{Node: req.Node, Event: "response", Action: req.Action, Attempt: req.Attempt, Method: req.Method, URL: req.URL}
	if resp != nil {
		s := resp.Status
		ev.Status = &s
		ev.Headers = red.RedactHeaders(resp.Header)
		b := string(resp.Body)
		if strings.HasPrefix(req.Action, transport.AuthPrefix) {
			b = redactTokenBody(b)
		}
		ev.Body = bodyValue(b)
		e := resp.Elapsed.Seconds()
		ev.Elapsed = &e
	}
	if err != nil {
		ev.Error = &failure.ErrorInfo{Class: failure.Permanent, Kind: errorKind(err), Message: err.Error()}
	}
	in.Emit(ev)
	return resp, err
}

// bodyValue is a body as a trace holds it: decoded JSON, or the text.
func bodyValue(s string) any {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	var v any
	if json.Unmarshal([]byte(s), &v) == nil {
		return v
	}
	return s
}

// MaxTraceLine is the longest line of a trace read (SPEC §11: streamed, each line up to 16 MiB).
const MaxTraceLine = 16 << 20

// IsTrace reports whether path looks like a JSON Lines trace rather than a cassette.
func IsTrace(path string) bool {
	return strings.HasSuffix(path, ".jsonl") || strings.HasSuffix(path, ".ndjson")
}

// FromTrace reads a --trace file into one cassette per instance, in the order they started.
// Lines are streamed; a malformed line is an error with its file:line:col.
func FromTrace(path string) ([]*Cassette, yamldoc.ErrorList) {
	f, err := os.Open(path)
	if err != nil {
		return nil, yamldoc.ErrorList{{Pos: yamldoc.Pos{File: path}, Severity: yamldoc.SevError, Msg: yamldoc.ReadError(err)}}
	}
	defer f.Close()
	return readTrace(path, f)
}

type traceBuild struct {
	c       *Cassette
	open    *Interaction   // a request waiting for its response
	pending []*Interaction // webhook exchanges waiting for their notify event
}

func readTrace(path string, r io.Reader) ([]*Cassette, yamldoc.ErrorList) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxTraceLine)
	var errs yamldoc.ErrorList
	byID := map[string]*traceBuild{}
	var order []*traceBuild
	line := 0
	for sc.Scan() {
		line++
		raw := sc.Bytes()
		if len(strings.TrimSpace(string(raw))) == 0 {
			continue
		}
		var e trace.Event
		if err := json.Unmarshal(raw, &e); err != nil {
			errs.Add(yamldoc.Pos{File: path, Line: line, Col: jsonErrorColumn(raw, err)}, "not a trace event: %v", err)
			continue
		}
		if e.Instance == "" || e.Event == "" {
			errs.Add(yamldoc.Pos{File: path, Line: line, Col: 1}, "not a trace event: it needs instance and event")
			continue
		}
		b := byID[e.Instance]
		if b == nil {
			b = &traceBuild{c: &Cassette{Version: Version, Instance: e.Instance, File: path, Pos: yamldoc.Pos{File: path, Line: line, Col: 1},
				Inputs: map[string]any{}, UUIDs: []string{}, Interactions: []*Interaction{}, Result: &Result{Path: []string{}, Waits: []float64{}}}}
			byID[e.Instance] = b
			order = append(order, b)
		}
		b.add(&e, yamldoc.Pos{File: path, Line: line, Col: 1})
	}
	if err := sc.Err(); err != nil {
		msg := err.Error()
		if errors.Is(err, bufio.ErrTooLong) {
			msg = fmt.Sprintf("a line is longer than %d MiB", MaxTraceLine>>20)
		}
		errs.Add(yamldoc.Pos{File: path, Line: line + 1, Col: 1}, "%s", msg)
	}
	if len(errs) > 0 {
		return nil, errs.Sort()
	}
	out := make([]*Cassette, 0, len(order))
	for _, b := range order {
		for i, it := range b.c.Interactions {
			it.Index = i + 1
		}
		out = append(out, b.c)
	}
	return out, nil
}

func jsonErrorColumn(raw []byte, err error) int {
	var se *json.SyntaxError
	if errors.As(err, &se) && se.Offset > 0 {
		return int(se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Offset > 0 {
		return int(te.Offset)
	}
	return 1
}

func (b *traceBuild) add(e *trace.Event, pos yamldoc.Pos) {
	c := b.c
	switch e.Event {
	case "start":
		c.Flow, c.Started = e.Flow, e.Time
		for k, v := range e.Inputs {
			c.Inputs[k] = v
		}
	case "uuid":
		c.UUIDs = append(c.UUIDs, e.UUID)
	case "enter":
		c.Result.Path = append(c.Result.Path, e.Node)
	case "wait":
		if e.Seconds != nil {
			c.Result.Waits = append(c.Result.Waits, *e.Seconds)
		}
	case "request":
		it := &Interaction{Action: e.Action, Node: e.Node, Attempt: e.Attempt, At: e.Time, Pos: pos,
			Request: &Request{Method: e.Method, URL: e.URL, Headers: e.Headers, Body: bodyText(e.Body)}}
		b.open = it
		if it.IsDelivery() {
			b.pending = append(b.pending, it)
		} else {
			c.Interactions = append(c.Interactions, it)
		}
	case "response":
		it := b.open
		if it == nil || it.Action != e.Action {
			return // a failure before anything was sent (credentials could not be had)
		}
		b.open = nil
		if e.Status != nil {
			el := 0.0
			if e.Elapsed != nil {
				el = *e.Elapsed
			}
			it.Response = &Response{Status: *e.Status, Headers: e.Headers, Body: bodyText(e.Body), Elapsed: el}
		}
		if e.Error != nil && e.Status == nil && e.Error.Kind != failure.KindHTTP {
			it.Error, it.Message = traceErrorKind(e.Error), e.Error.Message
		}
		if e.Error != nil && e.Status != nil && strings.Contains(e.Error.Message, "larger than") {
			it.Error, it.Message = ErrTooLarge, e.Error.Message
		}
	case "notify":
		it := &Interaction{Action: transport.NotifyPrefix + e.Channel, Node: e.Node, At: e.Time, Pos: pos, Result: Delivered}
		if len(b.pending) > 0 {
			last := b.pending[len(b.pending)-1]
			it.Attempt, it.Request, it.Response, it.Error, it.At = last.Attempt, last.Request, last.Response, last.Error, last.At
			b.pending = nil
		}
		if e.Outcome == "failure" {
			it.Result, it.Message = Failed, e.Message
		}
		c.Interactions = append(c.Interactions, it)
	case "end":
		c.Result.Outcome, c.Result.Ended = e.Outcome, e.Time
		if e.Outcome == engine.OutcomeInterrupted {
			c.Result.StoppedAt = e.Node
		}
		if e.Outputs != nil {
			c.Result.Outputs = e.Outputs
		}
	}
}

// bodyText is a traced body as sent: JSON again, or the text.
func bodyText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// traceErrorKind maps the failure a trace shows for a request that got no response.
func traceErrorKind(e *failure.ErrorInfo) string {
	switch e.Kind {
	case ErrTimeout:
		return ErrTimeout
	case ErrDNS, ErrTLS, ErrTooLarge, ErrScript, ErrConnectionReset:
		return e.Kind
	}
	if e.Class == failure.Permanent { // a data action traces unknown hosts and TLS as permanent network failures
		return ErrDNS
	}
	return ErrConnectionReset
}
