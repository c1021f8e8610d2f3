package cli

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/temporal"
	"github.com/archflow/archflow/nodes"
)

// TestDocs runs what docs/*.md shows, so that examples that drift from the code fail. Every
// fenced block in docs/ carries a tag that says what it is:
//
//	```yaml file=NAME      written to NAME in the page's working directory (a later block of the
//	                       same name replaces it: the tutorial builds its flow step by step)
//	```text file=NAME      the same, for inputs files (.jsonl, .csv) and the like
//	```yaml fragment       part of a file, shown for reading (not run)
//	```sh run              each line `[VAR=value ...] archflow ARGS [> FILE]  [# exit N]` is run
//	                       in the page's directory; the exit code must be N (default 0)
//	```sh norun            a command that needs what a test cannot have (a real API)
//	```text stdout|stderr  lines the previous command's output must contain, in order; `...`
//	                       inside a line matches anything
//	```text                anything else, for reading
//
// Each page runs in its own directory holding a copy of flows/; pages run one after another.
func TestDocs(t *testing.T) {
	pages, _ := filepath.Glob("../../../docs/*.md")
	if len(pages) < 11 {
		t.Fatalf("docs/ has %d pages", len(pages))
	}
	repo, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, page := range pages {
		page, _ := filepath.Abs(page)
		t.Run(filepath.Base(page), func(t *testing.T) {
			runDocPage(t, repo, page)
		})
	}
}

type docBlock struct {
	line int
	info string
	body string
}

var fenceRe = regexp.MustCompile("^```(.*)$")

func docBlocks(t *testing.T, page string) []docBlock {
	t.Helper()
	data, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	var out []docBlock
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := 0
	var cur *docBlock
	for sc.Scan() {
		line++
		text := sc.Text()
		m := fenceRe.FindStringSubmatch(text)
		switch {
		case m != nil && cur == nil:
			cur = &docBlock{line: line, info: strings.TrimSpace(m[1])}
		case strings.TrimSpace(text) == "```" && cur != nil:
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.body += text + "\n"
		}
	}
	if cur != nil {
		t.Fatalf("%s:%d: unclosed code block", page, cur.line)
	}
	return out
}

func runDocPage(t *testing.T, repo, page string) {
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "flows"), os.DirFS(filepath.Join(repo, "flows"))); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	var last struct {
		cmd            string
		stdout, stderr string
		ran            bool
	}
	base := filepath.Base(page)
	for _, b := range docBlocks(t, page) {
		where := fmt.Sprintf("docs/%s:%d", base, b.line)
		fields := strings.Fields(b.info)
		lang := ""
		if len(fields) > 0 {
			lang = fields[0]
		}
		tag := ""
		if len(fields) > 1 {
			tag = fields[1]
		}
		switch {
		case (lang == "yaml" || lang == "text") && strings.HasPrefix(tag, "file="):
			name := strings.TrimPrefix(tag, "file=")
			if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(name, []byte(b.body), 0o644); err != nil {
				t.Fatal(err)
			}
		case lang == "yaml" && tag == "fragment":
		case lang == "sh" && tag == "run":
			for i, l := range strings.Split(strings.TrimRight(b.body, "\n"), "\n") {
				if strings.TrimSpace(l) == "" || strings.HasPrefix(strings.TrimSpace(l), "#") {
					continue
				}
				at := fmt.Sprintf("docs/%s:%d", base, b.line+1+i)
				last.cmd = l
				last.stdout, last.stderr = runDocCommand(t, at, l)
				last.ran = true
			}
		case lang == "sh" && tag == "norun":
		case lang == "text" && (tag == "stdout" || tag == "stderr"):
			if !last.ran {
				t.Errorf("%s: %s block with no command before it", where, tag)
				continue
			}
			got := last.stdout
			if tag == "stderr" {
				got = last.stderr
			}
			checkDocOutput(t, where, last.cmd, tag, b.body, got)
		case lang == "text" && tag == "":
		default:
			t.Errorf("%s: code block tagged %q: use yaml file=NAME, yaml fragment, sh run, sh norun, text stdout|stderr or text", where, b.info)
		}
	}
}

var exitCommentRe = regexp.MustCompile(`\s+#\s*exit\s+(\d+)\s*$`)

