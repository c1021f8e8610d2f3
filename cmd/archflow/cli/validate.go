package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/lint"
	"github.com/archflow/archflow/engine/tester"
	"github.com/archflow/archflow/engine/yamldoc"
)

func newValidateCmd(reg *engine.Registry) *cobra.Command {
	var strict bool
	var output string
	cmd := &cobra.Command{
		Use:   "validate PATH...",
		Short: "Check flow and test files: schema, references, expressions, graph and lint rules",
		Long: `Check flow files (and *.test.yaml files) without running them. A directory is searched
for flow files (YAML with flow: and nodes:) and test files.

Exit codes: 0 clean (warnings allowed); 2 errors, or warnings under --strict.`,
		Example: `  archflow validate flows/self-healing.yaml
  archflow validate flows/ --strict --output github`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch output {
			case "text", "json", "github":
			default:
				return exitWith(exitInvalid, "--output must be text, json or github, not %q", output)
			}
			files, err := collectYAML(args)
			if err != nil {
				return err
			}
			v := &validator{reg: reg}
			var all yamldoc.ErrorList
			for _, f := range files {
				all = append(all, v.file(f)...)
			}
			all = all.Sort()
			writeDiagnostics(cmd.OutOrStdout(), cmd.ErrOrStderr(), all, output)
			errs, warns := len(all.Errors()), len(all.Warnings())
			if output == "text" {
				fmt.Fprintf(cmd.ErrOrStderr(), "%d file(s) checked: %d error(s), %d warning(s)\n", len(files), errs, warns)
			}
			if errs > 0 || (strict && warns > 0) {
				return &exitError{code: exitInvalid}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&strict, "strict", false, "treat warnings as errors")
	cmd.Flags().StringVar(&output, "output", "text", "text, json (one diagnostic per line) or github (workflow annotations)")
	return cmd
}

// validator checks files: test files with the test runner's strict decoder, cassettes with their
// reader, flow files with the compiler and the lint rules. (The JSON Schema describes what the
// compiler accepts, for editors; tests hold the two together.)
type validator struct {
	reg *engine.Registry
}

func (v *validator) file(path string) yamldoc.ErrorList {
	if isCassetteFile(path) {
		return validateCassette(v.reg, path)
	}
	if isTestFile(path) {
		_, errs := tester.NewLoader(v.reg).Load(path)
		return errs
	}
	f, err := v.reg.LoadFile(path)
	if err != nil {
		if l, ok := yamldoc.AsList(err); ok {
			if f != nil {
				return f.Diagnostics
			}
			return l
		}
		return yamldoc.ErrorList{{Pos: yamldoc.Pos{File: path}, Severity: yamldoc.SevError, Msg: err.Error()}}
	}
	return slices.Concat(f.Diagnostics, lint.Check(f))
}

func isTestFile(path string) bool {
	b := filepath.Base(path)
	return strings.HasSuffix(b, ".test.yaml") || strings.HasSuffix(b, ".test.yml")
}

// collectYAML expands directories into the flow and test files below them.
func collectYAML(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, yamldoc.ErrorList{{Pos: yamldoc.Pos{File: a}, Severity: yamldoc.SevError, Msg: "no such file or directory"}}
		}
		if !st.IsDir() {
			out = append(out, a)
			continue
		}
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != a && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" && a != p) {
					return filepath.SkipDir
				}
				return nil
			}
			ext := filepath.Ext(p)
			if ext != ".yaml" && ext != ".yml" {
				return nil
			}
			if isTestFile(p) || looksLikeFlow(p) {
				out = append(out, p)
			}
			return nil
		})
		if err != nil {
			return nil, exitWith(exitInvalid, "%v", err)
		}
	}
	sort.Strings(out)
	return out, nil
}

// looksLikeFlow tells flow files from other YAML (mock files, included actions) in a directory.
func looksLikeFlow(path string) bool {
	data, rerr := yamldoc.ReadUserFile(path)
	if rerr != nil {
		return true // let validation report it
	}
	root, _ := yamldoc.ParseYAML(path, data)
	if root == nil {
		return strings.Contains(string(data), "nodes:")
	}
	hasFlow, hasNodes := false, false
	for i := 0; i+1 < len(root.Content); i += 2 {
		switch root.Content[i].Value {
		case "flow":
			hasFlow = true
		case "nodes":
			hasNodes = true
		}
	}
	return hasFlow || hasNodes
}

func writeDiagnostics(stdout, stderr io.Writer, l yamldoc.ErrorList, output string) {
	for _, e := range l {
		switch output {
		case "json":
			b, _ := json.Marshal(map[string]any{"file": e.Pos.File, "line": e.Pos.Line, "col": e.Pos.Col,
				"severity": e.Severity, "rule": e.Rule, "message": e.Msg, "hint": e.Hint})
			fmt.Fprintln(stdout, string(b))
		case "github":
			fmt.Fprintln(stdout, githubAnnotation(e))
		default:
			fmt.Fprintln(stderr, e.Error())
		}
	}
}

// githubAnnotation formats a diagnostic as a GitHub Actions workflow command.
func githubAnnotation(e *yamldoc.Error) string {
	level := "error"
	if e.Severity == yamldoc.SevWarning {
		level = "warning"
	}
	props := []string{"file=" + ghEscapeProp(e.Pos.File)}
	if e.Pos.Line > 0 {
		props = append(props, fmt.Sprintf("line=%d", e.Pos.Line))
	}
	if e.Pos.Col > 0 {
		props = append(props, fmt.Sprintf("col=%d", e.Pos.Col))
	}
	if e.Rule != "" {
		props = append(props, "title="+ghEscapeProp(e.Rule))
	}
	msg := e.Msg
	if e.Hint != "" {
		msg += " (hint: " + e.Hint + ")"
	}
	return fmt.Sprintf("::%s %s::%s", level, strings.Join(props, ","), ghEscapeData(msg))
}

func ghEscapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func ghEscapeProp(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
