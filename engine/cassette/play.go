package cassette

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/failure"
	"github.com/archflow/archflow/engine/scripted"
	"github.com/archflow/archflow/engine/trace"
	"github.com/archflow/archflow/engine/transport"
	"github.com/archflow/archflow/engine/yamldoc"
)

// Match says what of a request must equal the recorded one: method and URL (path and query)
// always, the body when Body is set (a test case's match: [method, url, body]).
type Match struct {
	Body bool
}

// Problem is a request that does not fit the recording: a difference, an extra request, an
// interaction never used. It reads as a script's problem does, and carries the interaction's
// Index (1-based; 0 for an extra request).
type Problem struct {
	Index int
	scripted.Problem
}

func problem(index int, pos yamldoc.Pos, msg string) Problem {
	return Problem{Index: index, Problem: scripted.Problem{Pos: pos, Msg: msg}}
}

// Sent is a request the instance sent during replay, redacted, with the interaction that
// answered it (nil for an extra request or a faked token).
type Sent struct {
	Action  string
	Node    string
	Attempt int
	Method  string
	URL     string
	Header  http.Header
	Body    []byte
	// Raw is the request as sent, for expectations that compare raw values (SPEC §11).
	Raw          *transport.Request
	Interaction  *Interaction
	Notification bool
}

// Player answers one instance's requests, uuids and deliveries from a cassette; it sends
// nothing anywhere. Use Options to wrap the instance's options; it is meant for one instance.
type Player struct {
	c     *Cassette
	match Match

	mu       sync.Mutex
	in       *engine.Instance
	start    time.Time
	byAction map[string][]*Interaction
	next     map[string]int
	used     map[*Interaction]bool
	problems []Problem
	sent     []Sent
	ids      int
}

// NewPlayer replays c.
func NewPlayer(c *Cassette, m Match) *Player {
	p := &Player{c: c, match: m, byAction: map[string][]*Interaction{}, next: map[string]int{}, used: map[*Interaction]bool{}}
	for _, it := range c.Interactions {
		p.byAction[it.Action] = append(p.byAction[it.Action], it)
	}
	return p
}

// Cassette is what p replays.
func (p *Player) Cassette() *Cassette { return p.c }

// Options returns a copy of base whose transport, uuids, channels and env lookup replay p's
// cassette. The clock stays base's (a virtual one starting at the recorded start, usually).
func (p *Player) Options(flow *engine.Flow, base *engine.Options) *engine.Options {
	o := *base
	o.Transport = p
	o.UUID = p.uuid
	o.Channels = playChannels{p: p}
	o.Env = PlaceholderEnv(flow, base.Env)
	started := base.Started
	o.Started = func(in *engine.Instance) {
		p.mu.Lock()
		p.in, p.start = in, in.Clock().Now()
		p.mu.Unlock()
		if started != nil {
			started(in)
		}
	}
	return &o
}

// Placeholders are what an env() or secret() not set during replay reads (SPEC §7): a committed
// cassette replays in CI with no credentials. The env placeholder is a URL, since the most
// common unset name is a base URL, and replay compares paths and queries, not hosts.
const (
	SecretPlaceholder = trace.Redacted
	EnvPlaceholder    = "http://unset.invalid"
)

// PlaceholderEnv is lookup, where the flow's env() and secret() names (those without a default)
// that lookup lacks read a placeholder.
func PlaceholderEnv(flow *engine.Flow, lookup func(string) (string, bool)) func(string) (string, bool) {
	if lookup == nil {
		lookup = engine.EnvChain()
	}
	names := map[string]bool{}
	for _, ec := range flow.EnvCalls {
		if !ec.Default { // a name with a default reads its default
			names[ec.Name] = names[ec.Name] || ec.Secret
		}
	}
	return func(name string) (string, bool) {
		if v, ok := lookup(name); ok {
			return v, true
		}
		secret, known := names[name]
		switch {
		case !known:
			return "", false
		case secret:
			return SecretPlaceholder, true
		}
		return EnvPlaceholder, true
	}
}

// uuid gives instance.id first, then the recorded uuid() results, then made-up ones (an edited
// flow may call uuid() more often).
func (p *Player) uuid() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ids++
	switch {
	case p.ids == 1 && p.c.Instance != "":
		return p.c.Instance
	case p.ids-2 < len(p.c.UUIDs) && p.ids >= 2:
		return p.c.UUIDs[p.ids-2]
	}
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", p.ids)
}

