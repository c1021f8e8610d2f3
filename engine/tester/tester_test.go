package tester_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/archflow/archflow/engine/tester"
	"github.com/archflow/archflow/nodes"
)

var update = flag.Bool("update", false, "rewrite golden files")

const dir = "../../testdata/tester"

var wallRe = regexp.MustCompile(`in \d+\.\d+s`)

func text(rep *tester.Report) (stdout, stderr string) {
	var out, errw bytes.Buffer
	rep.WriteText(&out, &errw, false, 0)
	return wallRe.ReplaceAllString(out.String(), "in X.XXXs"), errw.String()
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if string(want) != got {
		t.Errorf("output differs from %s (go test -update rewrites it)\n--- got:\n%s\n--- want:\n%s", path, got, want)
	}
}

func files(t *testing.T, sub string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, sub, "*.test.yaml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no test files in %s: %v", sub, err)
	}
	return paths
}

// The runner's own test files under testdata/tester/pass must pass, and the seed flow's.
func TestPassingFiles(t *testing.T) {
	t.Parallel()
	for _, root := range []string{filepath.Join(dir, "pass"), "../../flows"} {
		rep := tester.RunPaths(context.Background(), nodes.Builtins(), []string{root}, &tester.Options{Coverage: true})
		n := rep.Counts()
		if n.Failed+n.Errors+n.Invalid > 0 || n.Passed == 0 {
			out, errs := text(rep)
			t.Fatalf("%s: %+v\n%s%s", root, n, out, errs)
		}
	}
}

// Each failing file prints exactly its golden report: messages that start with the line of the
// expectation and show expected and actual.
func TestFailingFilesGolden(t *testing.T) {
	t.Parallel()
	for _, p := range files(t, "fail") {
		t.Run(filepath.Base(p), func(t *testing.T) {
			rep := tester.RunPaths(context.Background(), nodes.Builtins(), []string{p}, &tester.Options{Parallel: 4})
			n := rep.Counts()
			if n.Failed+n.Errors == 0 || n.Passed > 0 {
				t.Errorf("counts %+v: every case of a fail/ file must fail", n)
			}
			out, errs := text(rep)
			if errs != "" {
				t.Errorf("stderr: %s", errs)
			}
			golden(t, strings.TrimSuffix(p, tester.Suffix)+".golden", out)
		})
	}
}

// Invalid files run nothing and report every error with file:line:col, sorted.
func TestInvalidFilesGolden(t *testing.T) {
	t.Parallel()
	for _, p := range files(t, "invalid") {
		t.Run(filepath.Base(p), func(t *testing.T) {
			rep := tester.RunPaths(context.Background(), nodes.Builtins(), []string{p}, nil)
			n := rep.Counts()
			if n.Invalid != 1 || n.Passed+n.Failed+n.Errors != 0 {
				t.Errorf("counts %+v: want one invalid file and nothing run", n)
			}
			_, errs := text(rep)
			for _, line := range strings.Split(strings.TrimSpace(errs), "\n") {
				if !regexp.MustCompile(`^\S+\.yaml(:\d+:\d+)?: error: `).MatchString(line) {
					t.Errorf("not a file:line:col: error: line: %q", line)
				}
			}
			golden(t, strings.TrimSuffix(p, tester.Suffix)+".golden", errs)
		})
	}
}

func TestRunAndTagSelectCases(t *testing.T) {
	t.Parallel()
	p := filepath.Join(dir, "pass", "seed.test.yaml")
	rep := tester.RunPaths(context.Background(), nodes.Builtins(), []string{p}, &tester.Options{Tags: []string{"smoke"}})
	if n := rep.Counts(); n.Passed != 1 || len(rep.Files[0].Cases) != 1 || rep.Files[0].Cases[0].Case.Name != "tagged case" {
		t.Fatalf("--tag smoke ran %+v", n)
	}
	rep = tester.RunPaths(context.Background(), nodes.Builtins(), []string{p}, &tester.Options{Run: regexp.MustCompile(`env`)})
	if cs := rep.Files[0].Cases; len(cs) != 1 || cs[0].Case.Name != "a case's env overrides the file's" {
		t.Fatalf("--run env ran %d cases", len(cs))
	}
}

