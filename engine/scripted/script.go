// Package scripted answers data-action requests from scripted responses instead of the network:
// the `http:` section of a test case and the file of `archflow run --mock`. A Script is parsed
// once and read-only; each instance gets its own Transport, which holds the cursors of the
// sequences, so instances never consume each other's responses.
package scripted

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/archflow/archflow/engine"
)

// Scripted failures a response may give instead of a status.
const (
	ErrTimeout         = "timeout"
	ErrConnectionReset = "connection_reset"
	ErrDNS             = "dns"
)

// What happens when a sequence has no response left.
const (
	ExhaustedFail       = "fail"        // the call fails the case (or the instance, under --mock)
	ExhaustedRepeatLast = "repeat_last" // the last response answers every further call
)

// AuthPrefix names the token requests of an auth entry: auth types send them through the
// instance's Transport with Request.Action = "auth.<name>", and a script may answer them under
// that name. Unscripted token requests get a valid fake token.
const AuthPrefix = "auth."

// Response is one scripted answer. Times says how many consecutive calls it answers.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	Delay  time.Duration
	Times  int
	Error  string // ErrTimeout, ErrConnectionReset, ErrDNS or ""
	Pos    engine.Pos
}

func (r *Response) describe() string {
	if r.Error != "" {
		return "error: " + r.Error
	}
	return fmt.Sprintf("status %d", r.Status)
}

// Match selects the requests a sequence answers; empty fields match anything.
type Match struct {
	Action string
	Method string
	URL    string
	Node   string
	url    *regexp.Regexp // set when URL holds a * glob

	ActionPos, NodePos engine.Pos
}

func (m *Match) matches(req *engine.Request) bool {
	if m.Action != "" && m.Action != req.Action {
		return false
	}
	if m.Method != "" && !strings.EqualFold(m.Method, req.Method) {
		return false
	}
	if m.Node != "" && m.Node != req.Node {
		return false
	}
	if m.URL != "" {
		if m.url != nil {
			return m.url.MatchString(req.URL)
		}
		return m.URL == req.URL
	}
	return true
}

