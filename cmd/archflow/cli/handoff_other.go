//go:build !unix

package cli

import (
	"errors"
	"os"
	"os/exec"
)

// handOff runs path with args as a child that shares this process's standard streams, and exits
// with its exit code (there is no exec(2) here).
func handOff(path string, args []string) error {
	cmd := exec.Command(path, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		os.Exit(ee.ExitCode())
	}
	if err == nil {
		os.Exit(0)
	}
	return err
}
