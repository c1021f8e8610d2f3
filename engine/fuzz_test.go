package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/clock"
	"github.com/archflow/archflow/engine/transport"
	"github.com/archflow/archflow/engine/yamldoc"
	"github.com/archflow/archflow/nodes"
	_ "github.com/archflow/archflow/nodes"
)

// seedFiles adds every file below the repository's flows/ and testdata/ whose name passes keep.
func seedFiles(f *testing.F, keep func(name string) bool) {
	for _, root := range []string{"../flows", "../testdata"} {
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && keep(d.Name()) {
				if b, err := os.ReadFile(p); err == nil && len(b) < 64<<10 {
					f.Add(b)
				}
			}
			return nil
		})
	}
}

func isFlowFile(name string) bool {
	return strings.HasSuffix(name, ".yaml") && !strings.HasSuffix(name, ".test.yaml") && !strings.HasSuffix(name, ".mock.yaml")
}

// FuzzLoad: the flow loader and compiler never panic and never hang on any file; an error has a
// position.
func FuzzLoad(f *testing.F) {
	seedFiles(f, isFlowFile)
	f.Fuzz(func(t *testing.T, data []byte) {
		var err error
		within(t, 5*time.Second, func() { _, err = nodes.Builtins().Load("fuzz.yaml", data) })
		var l yamldoc.ErrorList
		if err != nil && errors.As(err, &l) {
			for _, e := range l {
				if e.Pos.File != "fuzz.yaml" && !strings.HasPrefix(e.Msg, "include") {
					t.Errorf("error without the file's position: %v", e)
				}
			}
		}
	})
}

// within fails the test when f runs longer than d: a hang is a bug the fuzzer must report, not
// a run that stalls until -fuzztime ends it. f keeps running after a failure; the process ends.
func within(t *testing.T, d time.Duration, f func()) {
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		buf := make([]byte, 1<<20)
		t.Fatalf("still running after %s:\n%s", d, buf[:runtime.Stack(buf, true)])
	}
}

// noNetwork is the transport of fuzzed instances: nothing leaves the process.
type noNetwork struct{}

func (noNetwork) Do(context.Context, *transport.Request) (*transport.Response, error) {
	return &transport.Response{Status: 200, Body: []byte(`{"ok": true, "n": 1.5, "list": [1, "a"]}`)}, nil
}

// FuzzTemplate: any template in an assignment and any expression in a decision compile or fail
// with an error, and run to an end (success or error) without a panic; the result encodes.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"{{ x + 1 }}", "{{ total / cnt }}", "a{{ s }}b{{ x }}", "{{ [30, 60][x] }}", "{{ {a: 1}.a }}",
		"{{ env('HOME', 'x') }}", "{{ now() }}", "{{ uuid() }}", "{{ backoff(x + 1, 30, 2, 600) }}", "{{ retry_after(headers) }}",
		"{{ s | upper }}", "{{ 1e308 * 10 }}", "{{ -x / 0 }}", "{{ \"}}\" }}", "{{", "}}", "{{ }}", "{{ nil }}", "{{ body?.ok }}"} {
		f.Add(s, "x > 1")
	}
	f.Add("{{ x }}", `s == "a" && x in [1, 2]`)
	f.Add("{{ x }}", "len(s) > 0 ? true : false")
	f.Fuzz(func(t *testing.T, tmpl, cond string) {
		tq, _ := json.Marshal(tmpl) // a JSON string is a YAML double-quoted string
		cq, _ := json.Marshal(cond)
		src := `flow: fz
variables:
  x: {type: integer, default: 2}
  s: {type: string, default: a}
  total: {type: number, default: 1}
  cnt: {type: number, default: 0}
  v: {type: string, output: true}
  n: {type: number}
actions:
  a: {url: "http://127.0.0.1:1/", outputs: {n: "body?.n"}}
start: set
on_error: failed
nodes:
  set:
    assign: {v: ` + string(tq) + `}
    next: pick
  pick:
    decision:
      - when: ` + string(cq) + `
        next: call
    default: done
  call: {data_action: a, next: done, on_failure: failed}
  done: {end: success}
  failed: {end: failure}
`
		flow, err := nodes.Builtins().Load("fz.yaml", []byte(src))
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// an expression evaluated without the VM gives what the VM gives (setFast), at the start
		// and after every step (an assign, a response)
		sameAsVM := func(in *engine.Instance) {
			for _, n := range flow.Nodes {
				for _, e := range n.Reads {
					if !e.RunsFast() {
						continue
					}
					got, gerr := e.Eval(in)
					want, werr := e.EvalVM(in)
					if !reflect.DeepEqual(got, want) || fmt.Sprint(gerr) != fmt.Sprint(werr) {
						t.Errorf("%q: without the VM %#v, %v; the VM %#v, %v", e.Src, got, gerr, want, werr)
					}
				}
			}
		}
		res := flow.Run(ctx, map[string]any{}, &engine.Options{Transport: noNetwork{}, MaxSteps: 50, Seed: 1,
			Clock: func() clock.Clock { return clock.NewVirtualClock(time.Unix(0, 0)) },
			Env: func(name string) (string, bool) { // a few names set, to compare env()'s both ways
				if name == "HOME" || name == "x" {
					return "/home/" + name, true
				}
				return "", false
			},
			Started:    sameAsVM,
			Checkpoint: func(in *engine.Instance) bool { sameAsVM(in); return false }}) // and before every step
		if _, err := json.Marshal(res); err != nil {
			t.Errorf("result does not encode: %v", err)
		}
	})
}