func (m *Match) String() string {
	var parts []string
	for _, kv := range [][2]string{{"action", m.Action}, {"method", m.Method}, {"url", m.URL}, {"node", m.Node}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+": "+kv[1])
		}
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// Glob compiles a pattern in which * matches any run of characters (slashes included).
func Glob(pattern string) *regexp.Regexp {
	if !strings.Contains(pattern, "*") {
		return nil
	}
	parts := strings.Split(pattern, "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile("^" + strings.Join(parts, ".*") + "$")
}

// Sequence is the responses that answer the requests its Match selects, in order.
type Sequence struct {
	Match       Match
	Responses   []*Response
	OnExhausted string
	Pos         engine.Pos
	byAction    bool
}

// Name is how messages name the sequence: the action, or the match.
func (s *Sequence) Name() string {
	if s.byAction {
		return s.Match.Action
	}
	return "match " + s.Match.String()
}

func (s *Sequence) total() int {
	n := 0
	for _, r := range s.Responses {
		n += r.Times
	}
	return n
}

// Script is a parsed `http:` section: read-only, shared by the instances it answers.
type Script struct {
	Sequences []*Sequence
	// ByAction is the map form (action name → responses); else the list of match entries.
	ByAction bool
	Pos      engine.Pos
}

var responseKeys = []string{"status", "headers", "body", "delay", "times", "error"}

// Parse reads an `http:` section: a map from action name to responses (or to {responses,
// on_exhausted}), or a list of {match, responses, on_exhausted}. Errors go to d.
func Parse(d *Decoder, n *yaml.Node) *Script {
	n = resolve(n)
	s := &Script{Pos: d.Pos(n)}
	if n == nil {
		return s
	}
	switch n.Kind {
	case yaml.MappingNode:
		s.ByAction = true
		fields, _ := d.Fields(n)
		for _, f := range fields {
			if f.Key.Value == "match" || f.Key.Value == "responses" {
				d.Errorf(f.Key, "http: is a map from action name to responses here; for match entries write a list: - {match: {...}, responses: [...]}")
				continue
			}
			seq := &Sequence{Pos: d.Pos(f.Key), byAction: true, OnExhausted: ExhaustedFail}
			seq.Match.Action, seq.Match.ActionPos = f.Key.Value, d.Pos(f.Key)
			v := f.Value
			if v.Kind == yaml.MappingNode && looksLikeResponse(v) {
				d.Errorf(v, "%s expects a list of responses: write [{...}] (or {responses: [...], on_exhausted: ...})", f.Key.Value)
				continue
			}
			if v.Kind == yaml.MappingNode {
				m := d.Mapping(v, "responses", "on_exhausted")
				if m == nil {
					continue
				}
				if m["responses"] == nil {
					d.Errorf(v, "%s needs responses:", f.Key.Value)
				}
				seq.Responses = parseResponses(d, m["responses"])
				seq.OnExhausted = parseExhausted(d, m["on_exhausted"])
			} else {
				seq.Responses = parseResponses(d, v)
			}
			s.Sequences = append(s.Sequences, seq)
		}
	case yaml.SequenceNode:
		for _, it := range n.Content {
			it = resolve(it)
			m := d.Mapping(it, "match", "responses", "on_exhausted")
			if m == nil {
				continue
			}
			seq := &Sequence{Pos: d.Pos(it), OnExhausted: ExhaustedFail}
			if mn := m["match"]; mn == nil {
				d.Errorf(it, "an http: entry needs match: {action, method, url, node}")
			} else if mm := d.Mapping(mn, "action", "method", "url", "node"); mm != nil {
				if len(mm) == 0 {
					d.Errorf(mn, "match: needs at least one of action, method, url, node")
				}
				if x := mm["action"]; x != nil {
					seq.Match.Action, _ = d.String(x)
					seq.Match.ActionPos = d.Pos(x)
				}
				if x := mm["method"]; x != nil {
					seq.Match.Method, _ = d.String(x)
					seq.Match.Method = strings.ToUpper(seq.Match.Method)
				}
				if x := mm["url"]; x != nil {
					seq.Match.URL, _ = d.String(x)
					seq.Match.url = Glob(seq.Match.URL)
				}
				if x := mm["node"]; x != nil {
					seq.Match.Node, _ = d.String(x)
					seq.Match.NodePos = d.Pos(x)
				}
			}
			if m["responses"] == nil {
				d.Errorf(it, "an http: entry needs responses:")
			}
			seq.Responses = parseResponses(d, m["responses"])
			seq.OnExhausted = parseExhausted(d, m["on_exhausted"])
			s.Sequences = append(s.Sequences, seq)
		}
	default:
		d.Errorf(n, "http: expects a map from action name to responses, or a list of {match, responses} entries")
	}
	return s
}

// looksLikeResponse tells a single response written where a list belongs from {responses: ...}.
func looksLikeResponse(n *yaml.Node) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		if k == "responses" || k == "on_exhausted" {
			return false
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if slices.Contains(responseKeys, n.Content[i].Value) {
			return true
		}
	}
	return false
}

func parseExhausted(d *Decoder, n *yaml.Node) string {
	if n == nil {
		return ExhaustedFail
	}
	s, ok := d.String(n)
	if ok && s != ExhaustedFail && s != ExhaustedRepeatLast {
		d.Errorf(n, "on_exhausted must be fail or repeat_last, not %q", s)
	}
	return s
}

func parseResponses(d *Decoder, n *yaml.Node) []*Response {
	items, ok := d.List(n)
	if !ok {
		return nil
	}
	if len(items) == 0 {
		d.Errorf(n, "an empty list of responses answers nothing; give at least one")
	}
	var out []*Response
	for _, it := range items {
		if r := parseResponse(d, it); r != nil {
			out = append(out, r)
		}
	}
	return out
}

