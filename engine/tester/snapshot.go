package tester

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/archflow/archflow/engine/trace"
)

// SnapshotPath is where the golden trace of a snapshot: true case lives:
// snapshots/<test file stem>/<case name>.trace.jsonl beside the test file.
func SnapshotPath(c *Case) string {
	stem := filepath.Base(c.File.Path)
	stem = strings.TrimSuffix(strings.TrimSuffix(stem, filepath.Ext(stem)), ".test")
	return filepath.Join(filepath.Dir(c.File.Path), "snapshots", stem, slug(c.Name)+".trace.jsonl")
}

var slugRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[^A-Za-z0-9._-]+`) })

func slug(name string) string {
	s := strings.Trim(slugRe().ReplaceAllString(strings.ToLower(name), "-"), "-")
	if s == "" {
		s = "case"
	}
	return s
}

func encodeTrace(events []*trace.Event) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	var b []byte
	for _, e := range events {
		// the tracer's own encoding, so that the goldens check it; encoding/json says why not
		var err error
		if b, err = trace.AppendJSON(b[:0], e, false); err != nil {
			enc.Encode(e)
			continue
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

// snapshot compares the case's trace with its golden file, or rewrites the file under update.
func snapshot(cr *CaseResult, update bool) *Failure {
	c := cr.Case
	path := SnapshotPath(c)
	got := encodeTrace(cr.trace)
	fail := func(format string, args ...any) *Failure {
		return &Failure{Pos: c.Pos, Key: "snapshot", Msg: fmt.Sprintf(format, args...)}
	}
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fail("%v", err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			return fail("%v", err)
		}
		return nil
	}
	want, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return fail("no golden trace %s yet; run archflow test --update to write it", path)
	}
	if err != nil {
		return fail("%v", err)
	}
	if bytes.Equal(want, got) {
		return nil
	}
	wl := strings.Split(strings.TrimSuffix(string(want), "\n"), "\n")
	gl := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
	i := 0
	for i < len(wl) && i < len(gl) && wl[i] == gl[i] {
		i++
	}
	w, g := "(end of trace)", "(end of trace)"
	if i < len(wl) {
		w = wl[i]
	}
	if i < len(gl) {
		g = gl[i]
	}
	return fail("trace differs from %s at line %d (run archflow test --update if the change is intended)\n    expected %s\n    got      %s", path, i+1, w, g)
}
