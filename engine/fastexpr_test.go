package engine_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/failure"
	"github.com/archflow/archflow/nodes"
)

// The commonest expressions (a variable or scope name alone, env() of a literal name) run
// without the VM: each gives the value or the error the VM gives for it, before any response
// and after one, for a variable set, unset or NOT_SET, an environment variable set or not.
func TestFastExpressionsAreTheVM(t *testing.T) {
	t.Parallel()
	src := `flow: fast
variables:
  order_id: {type: string, input: true}
  n:        {type: integer}
  amount:   {type: number, default: 2.5}
  s:        {type: string}
  i:        {type: integer}
  x:        {type: number}
  o:        {type: object}
  l:        {type: list}
start: vars
nodes:
  vars:
    assign: {s: "{{ order_id }}", i: "{{ n }}", x: "{{ amount }}"}
    next: scope
  scope:
    assign: {i: "{{ status }}", o: "{{ body }}", s: "{{ text }}", x: "{{ elapsed }}"}
    next: more
  more:
    assign: {o: "{{ headers }}"}
    next: err
  err:
    assign: {o: "{{ error }}"}
    next: envs
  envs:
    assign: {s: "{{ env('SET') }}", o: "{{ env('UNSET') }}", l: "{{ env('UNSET', 'fallback') }}", x: "{{ env('SET', 'fallback') }}"}
    next: done
  done: {end: success}
`
	f, err := nodes.Builtins().Load("fast.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var exprs []*engine.Expr
	for _, n := range f.Nodes {
		exprs = append(exprs, n.Reads...)
	}
	if len(exprs) != 13 {
		t.Fatalf("%d expressions, want 13", len(exprs))
	}
	compared := 0
	compare := func(when string, in *engine.Instance) {
		compared++
		for _, e := range exprs {
			if !e.RunsFast() {
				t.Errorf("%s: %q runs on the VM", e.Pos, e.Src)
			}
			got, gerr := e.Eval(in)
			want, werr := e.EvalVM(in)
			if !reflect.DeepEqual(got, want) || (gerr == nil) != (werr == nil) || (gerr != nil && gerr.Error() != werr.Error()) {
				t.Errorf("%s, %q: fast path %#v, %v; the VM %#v, %v", when, e.Src, got, gerr, want, werr)
			}
		}
	}
	opts := &engine.Options{
		Env: func(name string) (string, bool) {
			if name == "SET" {
				return "from-env", true
			}
			return "", false
		},
		Started: func(in *engine.Instance) {
			compare("before any response", in)
			in.SetScope("status", 503)
			in.SetScope("body", map[string]any{"success": false, "items": []any{1.0, "a"}})
			in.SetScope("text", `{"success":false}`)
			in.SetScope("elapsed", 0.25)
			in.SetScope("headers", map[string]string{"Retry-After": "3"})
			in.SetError(&failure.ErrorInfo{Class: failure.Transient, Kind: failure.KindHTTP, Status: 503, Node: "call"})
			compare("after a response", in)
		},
	}
	f.Run(context.Background(), map[string]any{"order_id": "A-1"}, opts)
	f.Run(context.Background(), map[string]any{}, opts) // order_id NOT_SET
	if compared != 4 {
		t.Errorf("the paths were compared %d times, want 4 (two instances, before and after a response)", compared)
	}
}