// Discovery walks directories for *.test.yaml but skips testdata, as go test does.
func TestDiscoverSkipsTestdata(t *testing.T) {
	t.Parallel()
	got, errs := tester.Discover([]string{"../.."})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, p := range got {
		if strings.Contains(filepath.ToSlash(p), "/testdata/") {
			t.Errorf("walked into testdata: %s", p)
		}
	}
	if !slices.Contains(got, filepath.Join("../../flows", "self-healing.test.yaml")) {
		t.Errorf("the seed's test file was not found: %v", got)
	}
	_, errs = tester.Discover([]string{"no/such/dir"})
	if len(errs) != 1 || errs[0].Error() != "no/such/dir: error: no such file or directory" {
		t.Errorf("missing path: %v", errs)
	}
}

// The seed's test file covers every node, edge, decision case and data-action outcome.
func TestSeedCoverageIsComplete(t *testing.T) {
	t.Parallel()
	rep := tester.RunPaths(context.Background(), nodes.Builtins(), []string{"../../flows/self-healing.test.yaml"}, &tester.Options{Coverage: true})
	if len(rep.Coverage) != 1 {
		t.Fatalf("coverage of %d flows", len(rep.Coverage))
	}
	c := rep.Coverage[0]
	if c.Edges.Covered != c.Edges.Total || c.Edges.Total != 11 || c.Total().Percent() != 100 || len(c.Missing) != 0 {
		t.Fatalf("coverage %+v, missing %v", c, c.Missing)
	}
	// one case alone leaves edges uncovered, and says which
	rep = tester.RunPaths(context.Background(), nodes.Builtins(), []string{"../../flows/self-healing.test.yaml"},
		&tester.Options{Coverage: true, Run: regexp.MustCompile(`^401 escalates`)})
	c = rep.Coverage[0]
	if c.Edges.Covered != 4 || !slices.Contains(c.Missing, "edge call -> done (next)") || !slices.Contains(c.Missing, "data action call: timeout") || !slices.Contains(c.Missing, "edge * -> escalate (on_error)") {
		t.Fatalf("coverage of one case: edges %s, missing %v", c.Edges, c.Missing)
	}
	if below := rep.BelowMin(80); len(below) != 1 {
		t.Fatalf("BelowMin(80) = %d flows", len(below))
	}
}

