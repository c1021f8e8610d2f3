package engine

import (
	"fmt"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/archflow/archflow/engine/yamldoc"
	"github.com/expr-lang/expr"
)

// pureFunctions are the stateless functions archflow adds to expr, with their signatures so that
// the checker can type calls at load time.
func pureFunctions() []expr.Option {
	return []expr.Option{
		expr.Function("backoff", func(p ...any) (any, error) {
			return Backoff(p[0], p[1], p[2], p[3])
		}, new(func(any, any, any, any) float64)),
		expr.Function("IsSet", func(p ...any) (any, error) { return p[0] != nil, nil },
			new(func(any) bool)),
		expr.Function("IsNotSetOrEmpty", func(p ...any) (any, error) { return isNotSetOrEmpty(p[0]), nil },
			new(func(any) bool)),
		expr.Function("ToString", func(p ...any) (any, error) { return ToString(p[0]), nil },
			new(func(any) string)),
		expr.Function("ToInt", func(p ...any) (any, error) { return toInt(p[0]) },
			new(func(any) int)),
		expr.Function("jsonpath", func(p ...any) (any, error) { return JSONPath(p[0], p[1], p[2:]...) },
			new(func(any, string) any), new(func(any, string, any) any)),
		expr.Function("contains_", func(p ...any) (any, error) { return containsValue(p[0], p[1]), nil },
			new(func(any, any) bool)),
	}
}

func isNotSetOrEmpty(v any) bool {
	if v == nil {
		return true
	}
	// any string, list or map: headers is a map[string]string
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.String, reflect.Slice, reflect.Array, reflect.Map:
		return rv.Len() == 0
	}
	return false
}

func toInt(v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, fmt.Errorf("ToInt: value is NOT_SET")
	case string:
		s := strings.TrimSpace(x)
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return int(i), nil
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return int(f), nil
		}
		return nil, fmt.Errorf("ToInt: %q is not a number", x)
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case time.Duration:
		return int(x / time.Second), nil
	}
	if i, ok := asInt(v); ok {
		return i, nil
	}
	if f, ok := asFloat(v); ok {
		return int(f), nil
	}
	return nil, fmt.Errorf("ToInt: cannot convert %s", typeName(v))
}

func containsValue(hay, needle any) bool {
	switch h := hay.(type) {
	case nil:
		return false
	case string:
		if s, ok := needle.(string); ok {
			return strings.Contains(h, s)
		}
		return strings.Contains(h, ToString(needle))
	case map[string]any:
		_, ok := h[ToString(needle)]
		return ok
	}
	rv := reflect.ValueOf(hay)
	if rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array {
		for i := 0; i < rv.Len(); i++ {
			if looseEqual(rv.Index(i).Interface(), needle) {
				return true
			}
		}
	}
	return false
}

// looseEqual compares values the way JSON sees them: 1 == 1.0.
func looseEqual(a, b any) bool {
	if fa, ok := asFloat(a); ok {
		if fb, ok := asFloat(b); ok {
			return fa == fb
		}
	}
	return reflect.DeepEqual(a, b)
}

// Seconds reads a number of seconds or a duration ("30s", time.Duration).
func Seconds(v any) (float64, error) {
	switch x := v.(type) {
	case time.Duration:
		return x.Seconds(), nil
	case string:
		d, err := yamldoc.ParseDuration(x)
		if err != nil {
			return 0, err
		}
		return d.Seconds(), nil
	}
	if f, ok := asFloat(v); ok {
		return f, nil
	}
	return 0, fmt.Errorf("%s is neither seconds nor a duration", short(v))
}

// Backoff is backoff(n, initial, multiplier, max): min(max, initial·multiplier^(n−1)) seconds.
func Backoff(n, initial, multiplier, maxV any) (float64, error) {
	k, ok := asInt(n)
	if !ok {
		if f, fok := asFloat(n); fok && f == math.Trunc(f) {
			k, ok = int(f), true
		}
	}
	if !ok || k < 1 {
		return 0, fmt.Errorf("backoff: n must be an integer ≥ 1, got %s", short(n))
	}
	ini, err := Seconds(initial)
	if err != nil {
		return 0, fmt.Errorf("backoff: initial: %v", err)
	}
	mul, ok := asFloat(multiplier)
	if !ok {
		return 0, fmt.Errorf("backoff: multiplier must be a number, got %s", short(multiplier))
	}
	mx, err := Seconds(maxV)
	if err != nil {
		return 0, fmt.Errorf("backoff: max: %v", err)
	}
	return math.Min(mx, ini*math.Pow(mul, float64(k-1))), nil
}

// RetryAfter reads Retry-After per RFC 9110 §10.2.3: delay-seconds or an HTTP-date (IMF-fixdate,
// RFC 850 or asctime, via net/http.ParseTime) measured against now. It gives whole seconds rounded
// up, and 0 when the header is absent, negative, in the past or unparsable.
func RetryAfter(headers any, now time.Time) int {
	return RetryAfterValue(headerValue(headers, "Retry-After"), now)
}

// RetryAfterValue is RetryAfter of a Retry-After header's value.
func RetryAfterValue(v string, now time.Time) int {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		if f <= 0 || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0
		}
		if f > math.MaxInt32 {
			return math.MaxInt32
		}
		return int(math.Ceil(f))
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	d := t.Sub(now)
	if d <= 0 {
		return 0
	}
	return int(min(math.Ceil(d.Seconds()), math.MaxInt32)) // as delay-seconds: callers multiply it
}

func headerValue(headers any, name string) string {
	switch h := headers.(type) {
	case map[string]string:
		if v, ok := h[name]; ok {
			return v
		}
		for k, v := range h {
			if strings.EqualFold(k, name) {
				return v
			}
		}
	case map[string]any:
		for k, v := range h {
			if strings.EqualFold(k, name) {
				return ToString(v)
			}
		}
	case http.Header:
		return h.Get(name)
	}
	return ""
}
