package cli

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/archflow/archflow/engine/durable"
)

// Companion is the binary that carries the Temporal engine. archflow does not link the Temporal
// SDK: its package init alone (gRPC, protobuf descriptors) takes several milliseconds, which
// every command, `validate` included, would pay at start-up. The commands that need Temporal
// (`worker`, `cancel`, `run --engine temporal`, `test --engine temporal`) hand the whole command
// line to the companion, which is this same command line with the engine linked in.
const Companion = "archflow-temporal"

// durableSeam gives the commands the Temporal engine, or hands the command line to Companion.
type durableSeam struct {
	engine durable.Engine
	args   []string
}

// get returns the engine. Without one it replaces this process by Companion, run with the same
// arguments (so signals, exit code and output are the companion's own); it returns only when
// that fails.
func (d *durableSeam) get() (durable.Engine, error) {
	if d.engine != nil {
		return d.engine, nil
	}
	path, err := findCompanion()
	if err != nil {
		return nil, err
	}
	return nil, exitWith(exitInternal, "starting %s: %v", path, handOff(path, d.args))
}

// findCompanion looks for Companion next to this executable (symlinks resolved), then on PATH.
func findCompanion() (string, error) {
	name := Companion
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	dir := ""
	if exe, err := os.Executable(); err == nil {
		if exe, err = filepath.EvalSymlinks(exe); err == nil {
			dir = filepath.Dir(exe)
			p := filepath.Join(dir, name)
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				return p, nil
			}
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	} else if !errors.Is(err, exec.ErrNotFound) {
		return "", exitWith(exitInternal, "%v", err)
	}
	return "", exitWith(exitInternal, `this command runs on Temporal, which is in the companion binary %s (kept out of archflow so that every other command starts fast); it is neither next to this archflow (%s) nor on PATH. Install both binaries:
  CGO_ENABLED=0 go install github.com/archflow/archflow/cmd/...@latest
or, in a checkout:
  CGO_ENABLED=0 go build -o %s ./cmd/archflow-temporal`, Companion, dir, filepath.Join(dir, name))
}
