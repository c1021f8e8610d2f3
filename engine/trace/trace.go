// Package trace owns what an instance tells about itself: the events of a trace, the tracers that
// write them (JSON Lines), how an event reads in text output, and the redactor that keeps
// secrets out of all of it.
package trace

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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
	Set     Vars               `json:"set,omitempty"`
	Action  string             `json:"action,omitempty"`
	Attempt int                `json:"attempt,omitempty"`
	Visit   int                `json:"visit,omitempty"` // which entry into the node this is (a hand-built loop re-enters it)
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
	// UUID is a uuid() result (event uuid); Outputs are the output variables at the end (event
	// end): with them a trace holds what a cassette holds (SPEC §5, §7).
	UUID    string         `json:"uuid,omitempty"`
	Outputs map[string]any `json:"outputs,omitempty"`
}

// Tracer receives every event of every instance. It must be safe for concurrent use.
type Tracer interface {
	Event(e *Event)
}

// Copier is a Tracer that is done with an event, and with the maps it points to, when Event
// returns: it keeps copies or nothing. An instance then builds its events in one piece of memory
// it reuses, instead of allocating each (a traced step allocates nothing for its events).
type Copier interface {
	Tracer
	CopiesEvents() bool
}

// JSONLTracer writes events as JSON Lines.
type JSONLTracer struct {
	mu   sync.Mutex
	w    *bufio.Writer
	last lastWritten // the instance id and time it last wrote, to copy when they repeat
}

// NewJSONLTracer writes to w; call Flush at the end.
func NewJSONLTracer(w io.Writer) *JSONLTracer {
	return &JSONLTracer{w: bufio.NewWriterSize(w, 64<<10)}
}

// eventRoom is the free space a small event is encoded into: most events are a few hundred bytes.
const eventRoom = 4 << 10

// eventBuffer is a scratch buffer of JSONLTracer for a large event, encoded outside the lock,
// with the last instance id and time it wrote.
type eventBuffer struct {
	b    []byte
	last lastWritten
}

var eventBuffers = sync.Pool{New: func() any { return &eventBuffer{b: make([]byte, 0, 1024)} }}

// Event encodes e and writes it as one line (a line is never split between two writers).
// A small event is encoded under the lock straight into the writer's free space: a fraction of
// a microsecond, less than handing a scratch buffer around would cost. One whose values (body,
// inputs, outputs, variables set) may hold more than a KiB is encoded outside the lock into a
// reused scratch buffer, then copied in: instances encode large bodies in parallel, and the
// writer's free space is not outgrown into fresh memory each time.
func (t *JSONLTracer) Event(e *Event) {
	if !small(e) {
		buf := eventBuffers.Get().(*eventBuffer)
		b, err := appendEvent(buf.b[:0], e, true, &buf.last)
		if err == nil {
			buf.b = b
		} else {
			b = encodeFallback(e, err)
		}
		t.mu.Lock()
		t.w.Write(b)
		t.w.WriteByte('\n')
		t.mu.Unlock()
		if cap(buf.b) <= 64<<10 { // an event with a large body does not pin its buffer
			eventBuffers.Put(buf)
		}
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.w.Available() < eventRoom {
		t.w.Flush() // an error stays with the writer, and Flush reports it
	}
	b, err := appendEvent(t.w.AvailableBuffer(), e, true, &t.last)
	if err != nil {
		b = encodeFallback(e, err)
	}
	b = append(b, '\n')
	t.w.Write(b) // within the buffer's free space, a copy onto itself
}

// small reports whether e's values surely take less than a KiB of JSON, roughly (an event it
// misjudges is written all the same).
func small(e *Event) bool {
	room := 1 << 10
	if e.Body != nil {
		room = roomLeft(e.Body, room)
	}
	if len(e.Inputs) > 0 { // ranging over an empty map costs more than this test
		room = roomLeft(e.Inputs, room)
	}
	if len(e.Outputs) > 0 {
		room = roomLeft(e.Outputs, room)
	}
	for _, v := range e.Set {
		if room < 0 {
			break
		}
		room = roomLeft(v.Value, room-len(v.Name)-4)
	}
	return room >= 0
}

// roomLeft is room less about the size of v as JSON; once that is negative it stops counting.
// A value of a type other than JSON's (and int, int64) counts as too large.
func roomLeft(v any, room int) int {
	switch x := v.(type) {
	case nil, bool, float64, int, int64:
		return room - 24
	case string:
		return room - len(x) - 2
	case map[string]any:
		for k, e := range x {
			if room = roomLeft(e, room-len(k)-4); room < 0 {
				return room
			}
		}
		return room - 2
	case []any:
		for _, e := range x {
			if room = roomLeft(e, room-1); room < 0 {
				return room
			}
		}
		return room - 2
	}
	return -1
}

// encodeFallback is e, which appendEvent could not encode (err), with what JSON cannot hold
// shown as strings: an event is never skipped.
func encodeFallback(e *Event, err error) []byte {
	cp := *e
	cp.Inputs, _ = Encodable(e.Inputs).(map[string]any)
	if e.Set != nil {
		cp.Set = VarsOf(Encodable(e.Set.Map()).(map[string]any))
	}
	cp.Body = Encodable(e.Body)
	cp.Message = strings.TrimSpace(e.Message + " (some values could not be encoded as JSON: " + err.Error() + ")")
	b, err := json.Marshal(&cp)
	if err != nil {
		b, _ = json.Marshal(&Event{Seq: e.Seq, Instance: e.Instance, Time: e.Time, Node: e.Node, Kind: e.Kind, Event: e.Event,
			Message: "event could not be encoded as JSON: " + err.Error()})
	}
	return b
}

// CopiesEvents: an event is encoded before Event returns.
func (t *JSONLTracer) CopiesEvents() bool { return true }

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
	mu      sync.Mutex // held by Add; readers load r, every traced event asks Empty
	secrets []string
	r       atomic.Pointer[strings.Replacer]
}

