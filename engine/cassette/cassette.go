// Package cassette owns recorded instances (SPEC §7): the cassette format and its strict reader,
// the Recorder that wraps an instance's transport, uuids and channels while it runs, the Player
// that answers a re-run from a recording, and the reader that turns a --trace file into the
// same recordings. A cassette is redacted as SPEC §11 says and safe to commit.
package cassette

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/archflow/archflow/engine/transport"
	"github.com/archflow/archflow/engine/yamldoc"
)

// Suffix names cassette files (a batch writes <instance id>.cassette.yaml into a directory).
const Suffix = ".cassette.yaml"

// Version is the format version written and read.
const Version = 1

// Error kinds of an interaction that got no response.
const (
	ErrTimeout         = "timeout"
	ErrConnectionReset = "connection_reset"
	ErrDNS             = "dns"
	ErrTLS             = "tls"
	ErrTooLarge        = "too_large" // a response came, larger than the action allows
	ErrScript          = "script"    // recorded from --mock: the mock had no response left
)

var errorKinds = []string{ErrTimeout, ErrConnectionReset, ErrDNS, ErrTLS, ErrTooLarge, ErrScript}

// Delivery results of a notify.<channel> interaction.
const (
	Delivered = "delivered"
	Failed    = "failed"
)

// Cassette is one recorded instance.
type Cassette struct {
	Version  int            `yaml:"version"`
	Flow     string         `yaml:"flow"`
	Instance string         `yaml:"instance"`
	Inputs   map[string]any `yaml:"inputs"`
	Started  time.Time      `yaml:"started"`
	UUIDs    []string       `yaml:"uuids"`
	// Seed is the instance's random seed (jitter), so that a re-run draws the same waits.
	Seed         uint64         `yaml:"seed,omitempty"`
	Interactions []*Interaction `yaml:"interactions"`
	// Result is what the recorded run did, for replay to compare a re-run with (not in SPEC §7's
	// list of keys: without it a cassette could not tell a changed path from the same one).
	Result *Result `yaml:"result,omitempty"`

	File string      `yaml:"-"`
	Pos  yamldoc.Pos `yaml:"-"`
}

// Interaction is one exchange, in the order sent: a data action's request, a token request
// (action auth.<name>) or a notification delivery (action notify.<channel>).
type Interaction struct {
	Action   string    `yaml:"action"`
	Node     string    `yaml:"node,omitempty"`
	Attempt  int       `yaml:"attempt,omitempty"`
	At       time.Time `yaml:"at"`
	Request  *Request  `yaml:"request,omitempty"`
	Response *Response `yaml:"response,omitempty"`
	// Error is why no (usable) response came: timeout, connection_reset, dns, tls, too_large.
	Error string `yaml:"error,omitempty"`
	// Result of a notify.<channel> interaction: delivered or failed.
	Result string `yaml:"result,omitempty"`
	// Message is the error as the run read it (a failed exchange or delivery).
	Message string `yaml:"message,omitempty"`

	Index int         `yaml:"-"` // 1-based, in the file
	Pos   yamldoc.Pos `yaml:"-"`
}

// Request is what was sent, redacted.
type Request struct {
	Method  string            `yaml:"method"`
	URL     string            `yaml:"url"`
	Headers map[string]string `yaml:"headers,omitempty"`
	Body    string            `yaml:"body,omitempty"`
}

// Response is what came back, redacted. Elapsed is in seconds.
type Response struct {
	Status  int               `yaml:"status"`
	Headers map[string]string `yaml:"headers,omitempty"`
	Body    string            `yaml:"body,omitempty"`
	Elapsed float64           `yaml:"elapsed"`
}

// Result is what the recorded instance did: the things replay compares.
type Result struct {
	Outcome   string         `yaml:"outcome"`
	Path      []string       `yaml:"path"`
	Waits     []float64      `yaml:"waits"`
	Outputs   map[string]any `yaml:"outputs,omitempty"`
	Calls     map[string]int `yaml:"calls,omitempty"`
	StoppedAt string         `yaml:"stopped_at,omitempty"`
	Ended     time.Time      `yaml:"ended"`
}

// IsToken reports whether the interaction is an OAuth token request.
func (it *Interaction) IsToken() bool { return strings.HasPrefix(it.Action, transport.AuthPrefix) }

// IsDelivery reports whether the interaction is a notification delivery.
func (it *Interaction) IsDelivery() bool {
	return strings.HasPrefix(it.Action, transport.NotifyPrefix)
}

// Describe names the interaction in messages: "interaction 3 (push_order from node call)".
func (it *Interaction) Describe() string {
	s := fmt.Sprintf("interaction %d (%s", it.Index, it.Action)
	if it.Node != "" {
		s += " from node " + it.Node
	}
	return s + ")"
}

