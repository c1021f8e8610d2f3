package cli

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// SPEC §11: files holding run data (dead letters, traces, results) are created 0600, whatever
// the umask; a trace overwriting an older world-readable one is tightened too.
func TestRunDataFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0) // the most permissive umask: the mode must come from archflow
	defer syscall.Umask(old)
	srv, _ := erp(t, 503, `{"success": false}`)
	dir := t.TempDir()
	dl := filepath.Join(dir, "dl.jsonl")
	trace := filepath.Join(dir, "trace.jsonl")
	os.WriteFile(trace, []byte("old\n"), 0o644)
	os.Chmod(trace, 0o644)
	t.Setenv("ERP_URL", srv.URL)
	t.Setenv("DEAD_LETTER", dl)
	code, _, errOut := cli(t, "run", seedFlow, "--input", "order_id=P-1", "--clock", "virtual", "--trace", trace)
	if code != 1 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	junit := filepath.Join(dir, "junit.xml")
	cli(t, "test", "../../../flows/self-healing.test.yaml", "--junit", junit)
	for _, p := range []string{dl, trace, junit} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", strings.TrimPrefix(p, dir), st.Mode().Perm())
		}
	}
}
