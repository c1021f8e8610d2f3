// Package jsondec decodes a JSON document into the values encoding/json gives an interface{}
// (map[string]any, []any, string, float64, bool, nil), faster than encoding/json for what batches
// decode per instance: an inputs line, a response body. It decodes the common case itself
// (valid UTF-8, escapes other than surrogates, numbers float64 holds, bounded nesting) and hands
// anything else to encoding/json, so that values and errors are always encoding/json's.
package jsondec

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// maxDepth is the nesting decoded here; deeper documents go to encoding/json.
const maxDepth = 64

// Unmarshal is json.Unmarshal(data, &v) for v of type any.
func Unmarshal(data []byte) (any, error) {
	v, _, err := UnmarshalInto(data, nil, nil)
	return v, err
}

type decoder struct {
	data   []byte
	pos    int
	top    map[string]any // the map a top-level object decodes into, or nil for a new one
	filled bool           // top holds the top-level object
	keys   []string       // strings an object key equal to one of them is given (no copy)
}

// UnmarshalInto is Unmarshal of a document that is usually an object: one decoded here fills
// m (emptied first; a new map when m is nil), and v is m (filled says so); its keys equal to one
// of keys are those strings, not copies. Anything else is Unmarshal's value, and m is left in
// any state.
func UnmarshalInto(data []byte, m map[string]any, keys []string) (v any, filled bool, err error) {
	clear(m)
	d := decoder{data: data, top: m, keys: keys}
	d.space()
	if v, ok := d.value(0); ok {
		d.space()
		if d.pos == len(d.data) {
			return v, d.filled, nil
		}
	}
	var w any // not v: a result whose address is taken is on the heap from the call's start
	err = json.Unmarshal(data, &w)
	return w, false, err
}

func (d *decoder) space() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// value decodes the value at pos; false is "not decoded here" (not necessarily invalid).
func (d *decoder) value(depth int) (any, bool) {
	if d.pos >= len(d.data) || depth > maxDepth {
		return nil, false
	}
	switch c := d.data[d.pos]; {
	case c == '{':
		return d.object(depth + 1)
	case c == '[':
		return d.array(depth + 1)
	case c == '"':
		s, ok := d.str()
		return s, ok
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	}
	return nil, false
}

func (d *decoder) literal(lit string) bool {
	if len(d.data)-d.pos < len(lit) || string(d.data[d.pos:d.pos+len(lit)]) != lit {
		return false
	}
	d.pos += len(lit)
	return true
}

func (d *decoder) object(depth int) (any, bool) {
	d.pos++ // {
	m := d.top
	if m == nil || depth != 1 {
		m = map[string]any{}
	} else {
		d.filled = true
	}
	d.space()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		return m, true
	}
	for {
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			return nil, false
		}
		k, ok := d.key()
		if !ok {
			return nil, false
		}
		d.space()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			return nil, false
		}
		d.pos++
		d.space()
		v, ok := d.value(depth)
		if !ok {
			return nil, false
		}
		m[k] = v // a repeated key: the last one, as encoding/json
		if end, ok := d.separator('}'); !ok {
			return nil, false
		} else if end {
			return m, true
		}
	}
}

// separator reads what follows a member or an element: a comma (more follow) or the closing
// byte (end). Anything else is not the common case.
func (d *decoder) separator(closing byte) (end, ok bool) {
	d.space()
	if d.pos >= len(d.data) {
		return false, false
	}
	switch d.data[d.pos] {
	case ',':
		d.pos++
		d.space()
		return false, true
	case closing:
		d.pos++
		return true, true
	}
	return false, false
}

func (d *decoder) array(depth int) (any, bool) {
	d.pos++ // [
	a := []any{}
	d.space()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		return a, true
	}
	for {
		v, ok := d.value(depth)
		if !ok {
			return nil, false
		}
		a = append(a, v)
		if end, ok := d.separator(']'); !ok {
			return nil, false
		} else if end {
			return a, true
		}
	}
}

// key decodes an object key: one of d.keys, when it is one written without escapes.
func (d *decoder) key() (string, bool) {
	if len(d.keys) > 0 {
		for i := d.pos + 1; i < len(d.data); i++ {
			if c := d.data[i]; c == '"' {
				raw := d.data[d.pos+1 : i]
				for _, k := range d.keys {
					if string(raw) == k {
						d.pos = i + 1
						return k, true
					}
				}
				break
			} else if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
				break
			}
		}
	}
	return d.str()
}

// str decodes a string whose bytes are valid UTF-8, its escapes other than a \u surrogate
// (encoding/json keeps valid UTF-8 as it is; it replaces invalid bytes and lone surrogates,
// which go to it).
func (d *decoder) str() (string, bool) {
	start := d.pos + 1
	ascii := true
	for i := start; i < len(d.data); i++ {
		switch c := d.data[i]; {
		case c == '"':
			b := d.data[start:i]
			if !ascii && !utf8.Valid(b) {
				return "", false
			}
			d.pos = i + 1
			return string(b), true
		case c == '\\':
			return d.unescape(start, i)
		case c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return "", false
}

// unescape goes on with a string from its first escape, at i.
func (d *decoder) unescape(start, i int) (string, bool) {
	b := d.data
	out := make([]byte, 0, i-start+16)
	out = append(out, b[start:i]...)
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			if !utf8.Valid(out) {
				return "", false
			}
			d.pos = i + 1
			return string(out), true
		case c < 0x20:
			return "", false
		case c != '\\':
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(b) {
			return "", false
		}
		switch e := b[i+1]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			if i+6 > len(b) {
				return "", false
			}
			r, err := strconv.ParseUint(string(b[i+2:i+6]), 16, 16)
			if err != nil || (r >= 0xD800 && r <= 0xDFFF) {
				return "", false
			}
			out = utf8.AppendRune(out, rune(r))
			i += 6
			continue
		default:
			return "", false
		}
		i += 2
	}
	return "", false
}

// number decodes a number of JSON's grammar that float64 holds, as encoding/json does.
func (d *decoder) number() (any, bool) {
	b, i := d.data, d.pos
	if b[i] == '-' {
		i++
	}
	digits := func() bool {
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > j
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return nil, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return nil, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return nil, false
		}
	}
	f, err := strconv.ParseFloat(string(b[d.pos:i]), 64)
	if err != nil {
		return nil, false
	}
	d.pos = i
	return f, true
}
