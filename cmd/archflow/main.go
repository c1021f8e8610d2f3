// Command archflow runs, validates and tests Architect-style YAML flows (package
// cmd/archflow/cli). It does not link the Temporal SDK, so that every command starts fast; the
// commands that run on Temporal hand over to archflow-temporal, installed beside it.
package main

import (
	"os"

	"github.com/archflow/archflow/cmd/archflow/cli"
	"github.com/archflow/archflow/nodes"
)

func main() {
	os.Exit(cli.Execute(nodes.Builtins(), nil, os.Args[1:], os.Stdout, os.Stderr))
}
