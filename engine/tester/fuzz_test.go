package tester_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/archflow/archflow/engine/tester"
	"github.com/archflow/archflow/nodes"
)

var flowLine = regexp.MustCompile(`(?m)^flow: (?:.*/)?([^/\n]+)$`)

// FuzzTestFile: test files never make the loader panic; errors have positions. The fuzzed file
// sits beside copies of the seed flows, so that flow: references resolve.
func FuzzTestFile(f *testing.F) {
	dir := f.TempDir()
	for _, root := range []string{"../../flows", "../../testdata"} {
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return nil
			}
			if strings.HasSuffix(p, ".test.yaml") {
				f.Add(flowLine.ReplaceAll(b, []byte("flow: $1"))) // the flow's copy beside it
			} else {
				os.WriteFile(filepath.Join(dir, d.Name()), b, 0o600)
			}
			return nil
		})
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fh, err := os.CreateTemp(dir, "*.test.yaml")
		if err != nil {
			t.Fatal(err)
		}
		defer os.Remove(fh.Name())
		fh.Write(data)
		fh.Close()
		_, errs := tester.NewLoader(nodes.Builtins()).Load(fh.Name())
		for _, e := range errs {
			if e.Pos.File == "" {
				t.Errorf("error without a file: %v", e)
			}
		}
	})
}
