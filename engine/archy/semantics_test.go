package archy_test

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/archy"
	"github.com/archflow/archflow/engine/clock"
	"github.com/archflow/archflow/nodes"
)

// Architect expressions, translated and run by archflow: the values they give, NOT_SET included.
func TestArchitectExpressionValues(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	vars := `
  s: {type: string, default: " Ann "}
  n: {type: integer, default: 7}
  u: {type: integer}
  flag: {type: boolean, default: true}
  list: {type: list, default: [a, b]}
  nolist: {type: list}
  obj: {type: object, default: {email: a@example.com}}
  t: {type: datetime, default: "2026-01-01T00:00:00Z"}`
	resolve := func(scope, name string) (string, bool) {
		switch name {
		case "s", "n", "u", "flag", "list", "nolist", "obj", "t":
			return name, scope == "Flow"
		}
		return "", false
	}
	tests := []struct {
		expr string
		typ  string
		want any
	}{
		{`Flow.u == NOT_SET`, "boolean", true},
		{`Flow.n != NOT_SET`, "boolean", true},
		{`IsSet(Flow.u) OR Flow.n > 5`, "boolean", true},
		{`not IsSet(Flow.u) AND Flow.flag`, "boolean", true},
		{`NOT (Flow.n == 7) or false`, "boolean", false},
		{`IsNotSetOrEmpty("") and IsNotSetOrEmpty(Flow.u) and not IsNotSetOrEmpty(Flow.s)`, "boolean", true},
		{`If(IsSet(Flow.u), Flow.u + 1, -1)`, "integer", -1}, // lazy: Flow.u + 1 never runs
		{`ToString(Flow.n)`, "string", "7"},
		{`ToInt("42") + 1`, "integer", 43},
		{`ToDecimal(Flow.n) / 2`, "number", 3.5},
		{`Append("x", Flow.u, "y")`, "string", "xy"},
		{`Count(Flow.list) + Count(Flow.nolist)`, "integer", 2},
		{`GetAt(Flow.list, 1) + Flow.list[0]`, "string", "ba"},
		{`FindString(Flow.s, "n")`, "integer", 2},
		{`Contains(Flow.list, "b") and Contains(Flow.s, "An")`, "boolean", true},
		{`Substring("archflow", 4, 4)`, "string", "flow"},
		{`Lower(Trim(Flow.s)) + UPPER(Flow.s)`, "string", "ann ANN "},
		{`GetJsonObjectProperty(Flow.obj, "email")`, "string", "a@example.com"},
		{`Flow.obj.email == "a@example.com" and Flow.obj.missing == NOT_SET`, "boolean", true},
		{`GetJsonObjectProperty(JsonParse("{\"a\": 5}"), "a")`, "integer", 5},
		{`MakeDuration(0, 1, 30, 0, 0)`, "number", 5400.0},
		{`MakeDuration(0, 0, Flow.n, 0, 500)`, "number", 420.5},
		{`AddMinutes(Flow.t, 90)`, "datetime", start.Add(90 * time.Minute)},
		{`DateTimeDiff(AddMinutes(Flow.t, 5), Flow.t)`, "duration", 5 * time.Minute},
		{`GetCurrentDateTimeUtc()`, "datetime", start},
		{`AddItem(Flow.list, "c")`, "list", []any{"a", "b", "c"}},
		{`AddItem(Flow.nolist, "c")`, "list", []any{"c"}},
		{`ToString(Flow.list, "-")`, "string", "a-b"},
		{`Flow.n + 1 == 8 And Flow.s != ""`, "boolean", true},
	}
	for _, tt := range tests {
		src, errs := archy.TranslateExpr(tt.expr, resolve)
		if len(errs) > 0 {
			t.Errorf("%s: %v", tt.expr, errs[0])
			continue
		}
		got, err := evalExpr(vars, tt.typ, src, start)
		if err != nil {
			t.Errorf("%s → %s: %v", tt.expr, src, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s → %s\n gives %#v, want %#v", tt.expr, src, got, tt.want)
		}
	}
	// arithmetic on NOT_SET is a runtime error naming the variable, as in archflow everywhere
	src, _ := archy.TranslateExpr(`Flow.u + 1`, resolve)
	if _, err := evalExpr(vars, "integer", src, start); err == nil || !strings.Contains(err.Error(), "u is NOT_SET") {
		t.Errorf("Flow.u + 1: got %v, want an error naming u", err)
	}
}

// evalExpr assigns {{ src }} to a variable of type typ and returns its value (or the run's error).
func evalExpr(vars, typ, src string, start time.Time) (any, error) {
	flow := fmt.Sprintf("flow: eval\nvariables:%s\n  out: {type: %s, output: true}\nstart: a\nnodes:\n  a:\n    assign: {out: %s}\n    next: done\n  done: {end: success}\n",
		vars, typ, strconv.Quote("{{ "+src+" }}"))
	f, err := nodes.Builtins().Load("eval.yaml", []byte(flow))
	if err != nil {
		return nil, err
	}
	in, err := f.Inputs(nil)
	if err != nil {
		return nil, err
	}
	r := f.Run(context.Background(), in, &engine.Options{Clock: func() clock.Clock { return clock.NewVirtualClock(start) }, Channels: engine.Capture{}})
	if r.Outcome != "success" {
		return nil, fmt.Errorf("outcome %s: %v", r.Outcome, r.Error)
	}
	return r.Outputs["out"], nil
}
