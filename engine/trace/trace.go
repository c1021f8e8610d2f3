// Package trace owns what an instance tells about itself: the events of a trace, the tracers that
// write them (JSON Lines), how an event reads in text output, and the redactor that keeps
// secrets out of all of it.
package trace

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/archflow/archflow/engine/failure"
)

// Event is one trace step. Fields beyond the first six are set by the events that need them.
type Event struct {
	Seq      int       `json:"seq"`
	Instance string    `json:"instance"`
	Time     time.Time `json:"time"`
	Node     string    `json:"node,omitempty"`
	Kind     string    `json:"kind,omitempty"`
	Event    string    `json:"event"`

	Flow    string             `json:"flow,omitempty"`
	Inputs  map[string]any     `json:"inputs,omitempty"`
	From    string             `json:"from,omitempty"`
	Via     string             `json:"via,omitempty"`
	Set     map[string]any     `json:"set,omitempty"`
	Action  string             `json:"action,omitempty"`
	Attempt int                `json:"attempt,omitempty"`
	Method  string             `json:"method,omitempty"`
	URL     string             `json:"url,omitempty"`
	Status  *int               `json:"status,omitempty"`
	Headers map[string]string  `json:"headers,omitempty"`
	Body    any                `json:"body,omitempty"`
	Elapsed *float64           `json:"elapsed,omitempty"`
	Outcome string             `json:"outcome,omitempty"`
	Class   string             `json:"class,omitempty"`
	Case    string             `json:"case,omitempty"`
	Next    string             `json:"next,omitempty"`
	Seconds *float64           `json:"seconds,omitempty"`
	Until   *time.Time         `json:"until,omitempty"`
	Channel string             `json:"channel,omitempty"`
	Subject string             `json:"subject,omitempty"`
	Error   *failure.ErrorInfo `json:"error,omitempty"`
	Message string             `json:"message,omitempty"`
}

// Tracer receives every event of every instance. It must be safe for concurrent use.
type Tracer interface {
	Event(e *Event)
}

// JSONLTracer writes events as JSON Lines.
type JSONLTracer struct {
	mu sync.Mutex
	w  *bufio.Writer
}

// NewJSONLTracer writes to w; call Flush at the end.
func NewJSONLTracer(w io.Writer) *JSONLTracer { return &JSONLTracer{w: bufio.NewWriter(w)} }

func (t *JSONLTracer) Event(e *Event) {
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	t.mu.Lock()
	t.w.Write(b)
	t.w.WriteByte('\n')
	t.mu.Unlock()
}

// Flush writes buffered events out.
func (t *JSONLTracer) Flush() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.w.Flush()
}

// TraceFunc adapts a function to a Tracer.
type TraceFunc func(e *Event)

func (f TraceFunc) Event(e *Event) { f(e) }

// Redacted is what a secret or credential is replaced with.
const Redacted = "[REDACTED]"

// sensitiveHeaders are never written as they are.
var sensitiveHeaders = map[string]bool{"Authorization": true, "Proxy-Authorization": true, "Cookie": true, "Set-Cookie": true, "X-Api-Key": true}

// Redactor replaces secret values wherever they appear. One per instance: the values come from
// secret() calls and auth credentials of that instance.
type Redactor struct {
	mu      sync.Mutex
	secrets []string
	r       *strings.Replacer
}

// Add registers a secret value.
func (r *Redactor) Add(s string) {
	if len(s) < 4 { // too short to redact without mangling ordinary text
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, x := range r.secrets {
		if x == s {
			return
		}
	}
	r.secrets = append(r.secrets, s)
	var pairs []string
	for _, x := range r.secrets {
		pairs = append(pairs, x, Redacted)
	}
	r.r = strings.NewReplacer(pairs...)
}

// String redacts s.
func (r *Redactor) String(s string) string {
	r.mu.Lock()
	rep := r.r
	r.mu.Unlock()
	if rep == nil {
		return s
	}
	return rep.Replace(s)
}

// Empty reports whether there is nothing to redact.
func (r *Redactor) Empty() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.r == nil
}

// Value redacts every string inside v, returning a copy when anything changed.
func (r *Redactor) Value(v any) any {
	if r.Empty() {
		return v
	}
	switch x := v.(type) {
	case string:
		return r.String(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = r.Value(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = r.Value(e)
		}
		return out
	case map[string]string:
		out := make(map[string]string, len(x))
		for k, e := range x {
			out[k] = r.String(e)
		}
		return out
	}
	return v
}

// RedactHeaders flattens headers for a trace, hiding credentials.
func (r *Redactor) RedactHeaders(h map[string][]string) map[string]string {
	if len(h) == 0 {
		return nil
	}
	out := make(map[string]string, len(h))
	for k, vs := range h {
		if sensitiveHeaders[k] {
			out[k] = Redacted
			continue
		}
		out[k] = r.String(strings.Join(vs, ", "))
	}
	return out
}

// Tone is how a line of text output is coloured.
type Tone int

const (
	ToneNormal Tone = iota
	ToneGood
	ToneWarn
	ToneBad
)

// Line is how one trace event reads in text output: the text, a dimmed note after it, a tone.
type Line struct {
	Text string
	Note string
	Tone Tone
}

// FormatVars prints name=value pairs sorted by name, values as FormatValue prints them.
func FormatVars(m map[string]any) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+FormatValue(m[k]))
	}
	return strings.Join(parts, " ")
}

// FormatValue prints a variable's value: NOT_SET, a quoted string, a time, a duration or JSON.
func FormatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "NOT_SET"
	case string:
		return fmt.Sprintf("%q", x)
	case time.Time:
		return x.Format(time.RFC3339)
	case time.Duration:
		return x.String()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// FormatSeconds prints seconds as a duration (1m30s).
func FormatSeconds(s float64) string {
	return time.Duration(s * float64(time.Second)).String()
}
