package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/tester"
)

type testFlags struct {
	run          string
	tags         []string
	junit        string
	output       string
	coverage     bool
	coverageHTML string
	coverageMin  float64
	update       bool
	parallel     int
	verbose      bool
	engine       string
}

func newTestCmd(reg *engine.Registry, dur *durableSeam) *cobra.Command {
	var tf testFlags
	cmd := &cobra.Command{
		Use:   "test [PATH...]",
		Short: "Run *.test.yaml files: scripted HTTP, a virtual clock, assertions and coverage",
		Long: `Discover and run test files (*.test.yaml) under the given paths (default: the current
directory; directories named testdata or starting with . or _ are skipped while walking).
Every case runs on a virtual clock, so a 2-minute backoff costs no wall time, with HTTP
answered from the case's http: script and notifications captured, never delivered.

Exit codes: 0 all cases passed; 1 a case failed or coverage is below --coverage-min;
2 a test file (or its flow) is invalid, which wins over 1.`,
		Example: `  archflow test flows/
  archflow test flows/ --coverage --coverage-min 100 --junit report.xml
  archflow test --run 'Retry-After' --output github
  archflow test flows/ --coverage-html coverage.html     # each flow's diagram, covered parts coloured
  archflow test testdata/tester/pass/snapshot.test.yaml --update   # rewrite its golden traces`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTests(cmd, reg, dur, args, &tf)
		},
	}
	f := cmd.Flags()
	f.StringVar(&tf.run, "run", "", "run only cases whose name matches REGEX")
	f.StringSliceVar(&tf.tags, "tag", nil, "run only cases with this tag (repeatable, or comma-separated)")
	f.StringVar(&tf.junit, "junit", "", "write a JUnit XML report to FILE")
	f.StringVar(&tf.output, "output", "text", "text, json (JSON Lines) or github (workflow annotations)")
	f.BoolVar(&tf.coverage, "coverage", false, "report node, edge, decision-case and data-action-outcome coverage per flow")
	f.StringVar(&tf.coverageHTML, "coverage-html", "", "write the coverage report as HTML to FILE")
	f.Float64Var(&tf.coverageMin, "coverage-min", 0, "fail when a flow's coverage is below PCT percent")
	f.BoolVar(&tf.update, "update", false, "rewrite the golden traces of snapshot: true cases")
	f.IntVar(&tf.parallel, "parallel", 0, "cases run at once (default: the number of CPUs)")
	f.BoolVarP(&tf.verbose, "verbose", "v", false, "list every case, not only the failed ones")
	f.StringVar(&tf.engine, "engine", "local", "local, or temporal: Temporal's in-process test environment")
	return cmd
}

func runTests(cmd *cobra.Command, reg *engine.Registry, dur *durableSeam, paths []string, tf *testFlags) error {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	opts, err := tf.options(dur)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep := tester.RunPaths(ctx, reg, paths, opts)
	if err := tf.writeReports(rep, stdout, stderr); err != nil {
		return err
	}
	n := rep.Counts()
	switch {
	case n.Invalid > 0:
		return &exitError{code: exitInvalid}
	case ctx.Err() != nil:
		return &exitError{code: exitInternal, msg: "interrupted"}
	case n.Failed+n.Errors > 0 || len(rep.BelowMin(tf.coverageMin)) > 0:
		return &exitError{code: exitFailed}
	}
	if n.Passed+n.Skipped == 0 && tf.output == "text" {
		fmt.Fprintln(stderr, "archflow: no test cases found")
	}
	return nil
}

// options checks the flags and turns them into the test runner's options.
func (tf *testFlags) options(dur *durableSeam) (*tester.Options, error) {
	switch tf.output {
	case "text", "json", "github":
	default:
		return nil, exitWith(exitInvalid, "--output must be text, json or github, not %q", tf.output)
	}
	if tf.parallel < 0 {
		return nil, exitWith(exitInvalid, "--parallel must be at least 1")
	}
	if tf.coverageMin < 0 || tf.coverageMin > 100 {
		return nil, exitWith(exitInvalid, "--coverage-min must be a percentage between 0 and 100")
	}
	opts := &tester.Options{Parallel: tf.parallel, Update: tf.update,
		Coverage: tf.coverage || tf.coverageMin > 0 || tf.coverageHTML != ""}
	switch tf.engine {
	case "local":
	case "temporal":
		eng, err := dur.get()
		if err != nil {
			return nil, err
		}
		opts.Runner = eng.TestRun
	default:
		return nil, exitWith(exitInvalid, "--engine must be local or temporal, not %q", tf.engine)
	}
	if tf.run != "" {
		re, err := regexp.Compile(tf.run)
		if err != nil {
			return nil, exitWith(exitInvalid, "--run: %v", err)
		}
		opts.Run = re
	}
	for _, t := range tf.tags {
		if t = strings.TrimSpace(t); t != "" {
			opts.Tags = append(opts.Tags, t)
		}
	}
	return opts, nil
}

// writeReports prints the report in the chosen output and writes --junit and --coverage-html.
func (tf *testFlags) writeReports(rep *tester.Report, stdout, stderr io.Writer) error {
	switch tf.output {
	case "json":
		if err := rep.WriteJSON(stdout, tf.coverageMin); err != nil {
			return exitWith(exitInternal, "writing the report: %v", err)
		}
	case "github":
		rep.WriteGitHub(stdout, tf.coverageMin)
		for _, f := range rep.Files {
			for _, e := range f.Invalid {
				fmt.Fprintln(stderr, e.Error())
			}
		}
	default:
		rep.WriteText(stdout, stderr, tf.verbose, tf.coverageMin)
	}
	if tf.junit != "" {
		if err := writeFile(tf.junit, true, rep.WriteJUnit); err != nil {
			return exitWith(exitInternal, "writing %s: %v", tf.junit, err)
		}
	}
	if tf.coverageHTML != "" {
		if err := writeFile(tf.coverageHTML, false, rep.WriteCoverageHTML); err != nil {
			return exitWith(exitInternal, "writing %s: %v", tf.coverageHTML, err)
		}
	}
	return nil
}

// writeFile writes a report; private ones (results: JUnit) are created 0600 (SPEC §11).
func writeFile(path string, private bool, write func(w io.Writer) error) error {
	create := os.Create
	if private {
		create = createPrivate
	}
	f, err := create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
