package cli

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/archflow/archflow/engine/batch"
	"github.com/archflow/archflow/engine/yamldoc"
	"github.com/archflow/archflow/nodes"
)

// FuzzInputs: inputs files (JSONL and CSV) never panic; every error has file:line:col; a file
// that checks reads the same inputs again when run.
func FuzzInputs(f *testing.F) {
	for _, s := range []string{
		"{\"order_id\": \"A-1\", \"amount\": 2.5}\n{\"order_id\": \"A-2\"}\n",
		"{\"order_id\": \"A-1\",}\n", "[1]\n", "null\n", "\n\n{\"order_id\": \"x\"}", "{\"amount\": 1e999}\n",
		"order_id,amount\nA-1,1\nA-2,2\n", "order_id\n\"bad\"quote\n", "order_id,amount\n\"A\n1\",1\n", "order_id,amount\nA,1,2\n", "",
	} {
		f.Add([]byte(s), s != "" && s[0] != '{' && s[0] != '[' && s[0] != 'n' && s[0] != '\n')
	}
	flow, err := nodes.Builtins().LoadFile(seedFlow)
	if err != nil {
		f.Fatal(err)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, isCSV bool) {
		ext := ".jsonl"
		if isCSV {
			ext = ".csv"
		}
		p := filepath.Join(dir, "in"+ext)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		src, err := batch.NewInputs(flow, nil, p, false)
		if err != nil {
			t.Fatal(err)
		}
		n, err := src.Check()
		if err != nil {
			var l yamldoc.ErrorList
			if errors.As(err, &l) {
				for _, e := range l {
					if e.Pos.File != p || e.Pos.Line < 1 || e.Pos.Col < 1 {
						t.Errorf("error without file:line:col: %v", e)
					}
				}
			}
			return
		}
		again := 0
		src.Each(func(line int, in map[string]any, err error) error {
			if err != nil || line < 1 {
				t.Errorf("line %d: %v after a clean check", line, err)
			}
			again++
			return nil
		})
		if again != n {
			t.Errorf("checked %d inputs, ran %d", n, again)
		}
	})
}
