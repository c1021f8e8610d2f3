package trace

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/archflow/archflow/engine/failure"
)

// AppendJSON appends e as JSON, byte for byte what encoding/json writes for it (json.Marshal
// when escapeHTML, an Encoder with SetEscapeHTML(false) otherwise; no newline), without going
// through reflection: a traced step costs an encoding, not a walk over struct tags and maps of
// interfaces. Values of types it does not know are handed to encoding/json; a value JSON cannot
// hold (NaN, ±Inf) is an error, as it is for json.Marshal.
func AppendJSON(b []byte, e *Event, escapeHTML bool) ([]byte, error) {
	return appendEvent(b, e, escapeHTML, nil)
}

// lastWritten keeps an encoder's last instance id and time as written: consecutive events of an
// instance repeat both (on the virtual clock, the time too), and copying them is cheaper than
// encoding them again (a Local time costs a zone lookup).
type lastWritten struct {
	inst  string
	instB []byte
	t     time.Time
	tB    []byte
}

func appendEvent(b []byte, e *Event, escapeHTML bool, last *lastWritten) ([]byte, error) {
	w := jsonWriter{b: b, html: escapeHTML}
	w.b = append(w.b, `{"seq":`...)
	w.b = strconv.AppendInt(w.b, int64(e.Seq), 10)
	w.b = append(w.b, `,"instance":`...)
	switch {
	case last == nil:
		w.str(e.Instance)
	case last.instB != nil && last.inst == e.Instance:
		w.b = append(w.b, last.instB...)
	default:
		n := len(w.b)
		w.str(e.Instance)
		last.inst, last.instB = e.Instance, append(last.instB[:0], w.b[n:]...)
	}
	w.b = append(w.b, `,"time":`...)
	switch {
	case last == nil:
		w.time(e.Time)
	case last.tB != nil && last.t == e.Time: // the same instant in the same zone
		w.b = append(w.b, last.tB...)
	default:
		n, err := len(w.b), w.err
		w.time(e.Time)
		if w.err == err {
			last.t, last.tB = e.Time, append(last.tB[:0], w.b[n:]...)
		}
	}
	w.optStr(`,"node":`, e.Node)
	w.optStr(`,"kind":`, e.Kind)
	w.b = append(w.b, `,"event":`...)
	w.str(e.Event)
	w.optStr(`,"flow":`, e.Flow)
	if len(e.Inputs) > 0 {
		w.key("inputs")
		w.object(e.Inputs)
	}
	w.optStr(`,"from":`, e.From)
	w.optStr(`,"via":`, e.Via)
	if len(e.Set) > 0 {
		w.key("set")
		w.vars(e.Set)
	}
	w.optStr(`,"action":`, e.Action)
	w.optInt(`,"attempt":`, e.Attempt)
	w.optInt(`,"visit":`, e.Visit)
	w.optStr(`,"method":`, e.Method)
	w.optStr(`,"url":`, e.URL)
	if e.Status != nil {
		w.key("status")
		w.b = strconv.AppendInt(w.b, int64(*e.Status), 10)
	}
	if len(e.Headers) > 0 {
		w.key("headers")
		w.strings(e.Headers)
	}
	if e.Body != nil {
		w.key("body")
		w.value(e.Body)
	}
	if e.Elapsed != nil {
		w.key("elapsed")
		w.float(*e.Elapsed)
	}
	w.optStr(`,"outcome":`, e.Outcome)
	w.optStr(`,"class":`, e.Class)
	w.optStr(`,"case":`, e.Case)
	w.optStr(`,"next":`, e.Next)
	if e.Seconds != nil {
		w.key("seconds")
		w.float(*e.Seconds)
	}
	if e.Until != nil {
		w.key("until")
		if validJSONTime(*e.Until) {
			w.time(*e.Until)
		} else {
			w.marshal(e.Until) // the error json.Marshal gives, naming *time.Time
		}
	}
	w.optStr(`,"channel":`, e.Channel)
	w.optStr(`,"subject":`, e.Subject)
	if e.Error != nil {
		w.key("error")
		w.errorInfo(e.Error)
	}
	w.optStr(`,"message":`, e.Message)
	w.optStr(`,"uuid":`, e.UUID)
	if len(e.Outputs) > 0 {
		w.key("outputs")
		w.object(e.Outputs)
	}
	w.b = append(w.b, '}')
	return w.b, w.err
}

// AppendValue appends v as encoding/json writes it (see AppendJSON), for other records written
// by hand: variables, outputs, bodies.
func AppendValue(b []byte, v any, escapeHTML bool) ([]byte, error) {
	w := jsonWriter{b: b, html: escapeHTML}
	w.value(v)
	return w.b, w.err
}