// A snapshot case fails when the trace changes, and --update rewrites its golden file.
func TestSnapshotUpdate(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	flow, err := os.ReadFile("../../flows/self-healing.yaml")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(tmp, "f.yaml"), flow, 0o644)
	testFile := filepath.Join(tmp, "s.test.yaml")
	write := func(status int) {
		src := "flow: f.yaml\ncases:\n  - name: Snap Shot!\n    snapshot: true\n    inputs: {order_id: X}\n    http: {push_order: [{status: " +
			map[int]string{200: "200", 201: "201"}[status] + "}]}\n"
		if err := os.WriteFile(testFile, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(200)
	rep := tester.RunPaths(context.Background(), nodes.Builtins(), []string{testFile}, nil)
	if cr := rep.Files[0].Cases[0]; cr.Status != tester.Fail || !strings.Contains(cr.Failures[0].Msg, "no golden trace") {
		t.Fatalf("without a golden file: %v %v", cr.Status, cr.Failures)
	}
	rep = tester.RunPaths(context.Background(), nodes.Builtins(), []string{testFile}, &tester.Options{Update: true})
	if rep.Files[0].Cases[0].Status != tester.Pass {
		t.Fatalf("update: %v", rep.Files[0].Cases[0].Failures)
	}
	if _, err := os.Stat(filepath.Join(tmp, "snapshots", "s", "snap-shot.trace.jsonl")); err != nil {
		t.Fatal(err)
	}
	if rep := tester.RunPaths(context.Background(), nodes.Builtins(), []string{testFile}, nil); rep.Files[0].Cases[0].Status != tester.Pass {
		t.Fatalf("against its own golden file: %v", rep.Files[0].Cases[0].Failures)
	}
	write(201)
	rep = tester.RunPaths(context.Background(), nodes.Builtins(), []string{testFile}, nil)
	cr := rep.Files[0].Cases[0]
	if cr.Status != tester.Fail || !strings.Contains(cr.Failures[0].String(), `s.test.yaml:3: snapshot: trace differs from`) ||
		!strings.Contains(cr.Failures[0].Msg, `"status":201`) {
		t.Fatalf("changed trace: %v", cr.Failures)
	}
}

// GitHub annotations carry file and line as properties and escape newlines.
func TestGitHubOutput(t *testing.T) {
	t.Parallel()
	rep := tester.RunPaths(context.Background(), nodes.Builtins(), []string{filepath.Join(dir, "fail", "expectations.test.yaml"), filepath.Join(dir, "invalid", "no-flow.test.yaml")}, nil)
	var out bytes.Buffer
	rep.WriteGitHub(&out, 0)
	s := out.String()
	for _, want := range []string{
		"::error file=../../testdata/tester/fail/expectations.test.yaml,line=11,title=archflow test%3A everything wrong::outcome: expected \"escalated\", got \"success\"\n",
		"::error file=../../testdata/tester/fail/expectations.test.yaml,line=12,title=archflow test%3A everything wrong::path: expected [init, call, classify, escalate, failed]%0A    got ",
		"::error file=../../testdata/tester/invalid/no-flow.test.yaml,line=1,col=7,title=invalid test file::flow missing.yaml does not load",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %q in:\n%s", want, s)
		}
	}
}

// The JUnit report has one testsuite per file and one testcase per case, and failure messages
// start with the expectation's file:line.
func TestJUnitShape(t *testing.T) {
	t.Parallel()
	rep := tester.RunPaths(context.Background(), nodes.Builtins(), []string{filepath.Join(dir, "fail"), filepath.Join(dir, "pass", "seed.test.yaml"), filepath.Join(dir, "invalid", "no-flow.test.yaml")}, nil)
	var buf bytes.Buffer
	if err := rep.WriteJUnit(&buf); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Suites []struct {
			Name     string `xml:"name,attr"`
			Tests    int    `xml:"tests,attr"`
			Failures int    `xml:"failures,attr"`
			Errors   int    `xml:"errors,attr"`
			Skipped  int    `xml:"skipped,attr"`
			Cases    []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	got := map[string][4]int{}
	for _, s := range doc.Suites {
		got[filepath.Base(s.Name)] = [4]int{s.Tests, s.Failures, s.Errors, s.Skipped}
	}
	want := map[string][4]int{
		"env.test.yaml":          {1, 0, 1, 0},
		"expectations.test.yaml": {2, 2, 0, 0},
		"script.test.yaml":       {3, 3, 0, 0},
		"seed.test.yaml":         {5, 0, 0, 1},
		"no-flow.test.yaml":      {1, 0, 1, 0},
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: tests/failures/errors/skipped = %v, want %v", k, got[k], v)
		}
	}
	for _, s := range doc.Suites {
		for _, c := range s.Cases {
			if c.Failure != nil && !regexp.MustCompile(`^\S+\.test\.yaml:\d+: `).MatchString(c.Failure.Message) {
				t.Errorf("%s: failure message does not start with file:line: %q", c.Name, c.Failure.Message)
			}
		}
	}
}