// Marshal encodes c as YAML.
func (c *Cassette) Marshal() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("# archflow cassette: a recorded instance, secrets redacted (archflow replay FILE --flow FLOW)\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// WriteFile writes c to path, readable by its owner only (SPEC §11: run data).
func (c *Cassette) WriteFile(path string) error {
	data, err := c.Marshal()
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil { // an existing file keeps its mode on open
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ReadFile reads and checks a cassette. Errors read file:line:col. A cassette has no size limit
// (SPEC §7), but YAML aliases are bounded as in every untrusted file.
func ReadFile(path string) (*Cassette, yamldoc.ErrorList) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, yamldoc.ErrorList{{Pos: yamldoc.Pos{File: path}, Severity: yamldoc.SevError, Msg: yamldoc.ReadError(err)}}
	}
	return Parse(path, data)
}

// Parse decodes a cassette strictly: unknown keys, wrong types and unknown error kinds are
// errors with their position.
func Parse(path string, data []byte) (*Cassette, yamldoc.ErrorList) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamldoc.ErrorList{yamldoc.YAMLSyntaxError(path, data, err)}
	}
	if e := yamldoc.CheckAliases(path, &doc, yamldoc.MaxAliasNodes); e != nil {
		return nil, yamldoc.ErrorList{e}
	}
	d := &yamldoc.Decoder{File: path}
	if len(doc.Content) == 0 {
		d.Errs.Add(yamldoc.Pos{File: path, Line: 1, Col: 1}, "empty cassette: it needs version, flow, instance and interactions (archflow run --record writes one)")
		return nil, d.Errs
	}
	root := doc.Content[0]
	m := d.Mapping(root, "version", "flow", "instance", "inputs", "started", "uuids", "seed", "interactions", "result")
	if m == nil {
		return nil, d.Errs.Sort()
	}
	c := &Cassette{File: path, Pos: d.Pos(root)}
	if x := m["version"]; x == nil {
		d.Errorf(root, "missing version: (1)")
	} else if v, ok := d.Int(x); ok {
		if v != Version {
			d.Errorf(x, "unsupported cassette version %d (this archflow reads version %d)", v, Version)
		}
		c.Version = v
	}
	if x := m["flow"]; x == nil {
		d.Errorf(root, "missing flow: (the name of the recorded flow)")
	} else {
		c.Flow, _ = d.String(x)
	}
	if x := m["instance"]; x != nil {
		c.Instance, _ = d.String(x)
	}
	if x := m["inputs"]; x != nil {
		if v, ok := d.Value(x).(map[string]any); ok {
			c.Inputs = v
		} else if !isNull(x) {
			d.Errorf(x, "inputs: expected a mapping of input names to values")
		}
	}
	if x := m["started"]; x != nil {
		c.Started, _ = d.Time(x)
	}
	if x := m["uuids"]; x != nil && !isNull(x) {
		c.UUIDs, _ = d.Strings(x)
	}
	if x := m["seed"]; x != nil {
		var seed uint64
		if err := x.Decode(&seed); err != nil {
			d.Errorf(x, "seed: expected a whole number")
		}
		c.Seed = seed
	}
	if x := m["interactions"]; x == nil {
		d.Errorf(root, "missing interactions: (a list, [] when the instance sent nothing)")
	} else if items, ok := d.List(x); ok {
		for i, it := range items {
			if ia := decodeInteraction(d, it); ia != nil {
				ia.Index = i + 1
				c.Interactions = append(c.Interactions, ia)
			}
		}
	}
	if x := m["result"]; x != nil {
		c.Result = decodeResult(d, x)
	}
	if errs := d.Errs.Sort(); len(errs.Errors()) > 0 {
		return nil, errs
	}
	return c, nil
}

