package engine

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/archflow/archflow/engine/yamldoc"
	exprtypes "github.com/expr-lang/expr/types"
)

// Type is a declared variable type.
type Type string

const (
	TString   Type = "string"
	TInteger  Type = "integer"
	TNumber   Type = "number"
	TBoolean  Type = "boolean"
	TDuration Type = "duration"
	TDatetime Type = "datetime"
	TObject   Type = "object"
	TList     Type = "list"
)

// Types lists the declared types in the order the docs show them.
var Types = []Type{TString, TInteger, TNumber, TBoolean, TDuration, TDatetime, TObject, TList}

func (t Type) valid() bool {
	for _, k := range Types {
		if k == t {
			return true
		}
	}
	return false
}

// exprType is the type the expression checker sees for a variable of type t.
func (t Type) exprType() exprtypes.Type {
	switch t {
	case TString:
		return exprtypes.String
	case TInteger:
		return exprtypes.Int
	case TNumber:
		return exprtypes.Float64
	case TBoolean:
		return exprtypes.Bool
	case TDuration:
		return exprtypes.TypeOf(time.Duration(0))
	case TDatetime:
		return exprtypes.TypeOf(time.Time{})
	case TObject:
		return exprtypes.TypeOf(map[string]any{})
	case TList:
		return exprtypes.TypeOf([]any{})
	}
	return exprtypes.Any
}

// accepts reports whether a value of static type rt can be assigned to t without a runtime check
// failing for sure. Interface types (unknown until run time) are accepted here and checked later.
func (t Type) accepts(rt reflect.Type) bool {
	if rt == nil || rt.Kind() == reflect.Interface {
		return true
	}
	k := rt.Kind()
	isInt := k >= reflect.Int && k <= reflect.Uint64
	isNum := isInt || k == reflect.Float32 || k == reflect.Float64
	switch t {
	case TString:
		return k == reflect.String
	case TInteger:
		return isNum && rt != reflect.TypeOf(time.Duration(0))
	case TNumber:
		return isNum
	case TBoolean:
		return k == reflect.Bool
	case TDuration:
		return isNum || k == reflect.String
	case TDatetime:
		return rt == reflect.TypeOf(time.Time{}) || k == reflect.String
	case TObject:
		return k == reflect.Map || k == reflect.Struct
	case TList:
		return k == reflect.Slice || k == reflect.Array
	}
	return true
}

// Convert checks and converts v to a value of type t. nil stays nil (NOT_SET).
func (t Type) Convert(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	bad := func() (any, error) {
		return nil, fmt.Errorf("cannot assign %s %s to a variable of type %s", typeName(v), short(v), t)
	}
	switch t {
	// a value already of the type is returned as the interface it came in: boxing it again
	// would allocate at every assignment
	case TString:
		if _, ok := v.(string); ok {
			return v, nil
		}
		return bad()
	case TInteger:
		switch n := v.(type) {
		case int:
			return v, nil
		case time.Duration:
			return bad()
		case float64:
			if n == math.Trunc(n) && !math.IsInf(n, 0) && math.Abs(n) < 1<<53 {
				return int(n), nil
			}
			return bad()
		case json.Number:
			if i, err := n.Int64(); err == nil {
				return int(i), nil
			}
			return bad()
		}
		if i, ok := asInt(v); ok {
			return i, nil
		}
		return bad()
	case TNumber:
		if _, ok := v.(float64); ok {
			return v, nil
		}
		if f, ok := asFloat(v); ok {
			return f, nil
		}
		return bad()
	case TBoolean:
		if _, ok := v.(bool); ok {
			return v, nil
		}
		return bad()
	case TDuration:
		switch d := v.(type) {
		case time.Duration:
			return v, nil
		case string:
			if x, err := yamldoc.ParseDuration(d); err == nil {
				return x, nil
			}
			return bad()
		}
		if f, ok := asFloat(v); ok {
			return time.Duration(f * float64(time.Second)), nil
		}
		return bad()
	case TDatetime:
		switch d := v.(type) {
		case time.Time:
			return v, nil
		case string:
			if x, err := time.Parse(time.RFC3339Nano, d); err == nil {
				return x, nil
			}
		}
		return bad()
	case TObject:
		switch m := v.(type) {
		case map[string]any:
			return m, nil
		case map[string]string:
			out := make(map[string]any, len(m))
			for k, s := range m {
				out[k] = s
			}
			return out, nil
		}
		return bad()
	case TList:
		if l, ok := v.([]any); ok {
			return l, nil
		}
		rv := reflect.ValueOf(v)
		if rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array {
			out := make([]any, rv.Len())
			for i := range out {
				out[i] = rv.Index(i).Interface()
			}
			return out, nil
		}
		return bad()
	}
	return v, nil
}

// ParseInput converts a command-line string to a value of type t.
func (t Type) ParseInput(s string) (any, error) {
	switch t {
	case TString:
		return s, nil
	case TInteger:
		i, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", s)
		}
		return int(i), nil
	case TNumber:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", s)
		}
		return f, nil
	case TBoolean:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("%q is not a boolean (true or false)", s)
		}
		return b, nil
	case TObject, TList:
		var v any
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			return nil, fmt.Errorf("%q is not JSON: %v", s, err)
		}
		return t.Convert(v)
	}
	return t.Convert(s)
}

func asInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int8:
		return int(n), true
	case int16:
		return int(n), true
	case int32:
		return int(n), true
	case int64:
		return int(n), true
	case uint:
		return int(n), true
	case uint8:
		return int(n), true
	case uint16:
		return int(n), true
	case uint32:
		return int(n), true
	case uint64:
		return int(n), true
	}
	return 0, false
}

func asFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	if i, ok := asInt(v); ok {
		return float64(i), true
	}
	return 0, false
}

// staticTypeName names an expression's static type as flow files name types (integer, list ...),
// not as Go does (int, []interface {}), for compile errors.
func staticTypeName(rt reflect.Type) string {
	switch {
	case rt == nil:
		return "any"
	case rt == reflect.TypeOf(time.Duration(0)):
		return "duration"
	case rt == reflect.TypeOf(time.Time{}):
		return "datetime"
	}
	switch k := rt.Kind(); {
	case k == reflect.String:
		return "string"
	case k == reflect.Bool:
		return "boolean"
	case k >= reflect.Int && k <= reflect.Uint64:
		return "integer"
	case k == reflect.Float32 || k == reflect.Float64:
		return "number"
	case k == reflect.Slice || k == reflect.Array:
		return "list"
	case k == reflect.Map || k == reflect.Struct:
		return "object"
	}
	return rt.String()
}

func typeName(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case bool:
		return "boolean"
	case float64, float32:
		return "number"
	case int, int64, int32:
		return "integer"
	case map[string]any:
		return "object"
	case []any:
		return "list"
	case time.Time:
		return "datetime"
	case time.Duration:
		return "duration"
	}
	return fmt.Sprintf("%T", v)
}

func short(v any) string {
	b, err := json.Marshal(v)
	s := string(b)
	if err != nil {
		s = fmt.Sprint(v)
	}
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}
