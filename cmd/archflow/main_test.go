package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The archflow binary must not link the Temporal SDK: its package init alone would make every
// command's start-up several times slower (issue 9). A new import that pulls it in fails here.
func TestArchflowDoesNotLinkTemporal(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "go.temporal.io/") || strings.HasPrefix(pkg, "google.golang.org/grpc") ||
			pkg == "github.com/archflow/archflow/engine/temporal" {
			t.Errorf("cmd/archflow links %s: keep the Temporal engine in archflow-temporal", pkg)
		}
	}
}

// Temporal commands of archflow hand over to archflow-temporal beside it, and say how to get it
// when it is missing.
func TestTemporalCommandsHandOverToTheCompanion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds both binaries")
	}
	dir := t.TempDir()
	out, err := exec.Command("go", "build", "-o", dir+string(filepath.Separator),
		".", "../archflow-temporal").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	bin := filepath.Join(dir, "archflow")
	run := func(bin string, args ...string) (int, string) {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "PATH="+t.TempDir()) // no companion on PATH
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), stderr.String()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, stderr.String()
	}

	// beside it: the companion answers (here, that no server listens)
	code, stderr := run(bin, "cancel", "--temporal", "127.0.0.1:1", "self-healing/A-1")
	if code != 3 || !strings.Contains(stderr, "cannot reach Temporal at 127.0.0.1:1") {
		t.Errorf("cancel with the companion beside: exit %d, stderr %q; want 3 and the companion's dial error", code, stderr)
	}
	code, stderr = run(bin, "test", "--engine", "temporal", "--run", "nothing-matches", "../../flows")
	if code != 0 {
		t.Errorf("test --engine temporal with the companion beside: exit %d, stderr %q", code, stderr)
	}

	// alone: exit 3, naming the companion and how to install it; other commands still work
	alone := filepath.Join(t.TempDir(), "archflow")
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(alone, data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"worker", "../../flows"},
		{"cancel", "self-healing/A-1"},
		{"run", "../../flows/self-healing.yaml", "--engine", "temporal", "--input", "order_id=A-1"},
		{"test", "--engine", "temporal", "../../flows"},
	} {
		code, stderr := run(alone, args...)
		if code != 3 || !strings.Contains(stderr, "archflow-temporal") || !strings.Contains(stderr, "go install") {
			t.Errorf("%s alone: exit %d, stderr %q; want 3, naming archflow-temporal and how to install it", args[0], code, stderr)
		}
	}
	if code, stderr := run(alone, "validate", "../../flows/self-healing.yaml"); code != 0 {
		t.Errorf("validate alone: exit %d, %s", code, stderr)
	}
}