// take returns the next recorded interaction of action, or nil.
func (p *Player) take(action string) *Interaction {
	list := p.byAction[action]
	i := p.next[action]
	if i >= len(list) {
		return nil
	}
	p.next[action] = i + 1
	p.used[list[i]] = true
	return list[i]
}

// align moves a virtual clock to where the recording was when it sent it: real time that
// passed between requests of a real-clock recording, a scripted delay of a --mock one.
func (p *Player) align(it *Interaction) {
	if p.in == nil || it.At.IsZero() || p.c.Started.IsZero() {
		return
	}
	c := p.in.Clock()
	target := p.start.Add(it.At.Sub(p.c.Started))
	if d := target.Sub(c.Now()); d > 0 {
		c.Advance(d)
	}
}

func (p *Player) redactor() *trace.Redactor {
	if p.in == nil {
		return &trace.Redactor{}
	}
	return p.in.Redactor()
}

// Do answers req with the next recorded interaction of its action.
func (p *Player) Do(ctx context.Context, req *transport.Request) (*transport.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	red := p.redactor()
	raw := *req // the caller may change its request after (a fresh token on a re-send)
	raw.Header, raw.Body = req.Header.Clone(), bytes.Clone(req.Body)
	s := Sent{Action: req.Action, Node: req.Node, Attempt: req.Attempt, Method: req.Method, URL: red.String(req.URL),
		Header: req.Header.Clone(), Body: []byte(red.String(string(req.Body))), Raw: &raw}
	it := p.take(req.Action)
	s.Interaction = it
	p.sent = append(p.sent, s)
	isToken := strings.HasPrefix(req.Action, transport.AuthPrefix)
	switch {
	case it == nil && isToken:
		return fakeToken(req), nil // never extra: a batch shares one token
	case it == nil && strings.HasPrefix(req.Action, transport.NotifyPrefix):
		return &transport.Response{Status: http.StatusOK}, nil // a delivery the channel did not intercept
	case it == nil:
		msg := fmt.Sprintf("extra request: %s %s (%s) has no recorded interaction left (%d recorded)",
			req.Method, s.URL, describeReq(req), len(p.byAction[req.Action]))
		p.problems = append(p.problems, problem(0, p.c.Pos, msg))
		return nil, &transport.TransportError{Kind: engine.KindScript, Err: errors.New(msg)}
	}
	if !isToken {
		if diff := p.differs(it, s); diff != "" {
			p.problems = append(p.problems, problem(it.Index, it.Pos, fmt.Sprintf("%s: %s", it.Describe(), diff)))
		}
	}
	p.align(it)
	return answer(it, req)
}

func describeReq(req *transport.Request) string {
	s := req.Action
	if req.Node != "" {
		s += " from node " + req.Node
	}
	return s
}

// differs says how the live (redacted) request differs from the recorded one, or "".
func (p *Player) differs(it *Interaction, s Sent) string {
	if it.Request == nil {
		return fmt.Sprintf("recorded no request; got %s %s", s.Method, s.URL)
	}
	want := it.Request
	if !strings.EqualFold(want.Method, s.Method) {
		return fmt.Sprintf("expected method %s, got %s (%s)", want.Method, s.Method, s.URL)
	}
	if !SameURL(want.URL, s.URL) {
		return fmt.Sprintf("expected %s %s, got %s %s", want.Method, want.URL, s.Method, s.URL)
	}
	if p.match.Body && !SameBody(want.Body, string(s.Body)) {
		return fmt.Sprintf("expected body %s, got %s", want.Body, string(s.Body))
	}
	return ""
}

// SameURL compares path and query (the host is where the API ran then, not what was asked).
func SameURL(a, b string) bool {
	ua, ea := url.Parse(a)
	ub, eb := url.Parse(b)
	if ea != nil || eb != nil {
		return a == b
	}
	return ua.EscapedPath() == ub.EscapedPath() && reflect.DeepEqual(ua.Query(), ub.Query())
}

// SameBody compares bodies as JSON when both are, byte for byte otherwise.
func SameBody(a, b string) bool {
	if a == b {
		return true
	}
	var x, y any
	if json.Unmarshal([]byte(a), &x) == nil && json.Unmarshal([]byte(b), &y) == nil {
		return reflect.DeepEqual(x, y)
	}
	return strings.TrimSpace(a) == strings.TrimSpace(b)
}

