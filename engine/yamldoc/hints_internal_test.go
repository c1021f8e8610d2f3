package yamldoc

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The indentation check only speaks after YAML has failed, but it must never blame a line of a
// file YAML reads fine: every YAML file of the repository is such a file.
func TestMisindentedIsQuietOnValidYAML(t *testing.T) {
	t.Parallel()
	checked := 0
	for _, root := range []string{"../../flows", "../../testdata", "../../cmd/archflow/cli/starter"} {
		filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || (!strings.HasSuffix(path, ".yaml") && !strings.HasSuffix(path, ".yml")) {
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var n yaml.Node
			if yaml.Unmarshal(data, &n) != nil {
				return nil // a fixture of a syntax error
			}
			checked++
			if l, c, want, bad := misindented(strings.Split(string(data), "\n"), 1); bad {
				t.Errorf("%s:%d:%d: blamed (want indent %d) though YAML reads the file", path, l, c, want)
			}
			return nil
		})
	}
	if checked < 30 {
		t.Errorf("checked %d files", checked)
	}
}