// AppendString appends s as a JSON string, as encoding/json writes it.
func AppendString(b []byte, s string, escapeHTML bool) []byte {
	w := jsonWriter{b: b, html: escapeHTML}
	w.str(s)
	return w.b
}

// AppendFloat appends f as encoding/json writes a float64; NaN and ±Inf are an error.
func AppendFloat(b []byte, f float64) ([]byte, error) {
	w := jsonWriter{b: b, html: true}
	w.float(f)
	return w.b, w.err
}

// AppendError appends an ErrorInfo as encoding/json writes it.
func AppendError(b []byte, e *failure.ErrorInfo, escapeHTML bool) []byte {
	w := jsonWriter{b: b, html: escapeHTML}
	w.errorInfo(e)
	return w.b
}

// AppendTime appends t as time.Time.MarshalJSON writes it; a time it refuses is an error.
func AppendTime(b []byte, t time.Time) ([]byte, error) {
	w := jsonWriter{b: b, html: true}
	w.time(t)
	return w.b, w.err
}

type jsonWriter struct {
	b    []byte
	html bool
	err  error
}

func (w *jsonWriter) key(k string) {
	w.b = append(w.b, ',', '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
}

// optStr writes `,"k":"v"` when v is set; key is `,"k":`. It is inlined: most of an event's
// fields are unset, and the test is all they cost.
func (w *jsonWriter) optStr(key, v string) {
	if v != "" {
		w.keyStr(key, v)
	}
}

func (w *jsonWriter) keyStr(key, v string) {
	w.b = append(w.b, key...)
	w.str(v)
}

func (w *jsonWriter) optInt(key string, v int) {
	if v != 0 {
		w.b = append(w.b, key...)
		w.b = strconv.AppendInt(w.b, int64(v), 10)
	}
}

func (w *jsonWriter) errorInfo(e *failure.ErrorInfo) {
	w.b = append(w.b, `{"class":`...)
	w.str(e.Class)
	w.b = append(w.b, `,"kind":`...)
	w.str(e.Kind)
	w.b = append(w.b, `,"message":`...)
	w.str(e.Message)
	w.optInt(`,"status":`, e.Status)
	w.optStr(`,"node":`, e.Node)
	w.b = append(w.b, '}')
}

// time writes t as time.Time.MarshalJSON does; the rare time it refuses goes to it for the error.
func (w *jsonWriter) time(t time.Time) {
	// one zone lookup (a Local time pays one per lookup; the virtual clock starts from
	// time.Unix): a zero offset is written as Z whatever the zone's name, so it takes the UTC path
	if _, off := t.Zone(); off == 0 {
		if u := t.UTC(); u.Year() >= 0 && u.Year() <= 9999 {
			w.b = append(w.b, '"')
			w.b = appendUTC(w.b, u)
			w.b = append(w.b, '"')
			return
		}
	}
	if !validJSONTime(t) {
		w.marshal(t)
		return
	}
	w.b = append(w.b, '"')
	w.b = t.AppendFormat(w.b, time.RFC3339Nano)
	w.b = append(w.b, '"')
}

// appendUTC is t.AppendFormat(b, time.RFC3339Nano) for a UTC time of years 0..9999, the times
// of every event (clocks are UTC), at a fraction of the generic formatter's cost.
func appendUTC(b []byte, t time.Time) []byte {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	b = append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+mo/10), byte('0'+mo%10), '-', byte('0'+d/10), byte('0'+d%10), 'T',
		byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':', byte('0'+s/10), byte('0'+s%10))
	if ns := t.Nanosecond(); ns != 0 {
		var frac [10]byte
		frac[0] = '.'
		for i := 9; i >= 1; i-- {
			frac[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := 10
		for frac[n-1] == '0' {
			n--
		}
		b = append(b, frac[:n]...)
	}
	return append(b, 'Z')
}

func validJSONTime(t time.Time) bool {
	_, off := t.Zone()
	y := t.Year()
	return y >= 0 && y <= 9999 && off > -24*3600 && off < 24*3600
}

// float writes f as encoding/json writes a float64 (ES6 number formatting).
func (w *jsonWriter) float(f float64) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		w.marshal(f) // the error json.Marshal gives
		return
	}
	abs, format := math.Abs(f), byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	w.b = strconv.AppendFloat(w.b, f, format, -1, 64)
	if format == 'e' { // e-09 -> e-9
		n := len(w.b)
		if n >= 4 && w.b[n-4] == 'e' && w.b[n-3] == '-' && w.b[n-2] == '0' {
			w.b[n-2] = w.b[n-1]
			w.b = w.b[:n-1]
		}
	}
}

