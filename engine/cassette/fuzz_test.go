package cassette

import (
	"os"
	"strings"
	"testing"
)

// Cassettes and traces are untrusted files (SPEC §11): whatever they hold, reading them gives a
// cassette or positioned errors, never a panic.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("../../flows/self-healing.cassette.yaml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("version: 1\nflow: x\ninteractions: []\n"))
	f.Add([]byte("version: 1\nflow: x\ninteractions:\n  - {action: a, request: {method: GET, url: /}, error: timeout}\n  - {action: notify.c, result: failed}\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, errs := Parse("f.cassette.yaml", data)
		if c == nil && len(errs) == 0 {
			t.Fatal("no cassette and no error")
		}
		for _, e := range errs {
			if !strings.HasPrefix(e.Error(), "f.cassette.yaml") {
				t.Fatalf("error without its file: %v", e)
			}
		}
	})
}

func FuzzTrace(f *testing.F) {
	f.Add([]byte(`{"seq":1,"instance":"i","event":"start","flow":"x","inputs":{"a":1}}` + "\n" +
		`{"seq":2,"instance":"i","event":"request","action":"a","method":"GET","url":"/"}` + "\n" +
		`{"seq":3,"instance":"i","event":"response","action":"a","status":200,"body":{"ok":true}}` + "\n"))
	f.Add([]byte(`{"seq":1,"instance":"i","event":"notify","channel":"c","outcome":"failure"}` + "\n{oops\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, errs := readTrace("f.jsonl", strings.NewReader(string(data)))
		for _, e := range errs {
			if !strings.HasPrefix(e.Error(), "f.jsonl:") {
				t.Fatalf("error without its position: %v", e)
			}
		}
	})
}
