package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/graph"
	"github.com/archflow/archflow/engine/graph/svg"
	"github.com/archflow/archflow/engine/yamldoc"
)

type graphFlags struct {
	format   string
	trace    string
	instance string
}

func newGraphCmd(reg *engine.Registry) *cobra.Command {
	var gf graphFlags
	cmd := &cobra.Command{
		Use:   "graph FLOW",
		Short: "Draw a flow as a Mermaid or Graphviz graph; with --trace, the path an instance took",
		Long: `Draw the compiled flow: one box per node (its name and kind) and one arrow per route,
labelled next, on_failure, on_timeout, case N or default. A trace written by
run --trace (or a snapshot: true test case's golden trace) highlights the nodes entered
and the routes taken, with counts.

--format svg draws the picture in process (no Graphviz needed).

Exit codes: 0 drawn; 2 invalid flow, trace or flags.`,
		Example: `  # paste into a Markdown file inside a mermaid code block
  archflow graph flows/self-healing.yaml

  # the path a run took, as a picture
  archflow run flows/self-healing.yaml --input order_id=A-1 --mock flows/self-healing.mock.yaml --clock virtual --trace run.jsonl
  archflow graph flows/self-healing.yaml --trace run.jsonl --format svg > run.svg`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return drawGraph(cmd.OutOrStdout(), cmd.ErrOrStderr(), reg, args[0], &gf)
		},
	}
	f := cmd.Flags()
	f.StringVar(&gf.format, "format", "mermaid", "mermaid, dot or svg")
	f.StringVar(&gf.trace, "trace", "", "highlight the path taken in a JSON Lines trace FILE")
	f.StringVar(&gf.instance, "instance", "", "with --trace: only this instance (default: every instance of the trace)")
	return cmd
}

func drawGraph(stdout, stderr io.Writer, reg *engine.Registry, path string, gf *graphFlags) error {
	switch gf.format {
	case "mermaid", "dot", "svg":
	default:
		return exitWith(exitInvalid, "--format must be mermaid, dot or svg, not %q", gf.format)
	}
	if gf.instance != "" && gf.trace == "" {
		return exitWith(exitInvalid, "--instance needs --trace")
	}
	f, err := reg.LoadFile(path)
	if err != nil {
		if l, ok := yamldoc.AsList(err); ok {
			return l.Errors()
		}
		return err
	}
	g := graph.New(f)
	if gf.trace != "" {
		fh, err := os.Open(gf.trace)
		if err != nil {
			return exitWith(exitInvalid, "--trace: %v", err)
		}
		warnings, err := g.ReadTrace(fh, gf.trace, gf.instance)
		fh.Close()
		for _, w := range warnings {
			fmt.Fprintf(stderr, "archflow: warning: %s\n", w)
		}
		if l, ok := yamldoc.AsList(err); ok {
			return l
		}
		if err != nil {
			return exitWith(exitInvalid, "%v", err)
		}
	}
	switch gf.format {
	case "mermaid":
		_, err = io.WriteString(stdout, g.Mermaid())
	case "dot":
		_, err = io.WriteString(stdout, g.Dot())
	case "svg":
		// drawn in process from the same DOT text: no Graphviz needed
		pic, perr := svg.ParseDOT(g.Dot())
		if perr != nil {
			return exitWith(exitInternal, "drawing svg: %v", perr)
		}
		err = svg.Render(stdout, pic)
	}
	return err
}