// runDocCommand runs one documented command line in process and checks its exit code.
func runDocCommand(t *testing.T, at, line string) (string, string) {
	t.Helper()
	want := 0
	if m := exitCommentRe.FindStringSubmatch(line); m != nil {
		want, _ = strconv.Atoi(m[1])
		line = line[:len(line)-len(m[0])]
	} else if i := strings.Index(line, "  #"); i >= 0 {
		line = line[:i]
	}
	args, err := shellWords(line)
	if err != nil {
		t.Errorf("%s: %v", at, err)
		return "", ""
	}
	for len(args) > 0 && strings.Contains(args[0], "=") && !strings.HasPrefix(args[0], "-") {
		k, v, _ := strings.Cut(args[0], "=")
		t.Setenv(k, v)
		args = args[1:]
	}
	redirect := ""
	if n := len(args); n >= 2 && args[n-2] == ">" {
		redirect, args = args[n-1], args[:n-2]
	}
	if len(args) == 0 || args[0] != "archflow" {
		t.Errorf("%s: a runnable line must be an archflow command: %s", at, line)
		return "", ""
	}
	var out, errb bytes.Buffer
	code := execute(nodes.Builtins(), args[1:], &out, &errb)
	if code != want {
		t.Errorf("%s: %s\nexit %d, want %d\nstdout:\n%s\nstderr:\n%s", at, line, code, want, out.String(), errb.String())
	}
	if redirect != "" {
		if err := os.WriteFile(redirect, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return out.String(), errb.String()
}

// checkDocOutput checks that every line shown appears in the output, in order.
func checkDocOutput(t *testing.T, where, cmd, stream, want, got string) {
	t.Helper()
	rest := got
	for _, w := range strings.Split(want, "\n") {
		w = strings.TrimSpace(w)
		if w == "" {
			continue
		}
		parts := strings.Split(w, "...")
		for i := range parts {
			parts[i] = regexp.QuoteMeta(parts[i])
		}
		re := regexp.MustCompile(strings.Join(parts, ".*"))
		loc := re.FindStringIndex(rest)
		if loc == nil {
			t.Errorf("%s: %s of `%s` lacks (in order)\n  %s\ngot:\n%s", where, stream, cmd, w, got)
			return
		}
		rest = rest[loc[1]:]
	}
}

// shellWords splits a command line the way a POSIX shell does for simple words and quotes.
func shellWords(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'' || c == '"':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				return nil, fmt.Errorf("unclosed %c", c)
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		case c == ' ' || c == '\t':
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out, nil
}

// The docs stand alone and stay complete: no page points to ../shared, relative links resolve,
// and flow-format.md lists every reserved name.
func TestDocsStandAlone(t *testing.T) {
	files, _ := filepath.Glob("../../../docs/*.md")
	files = append(files, "../../../README.md")
	linkRe := regexp.MustCompile(`\]\(([^)#\s]+)(#[^)]*)?\)`)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte("../shared")) {
			t.Errorf("%s points to ../shared", f)
		}
		for _, m := range linkRe.FindAllStringSubmatch(string(data), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(f), target)); err != nil {
				t.Errorf("%s links to %s, which does not exist", f, target)
			}
		}
	}
	format, err := os.ReadFile("../../../docs/flow-format.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range engine.ReservedNames() {
		if !bytes.Contains(format, []byte("`"+name+"`")) {
			t.Errorf("docs/flow-format.md does not list the reserved name `%s`", name)
		}
	}
}

// Every example in --help runs as written (from the repository root, with its files present).
func TestHelpExamplesRun(t *testing.T) {
	repo, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, sub := range []string{"flows", "testdata/tester/pass"} {
		if err := os.CopyFS(filepath.Join(dir, sub), os.DirFS(filepath.Join(repo, sub))); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	os.WriteFile("orders.jsonl", []byte("{\"order_id\": \"A-1\"}\n{\"order_id\": \"A-2\"}\n"), 0o644)
	root := newRootCmd(nodes.Builtins(), &durableSeam{engine: temporal.Engine{}})
	cmds := append(root.Commands(), root)
	ran := 0
	defer func() {
		if ran < 12 {
			t.Errorf("ran %d help examples; want every one", ran)
		}
	}()
	for _, c := range cmds {
		if err := os.Chdir(dir); err != nil { // an example may cd
			t.Fatal(err)
		}
		for i, l := range strings.Split(c.Example, "\n") {
			l = strings.TrimSpace(l)
			if strings.HasPrefix(l, "#") || l == "" {
				continue
			}
			if strings.HasPrefix(l, "ERP_URL=https://") { // the real API: not reachable from a test
				continue
			}
			// Temporal's examples need a dev server: temporal_e2e_test.go runs worker, run
			// --engine temporal and cancel against a real one.
			if strings.HasPrefix(l, "temporal ") || strings.HasPrefix(l, "archflow worker") || strings.HasPrefix(l, "archflow cancel") ||
				strings.Contains(l, "--engine temporal") {
				continue
			}
			if strings.Contains(l, "&&") || strings.Contains(l, "cd ") {
				for _, part := range strings.Split(l, "&&") {
					part = strings.TrimSpace(part)
					if strings.HasPrefix(part, "cd ") {
						if err := os.Chdir(strings.TrimPrefix(part, "cd ")); err != nil {
							t.Errorf("%s --help: %v", c.Name(), err)
						}
						continue
					}
					runDocCommand(t, fmt.Sprintf("%s --help example %d", c.Name(), i+1), part)
					ran++
				}
				continue
			}
			if j := strings.Index(l, "   #"); j >= 0 {
				l = strings.TrimSpace(l[:j])
			}
			if strings.HasPrefix(l, "archflow run ") && !strings.Contains(l, "--mock") {
				t.Errorf("%s --help: %q calls a real API (add --mock)", c.Name(), l)
				continue
			}
			runDocCommand(t, fmt.Sprintf("%s --help example %d", c.Name(), i+1), l)
			ran++
		}
	}
}
