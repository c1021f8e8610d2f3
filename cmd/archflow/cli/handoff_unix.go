//go:build unix

package cli

import (
	"os"
	"syscall"
)

// handOff replaces this process by path, run with args: the same pid, so a signal or kill -9
// sent to archflow reaches the companion.
func handOff(path string, args []string) error {
	return syscall.Exec(path, append([]string{path}, args...), os.Environ())
}