// Add registers a sensitive value, of any length, and the forms it takes on the way to the wire:
// URL-encoded (query and path), JSON-escaped (a body), base64 (a Basic credential). Longer forms
// are replaced first, so a secret inside another is not half-redacted.
func (r *Redactor) Add(s string) {
	if s == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if slices.Contains(r.secrets, s) {
		return
	}
	for _, form := range sensitiveForms(s) {
		if !slices.Contains(r.secrets, form) {
			r.secrets = append(r.secrets, form)
		}
	}
	slices.SortStableFunc(r.secrets, func(a, b string) int { return len(b) - len(a) })
	pairs := make([]string, 0, 2*len(r.secrets))
	for _, x := range r.secrets {
		pairs = append(pairs, x, Redacted)
	}
	r.r.Store(strings.NewReplacer(pairs...))
}

// sensitiveForms are s and its encodings, each once.
func sensitiveForms(s string) []string {
	// a JSON body quoted again (an API echoing the request in a JSON string) escapes it twice
	forms := []string{s, url.QueryEscape(s), url.PathEscape(s), jsonEscaped(s), jsonEscapedHTML(s),
		jsonEscaped(jsonEscaped(s)), jsonEscapedHTML(jsonEscapedHTML(s)),
		base64.StdEncoding.EncodeToString([]byte(s)), base64.URLEncoding.EncodeToString([]byte(s))}
	out := forms[:0]
	for _, f := range forms {
		if f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// jsonEscaped is s as it appears between the quotes of a JSON string (without HTML escaping).
func jsonEscaped(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // a string always encodes
	out := strings.TrimSuffix(b.String(), "\n")
	return out[1 : len(out)-1]
}

// jsonEscapedHTML is s as encoding/json writes it by default (<, > and & escaped).
func jsonEscapedHTML(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// Sensitive reports whether s holds a registered secret.
func (r *Redactor) Sensitive(s string) bool { return r.String(s) != s }

// String redacts s.
func (r *Redactor) String(s string) string {
	rep := r.r.Load()
	if rep == nil {
		return s
	}
	return rep.Replace(s)
}

// Empty reports whether there is nothing to redact.
func (r *Redactor) Empty() bool {
	return r.r.Load() == nil
}

// Value redacts every string inside v: v itself when no secret is registered, else a map or a
// list is copied whether or not it held one.
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

// Vars redacts every string inside the values of vs: vs itself when no secret is registered,
// else a copy (whether or not a value held one).
func (r *Redactor) Vars(vs Vars) Vars {
	if r.Empty() {
		return vs
	}
	out := make(Vars, len(vs))
	for i, v := range vs {
		out[i] = Var{v.Name, r.Value(v.Value)}
	}
	return out
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

// Encodable copies v with every value JSON cannot encode replaced by a string.
func Encodable(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return FormatFloat(x)
		}
		return x
	case float32:
		return Encodable(float64(x))
	case map[string]any:
		if x == nil {
			return map[string]any(nil)
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = Encodable(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Encodable(e)
		}
		return out
	}
	if _, err := json.Marshal(v); err != nil {
		return "unencodable value: " + err.Error()
	}
	return v
}

// FormatFloat spells the floats JSON cannot hold (NaN, ±Inf) as strings.
func FormatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "+Inf"
	}
	return "-Inf"
}
