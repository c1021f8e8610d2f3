package scripted_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/archflow/archflow/engine/scripted"
)

// FuzzMockFile: --mock files never make the loader panic.
func FuzzMockFile(f *testing.F) {
	for _, root := range []string{"../../flows", "../../testdata"} {
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".mock.yaml") {
				if b, err := os.ReadFile(p); err == nil {
					f.Add(b)
				}
			}
			return nil
		})
	}
	f.Add([]byte("push_order: [{status: 503, headers: {Retry-After: \"30\"}}, {status: 200, body: {success: true}}]\n"))
	f.Add([]byte("push_order:\n  - {error: timeout}\n  - {status: 200, delay: 2s, times: 3}\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		fh, err := os.CreateTemp(dir, "*.mock.yaml")
		if err != nil {
			t.Fatal(err)
		}
		defer os.Remove(fh.Name())
		fh.Write(data)
		fh.Close()
		scripted.LoadMock(fh.Name())
	})
}
