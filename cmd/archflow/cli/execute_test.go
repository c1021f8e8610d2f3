package cli

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/temporal"
)

// execute runs the command line in this process as archflow-temporal does: with the Temporal
// engine linked in.
func execute(reg *engine.Registry, args []string, stdout, stderr io.Writer) int {
	return Execute(reg, temporal.Engine{}, args, stdout, stderr)
}

// buildBinaries builds archflow and archflow-temporal into a new directory, as the README says
// to build them (CGO_ENABLED=0: static, pure-Go binaries), and returns the path of archflow:
// the Temporal commands of a built archflow hand over to the companion beside it.
func buildBinaries(tb testing.TB) string {
	return buildBinariesWith(tb, "CGO_ENABLED=0")
}

// buildBinariesWith is buildBinaries with env added to go build's environment.
func buildBinariesWith(tb testing.TB, env ...string) string {
	tb.Helper()
	dir := tb.TempDir()
	cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator),
		"github.com/archflow/archflow/cmd/archflow", "github.com/archflow/archflow/cmd/archflow-temporal")
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	return filepath.Join(dir, "archflow")
}
