package archy_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/archflow/archflow/engine/archy"
)

// Nothing panics on user input: any expression and any Archy file give a translation or errors.
func FuzzTranslateExpr(f *testing.F) {
	for _, s := range []string{`IsSet(Flow.x) and not Flow.y`, `Append("a", Flow.x)[0]`, `((`, `"\`, `Flow.`, `Count()`, `-`, `Flow.x.y.z[1][2]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		archy.TranslateExpr(s, func(scope, name string) (string, bool) { return name, scope == "Flow" })
	})
}

func FuzzImport(f *testing.F) {
	for _, name := range []string{"retry", "constructs", "platform", "untranslatable"} {
		data, err := os.ReadFile(filepath.Join(dir, name+".workflow.yaml"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("{}"))
	f.Add([]byte("workflow: {states: [{state: {name: A, refId: A, actions: [{changeState: {targetStateRef: A}}]}}]}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		archy.Import("fuzz.yaml", data, archy.Options{Set: map[string]string{"flow_name": "F", "integration": "I", "push_order": "P", "name": "N"}})
	})
}