// The report validates against the Apache Ant JUnit schema that CI systems read.
func TestJUnitValidatesAgainstTheAntSchema(t *testing.T) {
	t.Parallel()
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skip("xmllint not installed (apt-get install libxml2-utils); in CI this test fails instead")
		}
		t.Fatal("xmllint is needed in CI: apt-get install -y libxml2-utils")
	}
	// The XSD is not the project's to ship: CI lays it beside the checkout. A clone that stands
	// alone relies on TestJUnitShape's structural checks instead.
	xsd := "../../../shared/junit/JUnit.xsd"
	if _, err := os.Stat(xsd); err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("no JUnit schema beside the repository (%s); the structural checks of TestJUnitShape still ran", xsd)
		}
		t.Fatalf("CI lays the JUnit schema beside the repository at %s: %v", xsd, err)
	}
	rep := tester.RunPaths(context.Background(), nodes.Builtins(), []string{dir + "/pass", dir + "/fail", dir + "/invalid", "../../flows"}, nil)
	path := filepath.Join(t.TempDir(), "report.xml")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteJUnit(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out, err := exec.Command(xmllint, "--noout", "--schema", xsd, path).CombinedOutput()
	if err != nil {
		report, _ := os.ReadFile(path)
		t.Fatalf("xmllint: %v\n%s\n%s", err, out, report)
	}
}

// passthrough: true lets unscripted calls reach the network (here a loopback server); without
// it the same case sends nothing and fails naming the call.
func TestPassthrough(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"success": true}`))
	}))
	defer srv.Close()
	tmp := t.TempDir()
	flow, _ := os.ReadFile("../../flows/self-healing.yaml")
	os.WriteFile(filepath.Join(tmp, "f.yaml"), flow, 0o644)
	src := "flow: f.yaml\nenv: {ERP_URL: \"" + srv.URL + "\"}\ncases:\n" +
		"  - name: real call\n    passthrough: true\n    inputs: {order_id: P-1}\n    expect: {outcome: success, calls: {push_order: 1}}\n" +
		"  - name: no passthrough\n    inputs: {order_id: P-2}\n    expect: {outcome: success}\n"
	path := filepath.Join(tmp, "p.test.yaml")
	os.WriteFile(path, []byte(src), 0o644)
	rep := tester.RunPaths(context.Background(), nodes.Builtins(), []string{path}, &tester.Options{Parallel: 1})
	cs := rep.Files[0].Cases
	if cs[0].Status != tester.Pass {
		t.Errorf("passthrough case: %v", cs[0].Failures)
	}
	if cs[1].Status != tester.Fail || !strings.Contains(cs[1].Failures[0].Msg, "no scripted response for call 1 to push_order") {
		t.Errorf("case without passthrough: %v %v", cs[1].Status, cs[1].Failures)
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("the server got %d requests, want 1 (only the passthrough case's)", n)
	}
}

// Cases run in parallel never share state: each sees only its own inputs, responses and
// counters (the race detector watches the rest).
func TestParallelCasesAreIsolated(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	flow, _ := os.ReadFile("../../flows/self-healing.yaml")
	os.WriteFile(filepath.Join(tmp, "f.yaml"), flow, 0o644)
	var src strings.Builder
	src.WriteString("flow: f.yaml\ncases:\n")
	for i := 0; i < 200; i++ {
		fails := i % 4 // 0..3 transient failures before success
		fmt.Fprintf(&src, "  - name: case %d\n    inputs: {order_id: O-%d, amount: %d}\n    http:\n      push_order:\n", i, i, i)
		if fails > 0 {
			fmt.Fprintf(&src, "        - {status: 503, times: %d}\n", fails)
		}
		fmt.Fprintf(&src, "        - {status: 200, body: {success: true}}\n")
		fmt.Fprintf(&src, "    expect:\n      outcome: success\n      variables: {order_id: O-%d, amount: %d, retry_count: %d}\n      calls: {push_order: %d}\n", i, i, fails, fails+1)
		fmt.Fprintf(&src, "      requests: [%s{body: {id: O-%d, amount: %d}}]\n", strings.Repeat(fmt.Sprintf("{body: {id: O-%d}}, ", i), fails), i, i)
	}
	path := filepath.Join(tmp, "par.test.yaml")
	os.WriteFile(path, []byte(src.String()), 0o644)
	rep := tester.RunPaths(context.Background(), nodes.Builtins(), []string{path}, &tester.Options{Parallel: 16})
	if n := rep.Counts(); n.Passed != 200 {
		out, errs := text(rep)
		t.Fatalf("%+v\n%s%s", n, out, errs)
	}
}
