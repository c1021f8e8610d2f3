package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/nodes"
)

// bodyFlow is a flow whose one data action POSTs body to url.
func bodyFlow(t *testing.T, body, url string) *engine.Flow {
	t.Helper()
	src := fmt.Sprintf(`flow: v
variables:
  n: {type: integer, default: 7}
  s: {type: string, default: "x\"y"}
  zero: {type: number, default: 0}
  unset: {type: integer}
actions:
  push: {method: POST, url: %q, body: %s}
start: call
nodes:
  call: {data_action: push, next: done, on_failure: done}
  done: {end: success}
`, url, body)
	f, err := nodes.Builtins().Load("v.yaml", []byte(src))
	if err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return f
}

// A structured body is written as JSON straight from its templates' values: byte for byte what
// encoding/json writes for Eval's value, its templates run in the same (document) order, and
// its errors encoding/json's (a value JSON cannot hold) or Eval's.
func TestValueAppendJSONIsEvalEncoded(t *testing.T) {
	t.Parallel()
	inf := `"{{ 1 / zero }}"`
	bodies := []string{
		`{b: 1, a: "{{ n }}", c: [true, null, 2.5, "{{ uuid() }}", {z: "{{ uuid() }}", y: "<&>"}], d: {}, e: [], "é": "{{ s }}"}`,
		`[3, "{{ uuid() }}", ["{{ uuid() }}"], {k: "{{ uuid() }}"}]`,
		`{z: "{{ uuid() }}", m: {y: "{{ uuid() }}", b: "{{ uuid() }}"}, a: "{{ uuid() }}"}`, // run in this order, written sorted
		`42`,
		`{x: ` + inf + `, n: "{{ n }}"}`,
		`{list: [` + strings.Repeat(`"{{ uuid() }}", `, 40) + `1]}`, // more scalars than kept on the stack
		`{list: [` + strings.Repeat(`1, `, 40) + inf + `]}`,         // more than 32 scalars, one +Inf
		`{x: {a: "y", b: [` + inf + `]}, y: "{{ n }}"}`,             // +Inf deeper
		`{b: "{{ unset + 1 }}", a: ` + inf + `}`,                    // Eval's error (the template runs first)
	}
	for _, body := range bodies {
		f := bodyFlow(t, body, "http://127.0.0.1:1/x")
		value := f.Actions["push"].Body
		ids := 0
		var in *engine.Instance
		f.Run(context.Background(), nil, &engine.Options{Channels: engine.Capture{},
			UUID:    func() string { ids++; return fmt.Sprint("id-", ids) },
			Started: func(i *engine.Instance) { in = i }})
		ids = 0
		x, wantErr := value.Eval(in)
		var want []byte
		if wantErr == nil {
			want, wantErr = json.Marshal(x)
		}
		ids = 0
		got, err := value.AppendJSON(nil, in)
		var je *engine.JSONError
		if errors.As(err, &je) {
			err = je.Err
		}
		if fmt.Sprint(err) != fmt.Sprint(wantErr) || (err == nil && string(got) != string(want)) {
			t.Errorf("%s:\n got %s %v\nwant %s %v", body, got, err, want, wantErr)
		}
	}
}

// A body JSON cannot hold is not sent, whatever its shape: the step fails with encoding/json's
// error, not POSTing null in the value's place.
func TestBodyJSONCannotHoldIsNotSent(t *testing.T) {
	t.Parallel()
	var sent atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { sent.Add(1) }))
	defer srv.Close()
	inf := `"{{ 1 / zero }}"`
	for _, body := range []string{
		`{b: ` + inf + `}`,
		`[` + strings.Repeat(`1, `, 40) + inf + `]`,              // more than 32 scalars
		`{x: {a: "y", b: [` + inf + `]}, y: "{{ n }}"}`,          // deeper
		`{l: [` + strings.Repeat(`"{{ n }}", `, 32) + inf + `]}`, // more than 32 templates
	} {
		sent.Store(0)
		res := bodyFlow(t, body, srv.URL).Run(context.Background(), nil, &engine.Options{Channels: engine.Capture{}})
		if sent.Load() != 0 || res.Error == nil || !strings.Contains(res.Error.Message, "json: unsupported value: +Inf") {
			t.Errorf("%s: %d requests sent, outcome %s, error %+v; want none sent and json: unsupported value: +Inf",
				body, sent.Load(), res.Outcome, res.Error)
		}
	}
}

// A key twice in a structured value is an error at load, as everywhere in a flow file: the
// later entry would silently win.
func TestDuplicateKeyInAValue(t *testing.T) {
	t.Parallel()
	_, err := nodes.Builtins().Load("dup.yaml", []byte(`flow: dup
actions:
  push: {method: POST, url: "http://127.0.0.1:1/x", body: {id: 1, meta: {a: 1, a: 2}}}
start: call
nodes:
  call: {data_action: push, next: done, on_failure: done}
  done: {end: success}
`))
	if err == nil || !strings.Contains(err.Error(), `dup.yaml:3:80: error: duplicate key "a"`) {
		t.Errorf("got %v, want dup.yaml:3:80: error: duplicate key \"a\"", err)
	}
	// a merge key would go out as the key "<<": an error, as elsewhere in a flow file
	_, err = nodes.Builtins().Load("merge.yaml", []byte(`flow: merge
actions:
  push: {method: POST, url: "http://127.0.0.1:1/x", body: {<<: {shared: 1}, id: 1}}
start: call
nodes:
  call: {data_action: push, next: done, on_failure: done}
  done: {end: success}
`))
	if err == nil || !strings.Contains(err.Error(), `merge.yaml:3:60: error: merge keys (<<) are not supported here`) {
		t.Errorf("got %v, want merge.yaml:3:60: error: merge keys (<<) are not supported here", err)
	}
}
