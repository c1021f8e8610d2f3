package cli

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/archflow/archflow/engine/yamldoc"
	"github.com/archflow/archflow/nodes"
	"github.com/archflow/archflow/schema"
)

func init() {
	// -update rewrites golden files; another test file of this package may define it first
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files")
	}
}

func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// runCmd runs one command with args and returns its stdout, stderr and error.
func runGraphCmd(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	cmd := newGraphCmd(nodes.Builtins())
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.Execute()
	return out.String(), errb.String(), err
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "graph", name)
	if updating() {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestGraphGolden(t *testing.T) {
	t.Parallel()
	flow := filepath.Join("..", "..", "..", "flows", "self-healing.yaml")
	trace := filepath.Join("testdata", "graph", "self-healing.trace.jsonl")
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"self-healing.mmd", []string{flow}},
		{"self-healing.dot", []string{flow, "--format", "dot"}},
		{"self-healing.trace.mmd", []string{flow, "--trace", trace}},
		{"self-healing.trace.dot", []string{flow, "--format", "dot", "--trace", trace}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			out, stderr, err := runGraphCmd(t, tc.args...)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			if stderr != "" {
				t.Errorf("stderr: %s", stderr)
			}
			golden(t, tc.golden, out)
		})
	}
}

// Every route of the compiled flow is drawn once, with its label.
func TestGraphDrawsEveryEdge(t *testing.T) {
	t.Parallel()
	flow := filepath.Join("..", "..", "..", "flows", "self-healing.yaml")
	f, err := nodes.Builtins().LoadFile(flow)
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := runGraphCmd(t, flow)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range f.Edges {
		line := "n_" + e.From.Name + " -->|" + e.Label + "| n_" + e.To.Name
		if strings.Count(out, line) != 1 {
			t.Errorf("mermaid: want one %q", line)
		}
	}
	for _, n := range f.Nodes {
		if !strings.Contains(out, n.Name+"<br/>"+n.Kind.Name) {
			t.Errorf("mermaid: node %s has no label with its kind", n.Name)
		}
	}
}

func TestGraphTraceCounts(t *testing.T) {
	t.Parallel()
	flow := filepath.Join("..", "..", "..", "flows", "self-healing.yaml")
	trace := filepath.Join("testdata", "graph", "self-healing.trace.jsonl")
	out, _, err := runGraphCmd(t, flow, "--trace", trace)
	if err != nil {
		t.Fatal(err)
	}
	// two 503s then success: call entered 3 times, the retry loop taken twice
	for _, want := range []string{"call<br/>data_action<br/>×3", "n_backoff -->|next ×2| n_call", "n_call -->|next| n_done", "class n_init,n_call,n_classify,n_bump,n_backoff,n_done taken"} {
		if !strings.Contains(out, want) {
			t.Errorf("want %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "n_escalate taken") || strings.Contains(out, ",n_escalate") {
		t.Errorf("escalate was not entered but is highlighted")
	}
}

func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if _, ok := yamldoc.AsList(err); ok {
		return exitInvalid
	}
	if err != nil {
		return -1
	}
	return exitOK
}

func TestGraphErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("flow: bad\nstart: a\nnodes:\n  a:\n    assign: {x: 1}\n    next: nowhere\n"), 0o644)
	_, _, err := runGraphCmd(t, bad)
	l, ok := yamldoc.AsList(err)
	if !ok || len(l) == 0 {
		t.Fatalf("invalid flow: got %v", err)
	}
	for _, e := range l {
		if e.Severity != yamldoc.SevError || !strings.HasPrefix(e.Error(), bad+":") {
			t.Errorf("want file:line:col: error: ..., got %v", e)
		}
	}
	flow := filepath.Join("..", "..", "..", "flows", "self-healing.yaml")
	notTrace := filepath.Join(dir, "t.jsonl")
	os.WriteFile(notTrace, []byte("{\"event\":\"enter\",\"node\":\"init\"}\nnot json\n"), 0o644)
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{flow, "--format", "png"}, `--format must be mermaid, dot or svg, not "png"`},
		{[]string{flow, "--trace", filepath.Join(dir, "missing.jsonl")}, "--trace"},
		{[]string{flow, "--trace", notTrace}, notTrace + ":2: not a trace event"},
		{[]string{flow, "--instance", "x"}, "--instance needs --trace"},
	} {
		_, _, err := runGraphCmd(t, tc.args...)
		if exitCode(err) != exitInvalid || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%v: got %v (exit %d), want exit 2 and %q", tc.args, err, exitCode(err), tc.msg)
		}
	}
	// svg is drawn in process: no Graphviz on PATH needed
	t.Setenv("PATH", dir)
	out, stderr, err := runGraphCmd(t, flow, "--format", "svg")
	if err != nil || !strings.HasPrefix(out, "<svg") || !strings.Contains(out, ">escalate</text>") {
		t.Errorf("svg: %v %s\n%.200s", err, stderr, out)
	}
}

func TestSchemaCmd(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want []byte
	}{
		{[]string{}, schema.FlowFile},
		{[]string{"flow"}, schema.FlowFile},
		{[]string{"test"}, schema.Test()},
	} {
		cmd := newSchemaCmd(nodes.Builtins())
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetArgs(tc.args)
		if err := cmd.Execute(); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if !bytes.Equal(out.Bytes(), tc.want) {
			t.Errorf("%v: output is not the schema", tc.args)
		}
	}
	cmd := newSchemaCmd(nodes.Builtins())
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	cmd.SetArgs([]string{"nope"})
	if err := cmd.Execute(); exitCode(err) != exitInvalid {
		t.Errorf("unknown schema: got %v", err)
	}
	if !strings.Contains(newSchemaCmd(nodes.Builtins()).Example, "archflow schema") || !strings.Contains(newGraphCmd(nodes.Builtins()).Example, "archflow graph") {
		t.Error("--help shows no example")
	}
}
