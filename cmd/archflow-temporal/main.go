// Command archflow-temporal is archflow with the Temporal engine linked in (SPEC §10): `worker`,
// `cancel`, `run --engine temporal` and `test --engine temporal` run here, and archflow hands
// those commands over to it. Every other command works the same in both binaries.
package main

import (
	"os"

	"github.com/archflow/archflow/cmd/archflow/cli"
	"github.com/archflow/archflow/engine/temporal"
	"github.com/archflow/archflow/nodes"
)

func main() {
	os.Exit(cli.Execute(nodes.Builtins(), temporal.Engine{}, os.Args[1:], os.Stdout, os.Stderr))
}