func parseResponse(d *Decoder, n *yaml.Node) *Response {
	m := d.Mapping(n, responseKeys...)
	if m == nil {
		return nil
	}
	r := &Response{Status: http.StatusOK, Times: 1, Header: http.Header{}, Pos: d.Pos(n)}
	if x := m["error"]; x != nil {
		r.Error, _ = d.String(x)
		switch r.Error {
		case ErrTimeout, ErrConnectionReset, ErrDNS:
		default:
			d.Errorf(x, "error must be timeout, connection_reset or dns, not %q", r.Error)
		}
		for _, k := range []string{"status", "headers", "body"} {
			if m[k] != nil {
				d.Errorf(m[k], "a response with error: %s has no %s", r.Error, k)
			}
		}
		r.Status = 0
	}
	if x := m["status"]; x != nil {
		if st, ok := d.Int(x); ok {
			if st < 100 || st > 599 {
				d.Errorf(x, "%d is not an HTTP status", st)
			}
			r.Status = st
		}
	}
	if x := m["times"]; x != nil {
		if t, ok := d.Int(x); ok {
			if t < 1 {
				d.Errorf(x, "times must be at least 1")
			}
			r.Times = t
		}
	}
	if x := m["delay"]; x != nil {
		if dl, ok := d.Duration(x); ok {
			if dl < 0 {
				d.Errorf(x, "delay must not be negative")
			}
			r.Delay = dl
		}
	}
	if x := m["headers"]; x != nil {
		fields, _ := d.Fields(x)
		for _, f := range fields {
			vals, ok := d.Strings(f.Value)
			if !ok {
				continue
			}
			for _, v := range vals {
				r.Header.Add(f.Key.Value, v)
			}
		}
	}
	if x := resolve(m["body"]); x != nil {
		if x.Kind == yaml.ScalarNode && x.Tag == "!!str" {
			r.Body = []byte(x.Value) // a string is sent as it is
		} else {
			b, err := json.Marshal(d.Value(x))
			if err != nil {
				d.Errorf(x, "body: %v", err)
			}
			r.Body = b
			if r.Header.Get("Content-Type") == "" {
				r.Header.Set("Content-Type", "application/json")
			}
		}
	}
	return r
}

// Check reports names of a script that the flow does not have: actions, auth entries, nodes.
func (s *Script) Check(f *engine.Flow) engine.ErrorList {
	var errs engine.ErrorList
	var actions, nodes, auths []string
	for name := range f.Actions {
		actions = append(actions, name)
	}
	for name := range f.Auth {
		auths = append(auths, AuthPrefix+name)
	}
	for _, n := range f.Nodes {
		nodes = append(nodes, n.Name)
	}
	for _, seq := range s.Sequences {
		if a := seq.Match.Action; a != "" {
			if strings.HasPrefix(a, AuthPrefix) {
				if f.Auth[strings.TrimPrefix(a, AuthPrefix)] == nil {
					errs.Add(seq.Match.ActionPos, "flow %s has no auth entry %q%s", f.Name, strings.TrimPrefix(a, AuthPrefix), didYouMean(a, auths))
				}
			} else if f.Actions[a] == nil {
				errs.Add(seq.Match.ActionPos, "flow %s has no action %q%s", f.Name, a, didYouMean(a, append(actions, auths...)))
			}
		}
		if n := seq.Match.Node; n != "" && f.Node(n) == nil {
			errs.Add(seq.Match.NodePos, "flow %s has no node %q%s", f.Name, n, didYouMean(n, nodes))
		}
	}
	return errs
}

// Mock is a --mock file: a script that gives each instance a fresh Transport.
type Mock struct {
	Script *Script
	File   string
}

// LoadMock reads a --mock file, which holds what a test case's http: holds. Errors come back as
// an engine.ErrorList with file:line:col.
func LoadMock(path string) (*Mock, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		msg := err.Error()
		if os.IsNotExist(err) {
			msg = "no such file"
		}
		return nil, engine.ErrorList{{Pos: engine.Pos{File: path}, Severity: engine.SevError, Msg: msg}}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, engine.ErrorList{engine.YAMLSyntaxError(path, data, err)}
	}
	d := &Decoder{File: path}
	if len(doc.Content) == 0 {
		d.Errs.Add(engine.Pos{File: path, Line: 1, Col: 1}, "empty mock file: give what a test case's http: holds")
		return nil, d.Errs
	}
	s := Parse(d, doc.Content[0])
	if err := d.Errs.Err(); err != nil {
		return nil, err
	}
	return &Mock{Script: s, File: path}, nil
}

// Transport returns a transport with fresh cursors: one per instance.
func (m *Mock) Transport() engine.Transport { return NewTransport(m.Script) }
