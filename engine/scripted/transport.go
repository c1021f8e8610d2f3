package scripted

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/failure"
	"github.com/archflow/archflow/engine/transport"
	"github.com/archflow/archflow/engine/yamldoc"
)

// Call is a request the transport saw, kept for `requests` expectations.
type Call struct {
	Action  string
	Node    string
	Attempt int
	Method  string
	URL     string
	Header  http.Header
	Body    []byte
}

// Problem is something a script got wrong: a call it had no answer for, or a response never used.
type Problem struct {
	Pos yamldoc.Pos
	Msg string
}

func (p Problem) String() string {
	if p.Pos.Line == 0 {
		return p.Msg
	}
	return fmt.Sprintf("%s:%d: %s", p.Pos.File, p.Pos.Line, p.Msg)
}

// Transport answers one instance's requests from a Script. It is safe for concurrent use, but
// it is meant for one instance: the cursors are that instance's.
type Transport struct {
	script *Script
	// Passthrough sends requests that no sequence matches to it (a case's passthrough: true);
	// nil makes them fail.
	Passthrough transport.Transport
	// Deliveries sends notification deliveries (notify.<channel> requests, webhooks) that no
	// sequence matches: `run --mock` delivers for real; nil makes them fail like any request.
	Deliveries transport.Transport

	mu        sync.Mutex
	used      [][]int // per sequence, per response: how many calls it answered
	next      []int   // per sequence: the response answering the next call
	calls     []Call
	perAction map[string]int
	missing   []Problem
}

// NewTransport starts a fresh set of cursors over s.
func NewTransport(s *Script) *Transport {
	t := &Transport{script: s, used: make([][]int, len(s.Sequences)), next: make([]int, len(s.Sequences)), perAction: map[string]int{}}
	for i, seq := range s.Sequences {
		t.used[i] = make([]int, len(seq.Responses))
	}
	return t
}

// ErrNoResponse is wrapped by the TransportError (Kind "script") of a call the script cannot answer.
var ErrNoResponse = errors.New("no scripted response")

// Do answers req from the first matching sequence with a response left; when every matching
// sequence is used up, one with on_exhausted: repeat_last repeats its last response.
func (t *Transport) Do(ctx context.Context, req *transport.Request) (*transport.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t.mu.Lock()
	isToken := strings.HasPrefix(req.Action, AuthPrefix)
	isDelivery := strings.HasPrefix(req.Action, NotifyPrefix) && t.Deliveries != nil
	t.calls = append(t.calls, Call{Action: req.Action, Node: req.Node, Attempt: req.Attempt, Method: req.Method, URL: req.URL,
		Header: req.Header.Clone(), Body: bytes.Clone(req.Body)})
	t.perAction[req.Action]++
	n := t.perAction[req.Action]
	resp, seq := t.pick(req)
	what := describeCall(req, n)
	unanswered := resp == nil && !(seq == nil && (isToken || isDelivery || t.Passthrough != nil))
	if unanswered {
		if seq == nil {
			t.missing = append(t.missing, Problem{Pos: t.script.Pos, Msg: fmt.Sprintf("no scripted response for %s: the script has no entry for it", what)})
		} else {
			t.missing = append(t.missing, Problem{Pos: seq.Pos, Msg: fmt.Sprintf("no scripted response left for %s: %s has %s (add responses or on_exhausted: repeat_last)",
				what, seq.Name(), plural(seq.total(), "response"))})
		}
	}
	t.mu.Unlock()
	switch {
	case resp != nil:
		return answer(resp, req)
	case unanswered:
		return nil, &transport.TransportError{Kind: "script", Err: fmt.Errorf("%w left for %s", ErrNoResponse, what)}
	case isDelivery:
		return t.Deliveries.Do(ctx, req)
	case isToken && (t.Passthrough == nil || t.scripts(req.Action)):
		return fakeToken(req), nil
	}
	return t.Passthrough.Do(ctx, req)
}

