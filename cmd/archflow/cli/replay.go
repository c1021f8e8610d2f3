package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/cassette"
	"github.com/archflow/archflow/engine/replay"
	"github.com/archflow/archflow/engine/yamldoc"
)

type replayFlags struct {
	flow     string
	instance string
	output   string
	envFile  string
	maxSteps int
}

func newReplayCmd(reg *engine.Registry) *cobra.Command {
	var rf replayFlags
	cmd := &cobra.Command{
		Use:   "replay FILE --flow FLOW",
		Short: "Re-run a recorded instance on a (possibly edited) flow and compare",
		Long: `Re-run an instance recorded with run --record (a cassette, or a directory of them) or
run --trace (a JSON Lines trace) on FLOW, answering its requests from the recording, with the
recorded uuids and a virtual clock starting at the recorded start. Nothing is sent anywhere and
no notification is delivered; env() and secret() names that are not set read placeholders.

It compares path, requests (method, URL, body), waits, notifications (their channels),
outcome and outputs, and prints
"same path (N steps)" or the first difference: what differs, at which step, recorded against now.

Exit codes: 0 same path; 1 diverged; 2 invalid flow or recording.`,
		Example: `  # record an instance (here answered by the example's mock), then check the flow still does what it did
  archflow run flows/self-healing.yaml --input order_id=A-1 --mock flows/self-healing.mock.yaml --clock virtual --record order.cassette.yaml
  archflow replay order.cassette.yaml --flow flows/self-healing.yaml

  # the committed example: a run against a local ERP answering 503, 429 and 200
  archflow replay flows/self-healing.cassette.yaml --flow flows/self-healing.yaml

  # a trace written by run --trace replays too (--instance ID picks one of several); JSON for CI
  archflow run flows/self-healing.yaml --input order_id=A-2 --mock flows/self-healing.mock.yaml --clock virtual --trace trace.jsonl
  archflow replay trace.jsonl --flow flows/self-healing.yaml --output json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReplay(cmd, reg, args[0], &rf)
		},
	}
	f := cmd.Flags()
	f.StringVar(&rf.flow, "flow", "", "the flow to re-run (required)")
	f.StringVar(&rf.instance, "instance", "", "replay only this instance of a trace or directory")
	f.StringVar(&rf.output, "output", "text", "text or json (one object per instance)")
	f.StringVar(&rf.envFile, "env-file", "", "read env() and secret() values from a KEY=VALUE file")
	f.IntVar(&rf.maxSteps, "max-steps", engine.DefaultMaxSteps, "node executions allowed per instance")
	return cmd
}

func runReplay(cmd *cobra.Command, reg *engine.Registry, file string, rf *replayFlags) error {
	stdout := cmd.OutOrStdout()
	if rf.flow == "" {
		return exitWith(exitInvalid, "replay needs --flow FLOW (the flow to re-run the recording on)")
	}
	if rf.output != "text" && rf.output != "json" {
		return exitWith(exitInvalid, "--output must be text or json, not %q", rf.output)
	}
	flow, err := reg.LoadFile(rf.flow)
	if err != nil {
		return err
	}
	var envFile map[string]string
	if rf.envFile != "" {
		if envFile, err = engine.ReadEnvFile(rf.envFile); err != nil {
			return yamldoc.ErrorList{asError(err)}
		}
	}
	recs, errs := readRecordings(file)
	if len(errs) > 0 {
		return errs
	}
	if rf.instance != "" {
		var keep []*cassette.Cassette
		for _, c := range recs {
			if c.Instance == rf.instance {
				keep = append(keep, c)
			}
		}
		if len(keep) == 0 {
			return exitWith(exitInvalid, "%s: no instance %s recorded (%d instance(s) in it)", file, rf.instance, len(recs))
		}
		recs = keep
	}
	if len(recs) == 0 {
		return exitWith(exitInvalid, "%s: no recorded instance in it", file)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts := &replay.Options{Env: engine.EnvChain(envFile), MaxSteps: rf.maxSteps}
	code := exitOK
	for _, c := range recs {
		if c.Flow != "" && c.Flow != flow.Name {
			fmt.Fprintf(cmd.ErrOrStderr(), "archflow: %s: recorded from flow %s, replayed on flow %s\n", c.File, c.Flow, flow.Name)
		}
		rep, err := replay.Run(ctx, flow, c, opts)
		if err != nil {
			return exitWith(exitInvalid, "%s: %v", c.File, err)
		}
		if !rep.Same {
			code = exitFailed
		}
		printReplay(stdout, rep, rf.output, len(recs) > 1)
	}
	if code != exitOK {
		return &exitError{code: code}
	}
	return nil
}

func printReplay(w io.Writer, rep *replay.Report, output string, many bool) {
	if output == "json" {
		b, _ := json.Marshal(rep)
		fmt.Fprintf(w, "%s\n", b)
		return
	}
	if many {
		fmt.Fprintf(w, "%s: ", rep.Instance)
	}
	fmt.Fprintln(w, rep.Text())
}

// readRecordings reads a cassette, a directory of cassettes or a --trace file.
func readRecordings(path string) ([]*cassette.Cassette, yamldoc.ErrorList) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, yamldoc.ErrorList{{Pos: yamldoc.Pos{File: path}, Severity: yamldoc.SevError, Msg: yamldoc.ReadError(err)}}
	}
	if info.IsDir() {
		names, err := filepath.Glob(filepath.Join(path, "*"+cassette.Suffix))
		if err != nil {
			return nil, yamldoc.ErrorList{{Pos: yamldoc.Pos{File: path}, Severity: yamldoc.SevError, Msg: err.Error()}}
		}
		sort.Strings(names)
		var out []*cassette.Cassette
		var errs yamldoc.ErrorList
		for _, n := range names {
			c, e := cassette.ReadFile(n)
			errs = append(errs, e...)
			if c != nil {
				out = append(out, c)
			}
		}
		return out, errs.Sort()
	}
	if isTraceFile(path) {
		return cassette.FromTrace(path)
	}
	c, errs := cassette.ReadFile(path)
	if c == nil {
		return nil, errs
	}
	return []*cassette.Cassette{c}, nil
}

// isTraceFile tells a JSON Lines trace from a YAML cassette: by its name, or by a first line
// that is a JSON object.
func isTraceFile(path string) bool {
	if cassette.IsTrace(path) {
		return true
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	r := bufio.NewReader(f)
	line, _ := r.ReadString('\n')
	return strings.HasPrefix(strings.TrimSpace(line), "{\"")
}
