package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/archflow/archflow/nodes"
)

// Issue 14: what a new user saw running flows from the README alone.

// screen is a terminal for tests: stdout and stderr both write to it, and lines() replays the
// bytes the way a terminal shows them (\r returns to the start of the line, ESC[2K clears it).
type screen struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *screen) IsTerminal() bool { return true }

func (s *screen) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	var cur []rune
	col := 0
	in := []rune(s.buf.String())
	for i := 0; i < len(in); i++ {
		switch {
		case in[i] == '\n':
			out = append(out, string(cur))
			cur, col = nil, 0
		case in[i] == '\r':
			col = 0
		case in[i] == 0x1b && i+3 < len(in) && string(in[i+1:i+4]) == "[2K":
			cur = nil
			i += 3
		case in[i] == 0x1b: // colour: skip to the final 'm'
			for i < len(in) && in[i] != 'm' {
				i++
			}
		default:
			if col < len(cur) {
				cur[col] = in[i]
			} else {
				cur = append(cur, in[i])
			}
			col++
		}
	}
	if len(cur) > 0 {
		out = append(out, string(cur))
	}
	return out
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const mockSeed = "../../../flows/self-healing.mock.yaml"

func TestBatchProgressBarIsErasedBeforeEachResult(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"orders.jsonl": `{"order_id": "A-1"}
{"order_id": "A-2"}

{"order_id": "A-3"}
`})
	var scr screen
	code := execute(nodes.Builtins(), []string{"run", seedFlow, "--inputs", filepath.Join(dir, "orders.jsonl"), "--clock", "virtual", "--mock", mockSeed, "--concurrency", "1"}, &scr, &scr)
	lines := scr.lines()
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, strings.Join(lines, "\n"))
	}
	want := []string{
		`✔ success line 1 order_id="A-1" `,
		`✔ success line 2 order_id="A-2" `,
		`✔ success line 4 order_id="A-3" `,
		`[==============================] 3/3  success 3  other 0`,
		`3 instances: success 3`,
	}
	if len(lines) != len(want) {
		t.Fatalf("screen has %d lines, want %d:\n%s", len(lines), len(want), strings.Join(lines, "\n"))
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("screen line %d is %q, want it to start %q", i+1, lines[i], w)
		}
	}
}

func TestBatchResultsCarryTheirInputLine(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"orders.csv": "order_id,amount\nC-1,1\nC-2,2\n"})
	code, out, errOut := cli(t, "run", seedFlow, "--inputs", filepath.Join(dir, "orders.csv"), "--clock", "virtual", "--mock", mockSeed, "--output", "json", "--concurrency", "1") // one at a time: results stream as instances end
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	// results stream as instances end, in any order
	if len(lines) != 2 || !strings.Contains(out, `"input":{"line":2}`) || !strings.Contains(out, `"input":{"line":3}`) {
		t.Errorf("results lack input.line (the header is line 1):\n%s", out)
	}
}

func TestInputFileMistakes(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{
		"typed.jsonl": "{\"order_id\": \"A-1\"}\n{\"order_id\": 5}\n",
		"extra.csv":   "order_id,amount,customer\nA-1,3,ACME\n",
	})
	code, _, errOut := cli(t, "run", seedFlow, "--inputs", filepath.Join(dir, "typed.jsonl"), "--clock", "virtual", "--mock", mockSeed)
	want := filepath.Join(dir, "typed.jsonl") + ":2:14: error: input order_id: wrong type: cannot assign number 5 to a variable of type string\n"
	if code != 2 || errOut != want {
		t.Errorf("wrong-typed JSONL value: exit %d, stderr\n%s\nwant\n%s", code, errOut, want)
	}
	code, _, errOut = cli(t, "run", seedFlow, "--inputs", filepath.Join(dir, "extra.csv"), "--clock", "virtual", "--mock", mockSeed)
	want = filepath.Join(dir, "extra.csv") + `:2:7: error: unknown input "customer" (--ignore-extra-columns skips what is not an input)` + "\n"
	if code != 2 || errOut != want {
		t.Errorf("extra CSV column: exit %d, stderr\n%s\nwant\n%s", code, errOut, want)
	}
	code, out, errOut := cli(t, "run", seedFlow, "--inputs", filepath.Join(dir, "extra.csv"), "--clock", "virtual", "--mock", mockSeed, "--ignore-extra-columns", "--output", "json")
	if code != 0 || !strings.Contains(out, `"outcome":"success"`) || strings.Contains(out, "customer") {
		t.Errorf("--ignore-extra-columns: exit %d, stdout %s, stderr %s", code, out, errOut)
	}
}

func TestNonJSONBodyShowsTheResponseAndTheFix(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{
		"b.yaml": `flow: b
variables:
  msg: {type: string, output: true}
actions:
  get:
    method: GET
    url: http://127.0.0.1:1/x
    success: status == 200
    outputs:
      msg: body.message
start: call
nodes:
  call: {data_action: get, next: done, on_failure: done}
  done: {end: success}
`,
		"b.mock.yaml": "get:\n  - {status: 200, body: \"plain text\"}\n",
	})
	code, out, _ := cli(t, "run", filepath.Join(dir, "b.yaml"), "--mock", filepath.Join(dir, "b.mock.yaml"), "--clock", "virtual")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{
		"call         ← 200\n",
		filepath.Join(dir, "b.yaml") + `:10:12: "body.message": cannot fetch message from <nil>: body is nil (the response is empty or not JSON): use body?.message`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestHandBuiltRetryLoopNumbersItsCalls(t *testing.T) {
	t.Parallel()
	code, out, _ := cli(t, "run", seedFlow, "--input", "order_id=A-1", "--clock", "virtual", "--mock", mockSeed)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"(push_order, call #1)", "(push_order, call #2)", "(push_order, call #3)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "attempt 1") {
		t.Errorf("every call still says attempt 1:\n%s", out)
	}
}