// FuzzEnvFile: env files never panic; an error has a position.
func FuzzEnvFile(f *testing.F) {
	for _, s := range []string{"A=1\n", "export B='two'\n# c\nC=3 # x\n", "D=\"a\\nb\"\n", "E\n", "9=1\n", "F=\"unterminated\n", "=\n", "\xff=1\n"} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		fh, err := os.CreateTemp(dir, "*.env")
		if err != nil {
			t.Fatal(err)
		}
		defer os.Remove(fh.Name())
		fh.Write(data)
		fh.Close()
		_, err = engine.ReadEnvFile(fh.Name())
		var e *yamldoc.Error
		if err != nil && (!errors.As(err, &e) || e.Pos.Line < 1) {
			t.Errorf("error without a line: %v", err)
		}
	})
}

// FuzzDuration: durations parse or fail, never wrap round: a positive number of seconds is
// never a negative duration, nor a negative one positive.
func FuzzDuration(f *testing.F) {
	for _, s := range []string{"30", "1.5", "90s", "1m30s", "-5", "1e10", "10000000000", "9999999999h", "-9999999999h", "NaN", "Inf", "-Inf", "1e-12", "0x10", "", " 5 ", "1h-5m", ".5h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := yamldoc.ParseDuration(s)
		if err != nil && !errors.Is(err, yamldoc.ErrDurationRange) {
			return
		}
		if x, perr := parseSeconds(s); perr == nil {
			if (x > 0 && d < 0) || (x < 0 && d > 0) {
				t.Errorf("%q seconds gave %v", s, d)
			}
		}
	})
}

func parseSeconds(s string) (float64, error) {
	var x float64
	err := json.Unmarshal([]byte(strings.TrimSpace(s)), &x)
	if err == nil && (math.IsNaN(x) || math.IsInf(x, 0)) {
		err = errors.New("not finite")
	}
	return x, err
}

// FuzzRetryAfter: Retry-After gives whole seconds between 0 and 2^31-1 for any header value,
// so that callers may multiply it by time.Second.
func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"120", "0", "-1", "1.5", "1e300", "NaN", "Wed, 21 Oct 2015 07:28:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT",
		"Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "soon", ""} {
		f.Add(s)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		n := engine.RetryAfter(map[string]string{"Retry-After": s}, now)
		if n < 0 || n > math.MaxInt32 {
			t.Errorf("Retry-After %q gave %d", s, n)
		}
	})
}
