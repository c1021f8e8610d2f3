package cli

import (
	"io"
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

// buildBinaries builds archflow and archflow-temporal into a new directory and returns the path
// of archflow: the Temporal commands of a built archflow hand over to the companion beside it.
func buildBinaries(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	out, err := exec.Command("go", "build", "-o", dir+string(filepath.Separator),
		"github.com/archflow/archflow/cmd/archflow", "github.com/archflow/archflow/cmd/archflow-temporal").CombinedOutput()
	if err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	return filepath.Join(dir, "archflow")
}
