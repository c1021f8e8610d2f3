package engine_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/archflow/archflow/engine"
)

// An env-file line above bufio's 64 KiB default is read whole and so is the rest of the file;
// a line above 16 MiB is an error with its position, as is a malformed line, which is not echoed
// (it may be a secret).
func TestEnvFileLongLinesAndPositions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	long := strings.Repeat("c", 1<<20)
	p := filepath.Join(dir, "ok.env")
	os.WriteFile(p, []byte("A=1\nCERT=\""+long+"\"\nexport B='two'\n# comment\nC=3 # trailing\n"), 0o600)
	env, err := engine.ReadEnvFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if env["A"] != "1" || env["CERT"] != long || env["B"] != "two" || env["C"] != "3" {
		t.Errorf("got A=%q B=%q C=%q and CERT of %d bytes", env["A"], env["B"], env["C"], len(env["CERT"]))
	}
	for _, tc := range []struct{ content, want string }{
		{"A=1\nB=" + strings.Repeat("x", engine.MaxEnvLine) + "\nC=3\n", "bad.env:2:1: error: line longer than 16 MiB"},
		{"A=1\nB=" + strings.Repeat("x", engine.MaxEnvLine+100) + "\nC=3\n", "bad.env:2:1: error: line longer than 16 MiB"},
		{"A=1\n  hunter2-secret\n", "bad.env:2:3: error: expected KEY=VALUE: this line has no ="},
		{"A=1\n9X=1\n", "bad.env:2:1: error: expected KEY=VALUE: \"9X\" is not a name"},
	} {
		p := filepath.Join(dir, "bad.env")
		os.WriteFile(p, []byte(tc.content), 0o600)
		_, err := engine.ReadEnvFile(p)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want %q", err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("the error echoes the line: %v", err)
		}
	}
}