func isNull(n *yaml.Node) bool {
	n = yamldoc.Resolve(n)
	return n != nil && n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func decodeInteraction(d *yamldoc.Decoder, n *yaml.Node) *Interaction {
	m := d.Mapping(n, "action", "node", "attempt", "at", "request", "response", "error", "result", "message")
	if m == nil {
		return nil
	}
	it := &Interaction{Pos: d.Pos(n)}
	if x := m["action"]; x == nil {
		d.Errorf(n, "an interaction needs an action: (the data action, auth.<name> or notify.<channel>)")
	} else {
		it.Action, _ = d.String(x)
	}
	if x := m["node"]; x != nil {
		it.Node, _ = d.String(x)
	}
	if x := m["attempt"]; x != nil {
		it.Attempt, _ = d.Int(x)
	}
	if x := m["at"]; x != nil {
		it.At, _ = d.Time(x)
	}
	if x := m["request"]; x != nil {
		if rm := d.Mapping(x, "method", "url", "headers", "body"); rm != nil {
			r := &Request{}
			if y := rm["method"]; y == nil {
				d.Errorf(x, "a request needs a method:")
			} else {
				r.Method, _ = d.String(y)
			}
			if y := rm["url"]; y == nil {
				d.Errorf(x, "a request needs a url:")
			} else {
				r.URL, _ = d.String(y)
			}
			r.Headers = headers(d, rm["headers"])
			r.Body = body(d, rm["body"])
			it.Request = r
		}
	}
	if x := m["response"]; x != nil {
		if rm := d.Mapping(x, "status", "headers", "body", "elapsed"); rm != nil {
			r := &Response{}
			if y := rm["status"]; y == nil {
				d.Errorf(x, "a response needs a status:")
			} else if s, ok := d.Int(y); ok {
				if s < 100 || s > 599 {
					d.Errorf(y, "%d is not an HTTP status", s)
				}
				r.Status = s
			}
			r.Headers = headers(d, rm["headers"])
			r.Body = body(d, rm["body"])
			if y := rm["elapsed"]; y != nil {
				if f, ok := d.Value(y).(float64); ok {
					r.Elapsed = f
				} else if i, ok := d.Value(y).(int); ok {
					r.Elapsed = float64(i)
				} else {
					d.Errorf(y, "elapsed: expected seconds (a number)")
				}
			}
			it.Response = r
		}
	}
	if x := m["error"]; x != nil {
		if s, ok := d.String(x); ok {
			if !slices.Contains(errorKinds, s) {
				d.Errorf(x, "unknown error %q%s (one of %s)", s, yamldoc.DidYouMean(s, errorKinds), strings.Join(errorKinds, ", "))
			}
			it.Error = s
		}
	}
	if x := m["result"]; x != nil {
		if s, ok := d.String(x); ok {
			if s != Delivered && s != Failed {
				d.Errorf(x, "unknown result %q (delivered or failed)", s)
			}
			it.Result = s
		}
	}
	if x := m["message"]; x != nil {
		it.Message, _ = d.String(x)
	}
	switch {
	case it.IsDelivery():
		if it.Result == "" {
			d.Errorf(n, "a notify.<channel> interaction needs a result: (delivered or failed)")
		}
	case it.Action != "":
		if it.Request == nil {
			d.Errorf(n, "interaction of %s needs a request:", it.Action)
		}
		if it.Response == nil && it.Error == "" {
			d.Errorf(n, "interaction of %s needs a response: or an error:", it.Action)
		}
	}
	return it
}

func headers(d *yamldoc.Decoder, n *yaml.Node) map[string]string {
	if n == nil || isNull(n) {
		return nil
	}
	fields, ok := d.Fields(n)
	if !ok {
		return nil
	}
	out := make(map[string]string, len(fields))
	for _, f := range fields {
		out[f.Key.Value], _ = d.String(f.Value)
	}
	return out
}

// body reads a body: a string as sent, or a mapping or list (written by hand) sent as JSON.
func body(d *yamldoc.Decoder, n *yaml.Node) string {
	if n == nil || isNull(n) {
		return ""
	}
	n = yamldoc.Resolve(n)
	if n.Kind == yaml.ScalarNode {
		return n.Value
	}
	b, err := json.Marshal(d.Value(n))
	if err != nil {
		d.Errorf(n, "body: %v", err)
	}
	return string(b)
}

func decodeResult(d *yamldoc.Decoder, n *yaml.Node) *Result {
	m := d.Mapping(n, "outcome", "path", "waits", "outputs", "calls", "stopped_at", "ended")
	if m == nil {
		return nil
	}
	r := &Result{}
	if x := m["outcome"]; x != nil {
		r.Outcome, _ = d.String(x)
	}
	if x := m["path"]; x != nil {
		r.Path, _ = d.Strings(x)
	}
	if x := m["waits"]; x != nil {
		if items, ok := d.List(x); ok {
			for _, it := range items {
				switch v := d.Value(it).(type) {
				case float64:
					r.Waits = append(r.Waits, v)
				case int:
					r.Waits = append(r.Waits, float64(v))
				default:
					d.Errorf(it, "waits: expected seconds (a number)")
				}
			}
		}
	}
	if x := m["outputs"]; x != nil {
		r.Outputs, _ = d.Value(x).(map[string]any)
	}
	if x := m["calls"]; x != nil {
		fields, _ := d.Fields(x)
		r.Calls = map[string]int{}
		for _, f := range fields {
			r.Calls[f.Key.Value], _ = d.Int(f.Value)
		}
	}
	if x := m["stopped_at"]; x != nil {
		r.StoppedAt, _ = d.String(x)
	}
	if x := m["ended"]; x != nil {
		r.Ended, _ = d.Time(x)
	}
	return r
}

// Plain converts a run's value to what YAML and JSON hold alike: times as RFC 3339 strings,
// durations as Go duration strings, maps and lists copied.
func Plain(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case time.Duration:
		return x.String()
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = Plain(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Plain(e)
		}
		return out
	case map[string]string:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = e
		}
		return out
	}
	return v
}