// pick finds the response for req and advances the cursor. It returns the first matching
// sequence when none has a response left.
func (t *Transport) pick(req *transport.Request) (*Response, *Sequence) {
	var first *Sequence
	repeat := -1
	for i, seq := range t.script.Sequences {
		if !seq.Match.matches(req) {
			continue
		}
		if first == nil {
			first = seq
		}
		for t.next[i] < len(seq.Responses) {
			j := t.next[i]
			if t.used[i][j] < seq.Responses[j].Times {
				t.used[i][j]++
				return seq.Responses[j], seq
			}
			t.next[i]++
		}
		if repeat < 0 && seq.OnExhausted == ExhaustedRepeatLast && len(seq.Responses) > 0 {
			repeat = i
		}
	}
	if repeat >= 0 {
		seq := t.script.Sequences[repeat]
		last := len(seq.Responses) - 1
		t.used[repeat][last]++
		return seq.Responses[last], seq
	}
	return nil, first
}

// answer turns a scripted response into what a real transport would have returned. A delay at
// or above the request's timeout is a timeout; virtual time is reported for the clock to advance.
func answer(r *Response, req *transport.Request) (*transport.Response, error) {
	host := req.URL
	if u, err := url.Parse(req.URL); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = engine.DefaultTimeout
	}
	switch r.Error {
	case ErrTimeout:
		return nil, &transport.TransportError{Kind: failure.KindTimeout, Transient: true, Virtual: timeout,
			Err: fmt.Errorf("no response within %s (scripted timeout)", timeout)}
	case ErrConnectionReset:
		return nil, &transport.TransportError{Kind: failure.KindNetwork, Transient: true, Virtual: r.Delay,
			Err: errors.New("connection reset by peer (scripted)")}
	case ErrDNS:
		return nil, &transport.TransportError{Kind: "dns", Transient: false, Virtual: r.Delay, NotSent: true, // as a real unknown host
			Err: fmt.Errorf("unknown host %s (scripted)", host)}
	}
	if r.Delay >= timeout {
		return nil, &transport.TransportError{Kind: failure.KindTimeout, Transient: true, Virtual: timeout,
			Err: fmt.Errorf("no response within %s (scripted delay of %s)", timeout, r.Delay)}
	}
	resp := &transport.Response{Status: r.Status, Header: r.Header.Clone(), Body: bytes.Clone(r.Body), Elapsed: r.Delay, Virtual: r.Delay}
	if limit := req.MaxBody; limit > 0 && int64(len(resp.Body)) > limit {
		return resp, &transport.TransportError{Kind: "too_large", Err: fmt.Errorf("response body larger than %d bytes", limit)}
	}
	return resp, nil
}

// fakeToken answers an unscripted token request of an oauth2 auth entry with a valid token.
func fakeToken(req *transport.Request) *transport.Response {
	name := strings.TrimPrefix(req.Action, AuthPrefix)
	body := fmt.Sprintf(`{"access_token":"test-token-%s","token_type":"Bearer","expires_in":3600}`, name)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return &transport.Response{Status: http.StatusOK, Header: h, Body: []byte(body)}
}

func describeCall(req *transport.Request, n int) string {
	s := fmt.Sprintf("call %d to %s (%s %s", n, req.Action, req.Method, req.URL)
	if req.Node != "" {
		s += " from node " + req.Node
	}
	return s + ")"
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// Calls returns the requests seen, in order.
func (t *Transport) Calls() []Call {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Call(nil), t.calls...)
}

// Missing returns the calls the script could not answer.
func (t *Transport) Missing() []Problem {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Problem(nil), t.missing...)
}

// Unused returns the scripted responses that answered fewer calls than they were scripted for.
// The last response of a repeat_last sequence counts as used once it answered one call.
func (t *Transport) Unused() []Problem {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Problem
	for i, seq := range t.script.Sequences {
		for j, r := range seq.Responses {
			want := r.Times
			if seq.OnExhausted == ExhaustedRepeatLast && j == len(seq.Responses)-1 {
				want = 1
			}
			got := t.used[i][j]
			if got >= want {
				continue
			}
			what := fmt.Sprintf("scripted response %d of %s (%s) was never used", j+1, seq.Name(), r.describe())
			if got > 0 {
				what = fmt.Sprintf("scripted response %d of %s (%s) was used %d of %d times", j+1, seq.Name(), r.describe(), got, r.Times)
			}
			out = append(out, Problem{Pos: r.Pos, Msg: what})
		}
	}
	return out
}

func (t *Transport) scripts(action string) bool {
	for _, seq := range t.script.Sequences {
		if seq.Match.Action == action {
			return true
		}
	}
	return false
}