// answer gives back what the recording got.
func answer(it *Interaction, req *transport.Request) (*transport.Response, error) {
	var resp *transport.Response
	if r := it.Response; r != nil {
		h := http.Header{}
		for k, v := range r.Headers {
			h.Set(k, v)
		}
		d := time.Duration(r.Elapsed * float64(time.Second))
		resp = &transport.Response{Status: r.Status, Header: h, Body: []byte(r.Body), Elapsed: d, Virtual: d}
	}
	msg := it.Message
	switch it.Error {
	case "":
		if resp == nil {
			resp = &transport.Response{Status: http.StatusOK}
		}
		if limit := req.MaxBody; limit > 0 && int64(len(resp.Body)) > limit {
			return resp, &transport.TransportError{Kind: ErrTooLarge, Err: fmt.Errorf("response body larger than %d bytes", limit)}
		}
		return resp, nil
	case ErrTooLarge:
		return resp, &transport.TransportError{Kind: ErrTooLarge, Err: errors.New(orDefault(msg, "response body too large"))}
	case ErrTimeout:
		timeout := req.Timeout
		if timeout <= 0 {
			timeout = transport.DefaultTimeout
		}
		return nil, &transport.TransportError{Kind: failure.KindTimeout, Transient: true, Virtual: timeout,
			Err: errors.New(orDefault(msg, "no response within the timeout"))}
	case ErrConnectionReset:
		return nil, &transport.TransportError{Kind: failure.KindNetwork, Transient: true, Err: errors.New(orDefault(msg, "connection reset by peer"))}
	case ErrDNS:
		return nil, &transport.TransportError{Kind: ErrDNS, Err: errors.New(orDefault(msg, "unknown host"))}
	case ErrTLS:
		return nil, &transport.TransportError{Kind: ErrTLS, Err: errors.New(orDefault(msg, "TLS handshake failed"))}
	}
	return nil, &transport.TransportError{Kind: engine.KindScript, Err: errors.New(orDefault(msg, "no response (recorded from a mock)"))}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// fakeToken answers a token request the recording does not hold with a valid token.
func fakeToken(req *transport.Request) *transport.Response {
	name := strings.TrimPrefix(req.Action, transport.AuthPrefix)
	body := fmt.Sprintf(`{"access_token":"replay-token-%s","token_type":"Bearer","expires_in":3600}`, name)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return &transport.Response{Status: http.StatusOK, Header: h, Body: []byte(body)}
}

type playChannels struct{ p *Player }

func (c playChannels) Channel(ref *engine.ChannelRef) engine.Channel {
	return playChannel{p: c.p, name: ref.Name}
}

type playChannel struct {
	p    *Player
	name string
}

// Deliver delivers nothing: the notification is kept in the result, as a test captures it, and
// the delivery's result is the recorded one.
func (c playChannel) Deliver(_ context.Context, in *engine.Instance, n *engine.Notification) error {
	p := c.p
	p.mu.Lock()
	action := transport.NotifyPrefix + c.name
	it := p.take(action)
	p.sent = append(p.sent, Sent{Action: action, Node: n.Node, Interaction: it, Notification: true})
	if it == nil {
		p.problems = append(p.problems, problem(0, p.c.Pos, fmt.Sprintf("extra notification to channel %s from node %s: %d recorded",
			c.name, n.Node, len(p.byAction[action]))))
	}
	p.mu.Unlock()
	if it != nil && it.Result == Failed { // the notify node keeps a failed one itself
		return errors.New(orDefault(it.Message, "delivery failed (recorded)"))
	}
	in.AddNotification(n)
	return nil
}

// Problems are the differences and extra requests seen so far.
func (p *Player) Problems() []Problem {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Problem(nil), p.problems...)
}

// Unused are the recorded interactions no request took, token requests aside.
func (p *Player) Unused() []Problem {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Problem
	for _, it := range p.c.Interactions {
		if p.used[it] || it.IsToken() {
			continue
		}
		what := "request"
		if it.IsDelivery() {
			what = "notification"
		} else if it.Request != nil {
			what = it.Request.Method + " " + it.Request.URL
		}
		out = append(out, problem(it.Index, it.Pos, fmt.Sprintf("%s was never used: the re-run sent no %s", it.Describe(), what)))
	}
	return out
}

// Sent are the requests and deliveries of the re-run, in order.
func (p *Player) Sent() []Sent {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Sent(nil), p.sent...)
}
