package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/archflow/archflow/nodes"
)

// cli runs archflow in-process and returns its exit code, stdout and stderr.
func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := execute(nodes.Builtins(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func erp(t *testing.T, status int, body string) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(status)
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

const seedFlow = "../../../flows/self-healing.yaml"

func TestRunSuccessExitsZeroWithJSONResult(t *testing.T) {
	srv, n := erp(t, 200, `{"success": true}`)
	t.Setenv("ERP_URL", srv.URL)
	code, out, errOut := cli(t, "run", seedFlow, "--input", "order_id=A-1", "--input", "amount=42", "--clock", "virtual", "--output", "json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("stdout is not one JSON result: %v\n%s", err, out)
	}
	if res["outcome"] != "success" || n.Load() != 1 || res["outputs"].(map[string]any)["data_action_status_code"] != 200.0 {
		t.Errorf("result %v after %d calls", res, n.Load())
	}
	for _, k := range []string{"instance", "flow", "outcome", "outputs", "variables", "path", "calls", "waits", "started", "ended"} {
		if _, ok := res[k]; !ok {
			t.Errorf("result lacks %s", k)
		}
	}
}

func TestRunEscalationExitsOneAndWritesTrace(t *testing.T) {
	srv, n := erp(t, 503, `{"success": false}`)
	dir := t.TempDir()
	t.Setenv("ERP_URL", srv.URL)
	t.Setenv("DEAD_LETTER", filepath.Join(dir, "dl.jsonl"))
	trace := filepath.Join(dir, "trace.jsonl")
	code, out, _ := cli(t, "run", seedFlow, "--input", "order_id=A-2", "--clock", "virtual", "--trace", trace)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if n.Load() != 4 || !strings.Contains(out, "escalated") || !strings.Contains(out, "waits 30s 1m0s 2m0s") {
		t.Errorf("%d calls; output:\n%s", n.Load(), out)
	}
	data, err := os.ReadFile(trace)
	if err != nil || bytes.Count(data, []byte("\n")) < 20 {
		t.Fatalf("trace: %v, %d bytes", err, len(data))
	}
	if _, err := os.Stat(filepath.Join(dir, "dl.jsonl")); err != nil {
		t.Errorf("no dead letter: %v", err)
	}
}

func TestRunMissingRequiredInputExitsTwoAndSendsNothing(t *testing.T) {
	srv, n := erp(t, 200, `{"success": true}`)
	t.Setenv("ERP_URL", srv.URL)
	code, _, errOut := cli(t, "run", seedFlow, "--clock", "virtual")
	if code != 2 || n.Load() != 0 {
		t.Fatalf("exit %d after %d requests, want 2 and none", code, n.Load())
	}
	if !strings.Contains(errOut, "missing required input order_id") {
		t.Errorf("stderr: %s", errOut)
	}
	code, _, errOut = cli(t, "run", seedFlow, "--input", "order_id=A", "--input", "amount=lots")
	if code != 2 || n.Load() != 0 || !strings.Contains(errOut, `"lots" is not a number`) {
		t.Errorf("wrong-typed input: exit %d, %d requests, stderr %s", code, n.Load(), errOut)
	}
}

func TestRunBatchFromJSONLAndCSV(t *testing.T) {
	srv, n := erp(t, 200, `{"success": true}`)
	t.Setenv("ERP_URL", srv.URL)
	dir := t.TempDir()
	jsonl := filepath.Join(dir, "orders.jsonl")
	os.WriteFile(jsonl, []byte(`{"order_id": "B-1", "amount": 1}
{"order_id": "B-2", "amount": 2.5}
{"order_id": "B-3"}
`), 0o644)
	code, out, errOut := cli(t, "run", seedFlow, "--inputs", jsonl, "--output", "json", "--concurrency", "3")
	if code != 0 || n.Load() != 3 {
		t.Fatalf("exit %d after %d calls: %s", code, n.Load(), errOut)
	}
	// results stream as instances end, each naming its input line
	for i, id := range []string{"B-1", "B-2", "B-3"} {
		found := false
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			found = found || strings.Contains(l, `"order_id":"`+id+`"`) && strings.Contains(l, fmt.Sprintf(`"input":{"line":%d}`, i+1))
		}
		if !found {
			t.Errorf("no result for %s with its input line:\n%s", id, out)
		}
	}
	csvFile := filepath.Join(dir, "orders.csv")
	os.WriteFile(csvFile, []byte("order_id,amount\nC-1,10\nC-2,abc\n"), 0o644)
	code, _, errOut = cli(t, "run", seedFlow, "--inputs", csvFile)
	if code != 2 || n.Load() != 3 || !strings.Contains(errOut, "orders.csv:3:5: error: input amount: wrong type") {
		t.Errorf("bad CSV line: exit %d, calls %d, stderr %s", code, n.Load(), errOut)
	}
}

func TestRunEnvFileAndMissingEnv(t *testing.T) {
	t.Parallel()
	srv, _ := erp(t, 200, `{"success": true}`)
	dir := t.TempDir()
	flow := filepath.Join(dir, "needs-env.yaml")
	os.WriteFile(flow, []byte(`flow: needs-env
actions:
  ping: {url: "{{ env('PING_URL') }}", headers: {Authorization: "Bearer {{ secret('PING_TOKEN') }}"}}
start: call
nodes:
  call: {data_action: ping, next: ok, on_failure: bad}
  ok: {end: success}
  bad: {end: failure}
`), 0o644)
	code, _, errOut := cli(t, "run", flow)
	if code != 2 || !strings.Contains(errOut, "environment variable PING_URL is not set") || !strings.Contains(errOut, "secret PING_TOKEN is not set") {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	envFile := filepath.Join(dir, ".env")
	os.WriteFile(envFile, []byte("# test\nPING_URL="+srv.URL+"\nexport PING_TOKEN=\"s3cr3t-value\"\n"), 0o644)
	trace := filepath.Join(dir, "t.jsonl")
	code, out, errOut := cli(t, "run", flow, "--env-file", envFile, "--trace", trace, "--output", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	data, _ := os.ReadFile(trace)
	if bytes.Contains(data, []byte("s3cr3t-value")) || strings.Contains(out, "s3cr3t-value") {
		t.Errorf("the secret leaked into the trace or result")
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	code, _, errOut := cli(t, "validate", "../../../testdata/validate/dangling-next.yaml")
	if code != 2 || !strings.Contains(errOut, `dangling-next.yaml:8:11: error: next: undefined node "secnd" (did you mean "second"?)`) {
		t.Errorf("dangling next: exit %d, stderr:\n%s", code, errOut)
	}
	code, _, errOut = cli(t, "validate", "../../../testdata/validate/misspelt-variable.yaml")
	if code != 2 || !strings.Contains(errOut, `misspelt-variable.yaml:9:15: error: in expression "retry_cont >= max_retries": unknown variable "retry_cont" (did you mean "retry_count"?)`) {
		t.Errorf("misspelt variable: exit %d, stderr:\n%s", code, errOut)
	}
	code, _, errOut = cli(t, "validate", "../../../testdata/validate/many-errors.yaml")
	if code != 2 || strings.Count(errOut, ": error: ") != 7 {
		t.Errorf("all errors of a file together: exit %d, stderr:\n%s", code, errOut)
	}
	code, out, _ := cli(t, "validate", "../../../testdata/validate/misspelt-variable.yaml", "--output", "github")
	if code != 2 || !strings.HasPrefix(out, "::error file=../../../testdata/validate/misspelt-variable.yaml,line=9,col=15::") {
		t.Errorf("github output: exit %d:\n%s", code, out)
	}
	code, _, errOut = cli(t, "validate", seedFlow)
	if code != 0 {
		t.Errorf("seed flow: exit %d\n%s", code, errOut)
	}
}

func TestHelpShowsExamples(t *testing.T) {
	t.Parallel()
	for _, c := range []string{"run", "validate"} {
		code, out, _ := cli(t, c, "--help")
		if code != 0 || !strings.Contains(out, "Examples:") || !strings.Contains(out, "archflow "+c) {
			t.Errorf("%s --help: exit %d\n%s", c, code, out)
		}
	}
}

func TestValidateStrictTurnsWarningsIntoExitTwo(t *testing.T) {
	t.Parallel()
	lint := "../../../testdata/lint/unsafe-retry.yaml"
	code, _, errOut := cli(t, "validate", lint)
	if code != 0 || !strings.Contains(errOut, "warning: node call retries a POST without an idempotency_key") || !strings.Contains(errOut, "[unsafe-retry]") {
		t.Errorf("warnings only: exit %d\n%s", code, errOut)
	}
	code, _, _ = cli(t, "validate", "--strict", lint)
	if code != 2 {
		t.Errorf("--strict with a warning: exit %d, want 2", code)
	}
	code, out, _ := cli(t, "validate", "--output", "json", lint)
	if code != 0 || !strings.Contains(out, `"rule":"unsafe-retry"`) || !strings.Contains(out, `"severity":"warning"`) {
		t.Errorf("json output: exit %d\n%s", code, out)
	}
}

func TestRunMockAnswersFromScriptAndChecksNames(t *testing.T) {
	t.Parallel()
	code, out, errOut := cli(t, "run", seedFlow, "--input", "order_id=M-1", "--clock", "virtual", "--mock", "../../../flows/self-healing.mock.yaml", "--output", "json")
	if code != 0 || !strings.Contains(out, `"calls":{"push_order":3}`) || !strings.Contains(out, `"waits":[30,60]`) {
		t.Errorf("exit %d: %s%s", code, out, errOut)
	}
	bad := filepath.Join(t.TempDir(), "mock.yaml")
	os.WriteFile(bad, []byte("push_ordr:\n  - {status: 200}\n"), 0o644)
	code, _, errOut = cli(t, "run", seedFlow, "--input", "order_id=M-2", "--mock", bad)
	if code != 2 || !strings.Contains(errOut, `mock.yaml:1:1: error: flow self-healing has no action "push_ordr" (did you mean "push_order"?)`) {
		t.Errorf("misspelt action in a mock: exit %d, stderr %s", code, errOut)
	}
}
