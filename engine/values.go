package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
)

// Values are named variable values that survive a JSON round trip with their Go types: plain JSON
// would turn integers into floats, datetimes into strings and durations into numbers. Values that
// JSON cannot tell apart are wrapped in a one-key object whose key starts with "$".
type Values map[string]any

// MarshalJSON encodes the values with their types.
func (v Values) MarshalJSON() ([]byte, error) {
	out := make(map[string]any, len(v))
	for k, x := range v {
		out[k] = encodeValue(x)
	}
	return json.Marshal(out)
}

// UnmarshalJSON decodes what MarshalJSON wrote.
func (v *Values) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return err
	}
	out := make(Values, len(raw))
	for k, x := range raw {
		d, err := decodeValue(x)
		if err != nil {
			return fmt.Errorf("%s: %v", k, err)
		}
		out[k] = d
	}
	*v = out
	return nil
}

func encodeValue(v any) any {
	switch x := v.(type) {
	case nil, string, bool, int:
		return x
	case int64:
		return x
	case float64:
		if x == math.Trunc(x) && !math.IsInf(x, 0) {
			return map[string]any{"$f": x} // an integral float stays a float
		}
		return x
	case time.Time:
		return map[string]any{"$t": x.Format(time.RFC3339Nano)}
	case time.Duration:
		return map[string]any{"$d": int64(x)}
	case map[string]string:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = e
		}
		return map[string]any{"$h": m}
	case []string:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = e
		}
		return map[string]any{"$s": l}
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = encodeValue(e)
		}
		if len(m) == 1 {
			for k := range m {
				if strings.HasPrefix(k, "$") {
					return map[string]any{"$m": m} // a user's map that looks like a wrapper
				}
			}
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = encodeValue(e)
		}
		return l
	}
	return v // other JSON-able values as they are
}

func decodeValue(v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil && !strings.ContainsAny(x.String(), ".eE") {
			return int(i), nil
		}
		return x.Float64()
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			d, err := decodeValue(e)
			if err != nil {
				return nil, err
			}
			out[i] = d
		}
		return out, nil
	case map[string]any:
		if len(x) == 1 {
			for k, e := range x {
				switch k {
				case "$f":
					n, ok := e.(json.Number)
					if !ok {
						return nil, fmt.Errorf("bad float %v", e)
					}
					return n.Float64()
				case "$t":
					s, _ := e.(string)
					return time.Parse(time.RFC3339Nano, s)
				case "$d":
					n, ok := e.(json.Number)
					if !ok {
						return nil, fmt.Errorf("bad duration %v", e)
					}
					i, err := n.Int64()
					return time.Duration(i), err
				case "$h":
					m, _ := e.(map[string]any)
					h := make(map[string]string, len(m))
					for k, s := range m {
						h[k], _ = s.(string)
					}
					return h, nil
				case "$s":
					l, _ := e.([]any)
					s := make([]string, len(l))
					for i, y := range l {
						s[i], _ = y.(string)
					}
					return s, nil
				case "$m":
					m, _ := e.(map[string]any)
					return decodeMap(m)
				}
			}
		}
		return decodeMap(x)
	}
	return v, nil
}

func decodeMap(x map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(x))
	for k, e := range x {
		d, err := decodeValue(e)
		if err != nil {
			return nil, err
		}
		out[k] = d
	}
	return out, nil
}
