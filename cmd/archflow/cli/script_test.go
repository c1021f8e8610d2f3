package cli

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/archflow/archflow/nodes"
	"github.com/archflow/archflow/nodes/example/stamp"
	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets testscript run this test binary as the archflow command, so that the scripts
// under testdata/script exercise the built CLI: arguments, output and exit codes.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"archflow": func() { os.Exit(execute(nodes.Builtins(), os.Args[1:], os.Stdout, os.Stderr)) },
		// archflow with one node kind added the way a newcomer adds one (nodes/example/stamp)
		"archflow-stamp": func() {
			reg := nodes.Builtins()
			reg.AddKind(stamp.Kind())
			os.Exit(execute(reg, os.Args[1:], os.Stdout, os.Stderr))
		},
		"archflow-bench-upstream": benchUpstreamMain, // BenchmarkBatchThroughput's upstream
	})
}

// TestScripts runs testdata/script/*.txtar. $REPO is the repository root (for the seed flow)
// and $XSD the JUnit schema beside it. `exits CODE cmd args...` runs a command and checks its
// exit code exactly, which SPEC §8 makes part of the contract.
func TestScripts(t *testing.T) {
	t.Parallel()
	repo, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("REPO", repo)
			env.Setenv("XSD", filepath.Join(repo, "..", "shared", "junit", "JUnit.xsd"))
			if ci := os.Getenv("CI"); ci != "" {
				env.Setenv("CI", ci)
			}
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) < 2 {
					ts.Fatalf("usage: exits CODE command [args...]")
				}
				want, err := strconv.Atoi(args[0])
				if err != nil {
					ts.Fatalf("exits: bad code %q", args[0])
				}
				got := 0
				if err := ts.Exec(args[1], args[2:]...); err != nil {
					var ee *exec.ExitError
					if !errors.As(err, &ee) {
						ts.Fatalf("exits: %v", err)
					}
					got = ee.ExitCode()
				}
				if got != want {
					ts.Fatalf("exit code %d, want %d", got, want)
				}
			},
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "ci":
				return os.Getenv("CI") != "", nil
			case "xsd": // the JUnit schema CI lays beside the checkout; a standalone clone has none
				_, err := os.Stat(filepath.Join(repo, "..", "shared", "junit", "JUnit.xsd"))
				return err == nil, nil
			}
			return false, errors.New("unknown condition " + cond)
		},
	})
}
