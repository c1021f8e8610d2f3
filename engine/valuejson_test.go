package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/trace"
	"github.com/archflow/archflow/nodes"
)

// A structured body is written as JSON straight from its templates' values: the bytes of
// encoding Eval's value, its templates run in the same (document) order, and its errors Eval's.
func TestValueAppendJSONIsEvalEncoded(t *testing.T) {
	t.Parallel()
	bodies := []string{
		`{b: 1, a: "{{ n }}", c: [true, null, 2.5, "{{ uuid() }}", {z: "{{ uuid() }}", y: "<&>"}], d: {}, e: [], "é": "{{ s }}"}`,
		`[3, "{{ uuid() }}", ["{{ uuid() }}"], {k: "{{ uuid() }}"}]`,
		`{z: "{{ uuid() }}", m: {y: "{{ uuid() }}", b: "{{ uuid() }}"}, a: "{{ uuid() }}"}`, // run in this order, written sorted
		`{a: 1, a: "{{ uuid() }}", b: "{{ uuid() }}"}`,                                      // a key twice: the later wins, as in Eval's map
		`42`,
		`{x: "{{ 1 / zero }}", n: "{{ n }}"}`,
		`{list: [` + strings.Repeat(`"{{ uuid() }}", `, 40) + `1]}`, // more scalars than kept on the stack
	}
	for _, body := range bodies {
		src := fmt.Sprintf(`flow: v
variables:
  n: {type: integer, default: 7}
  s: {type: string, default: "x\"y"}
  zero: {type: number, default: 0}
actions:
  push: {method: POST, url: "http://127.0.0.1:1/x", body: %s}
start: done
nodes:
  done: {end: success}
`, body)
		f, err := nodes.Builtins().Load("v.yaml", []byte(src))
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		value := f.Actions["push"].Body
		ids := 0
		var in *engine.Instance
		f.Run(context.Background(), nil, &engine.Options{Channels: engine.Capture{},
			UUID:    func() string { ids++; return fmt.Sprint("id-", ids) },
			Started: func(i *engine.Instance) { in = i }})
		ids = 0
		x, evalErr := value.Eval(in)
		var want []byte
		if evalErr == nil {
			want, evalErr = trace.AppendValue(nil, x, true)
		}
		ids = 0
		got, err := value.AppendJSON(nil, in)
		var je *engine.JSONError
		if errors.As(err, &je) {
			err = je.Err
		}
		if fmt.Sprint(err) != fmt.Sprint(evalErr) || (err == nil && string(got) != string(want)) {
			t.Errorf("%s:\n got %s %v\nwant %s %v", body, got, err, want, evalErr)
		}
	}
}