// value writes the values variables, bodies and inputs hold; anything else goes to encoding/json.
func (w *jsonWriter) value(v any) {
	switch x := v.(type) {
	case nil:
		w.b = append(w.b, "null"...)
	case string:
		w.str(x)
	case bool:
		w.b = strconv.AppendBool(w.b, x)
	case int:
		w.b = strconv.AppendInt(w.b, int64(x), 10)
	case int64:
		w.b = strconv.AppendInt(w.b, x, 10)
	case float64:
		w.float(x)
	case map[string]any:
		if x == nil {
			w.b = append(w.b, "null"...)
			return
		}
		w.object(x)
	case []any:
		if x == nil {
			w.b = append(w.b, "null"...)
			return
		}
		w.b = append(w.b, '[')
		for i, e := range x {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.value(e)
		}
		w.b = append(w.b, ']')
	case map[string]string:
		if x == nil {
			w.b = append(w.b, "null"...)
			return
		}
		w.strings(x)
	case time.Time:
		w.time(x)
	default:
		w.marshal(v)
	}
}

// object writes a map with its keys sorted, as encoding/json does.
func (w *jsonWriter) object(m map[string]any) { writeMap(w, m, w.value) }

func (w *jsonWriter) strings(m map[string]string) { writeMap(w, m, w.str) }

func writeMap[V any](w *jsonWriter, m map[string]V, value func(V)) {
	if len(m) == 1 { // an assign of one variable, a response with one header: nothing to sort
		for k, v := range m {
			w.b = append(w.b, '{')
			w.str(k)
			w.b = append(w.b, ':')
			value(v)
			w.b = append(w.b, '}')
		}
		return
	}
	var arr [16]string
	keys := arr[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	w.b = append(w.b, '{')
	for i, k := range keys {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.str(k)
		w.b = append(w.b, ':')
		value(m[k])
	}
	w.b = append(w.b, '}')
}

// marshal hands v to encoding/json, with the same HTML escaping.
func (w *jsonWriter) marshal(v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(w.html)
	if err := enc.Encode(v); err != nil {
		if w.err == nil {
			w.err = err
		}
		w.b = append(w.b, "null"...)
		return
	}
	w.b = append(w.b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}

const hexDigits = "0123456789abcdef"

// safeBytes are the ASCII bytes a JSON string holds as they are; htmlSafeBytes without <, >, &.
var safeBytes, htmlSafeBytes = func() (s, h [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		s[c] = c != '"' && c != '\\'
		h[c] = s[c] && c != '<' && c != '>' && c != '&'
	}
	return s, h
}()

// needsEscape reports whether any of the eight bytes in x is one a JSON string does not hold
// as it is: a control character, a quote, a backslash, a byte of a multi-byte character (those
// are checked one by one), and <, >, & with html. Each test finds whether some byte is below a
// bound or equal to a value without a loop (the lowest such byte is always found: what a borrow
// may flag above it does not matter to "any").
func needsEscape(x uint64, html bool) bool {
	bad := (x-eachByte*0x20)&^x&highBits | x&highBits | hasZeroByte(x^(eachByte*'"')) | hasZeroByte(x^(eachByte*'\\'))
	if html {
		bad |= hasZeroByte(x^(eachByte*'<')) | hasZeroByte(x^(eachByte*'>')) | hasZeroByte(x^(eachByte*'&'))
	}
	return bad != 0
}

// eachByte times c is c in each of a word's eight bytes; highBits is the high bit of each.
const eachByte, highBits = 0x0101010101010101, 0x8080808080808080

// hasZeroByte is non-zero when some byte of v is zero.
func hasZeroByte(v uint64) uint64 { return (v - eachByte) &^ v & highBits }

// str writes s quoted as encoding/json does: control characters, " and \ escaped (and <, >, &
// with html), invalid UTF-8 as U+FFFD, U+2028 and U+2029 escaped.
func (w *jsonWriter) str(s string) {
	safe := &safeBytes
	if w.html {
		safe = &htmlSafeBytes
	}
	i := 0
	// eight bytes at a time while none needs escaping: node names, kinds, ids, most messages
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		if needsEscape(x, w.html) {
			break
		}
	}
	for i < len(s) && safe[s[i]] {
		i++
	}
	b := append(w.b, '"')
	b = append(b, s[:i]...)
	if i == len(s) { // the common case: nothing to escape
		w.b = append(b, '"')
		return
	}
	start := i
	for i < len(s) {
		if c := s[i]; c < utf8.RuneSelf {
			if safe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	w.b = append(b, '"')
}
