package auth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/clock"
	"github.com/archflow/archflow/engine/trace"
	"github.com/archflow/archflow/nodes"
)

// Every trace and result these tests produce is written under outDir; when the tests are done,
// TestMain greps them all for every secret value the tests handed out and fails on any.
var (
	outDir   string
	secretMu sync.Mutex
	secrets  = map[string]bool{}
	runs     int
)

// secret records a value that must never be written, and returns it.
func secret(v string) string {
	secretMu.Lock()
	defer secretMu.Unlock()
	secrets[v] = true
	return v
}

func TestMain(m *testing.M) {
	var err error
	outDir, err = os.MkdirTemp("", "archflow-auth-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	code := m.Run()
	if code == 0 {
		code = grepSecrets()
	}
	os.RemoveAll(outDir)
	os.Exit(code)
}

// grepSecrets looks for every secret in every file written; it reports and fails on a hit.
func grepSecrets() int {
	files, _ := filepath.Glob(filepath.Join(outDir, "*"))
	if len(files) == 0 || len(secrets) == 0 {
		fmt.Fprintf(os.Stderr, "secret grep: %d files, %d secrets: nothing to check\n", len(files), len(secrets))
		return 1
	}
	var names []string
	for s := range secrets {
		names = append(names, s)
	}
	sort.Strings(names)
	code := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		for _, s := range names {
			if bytes.Contains(data, []byte(s)) {
				fmt.Fprintf(os.Stderr, "FAIL: secret %q appears in %s\n", s, filepath.Base(f))
				code = 1
			}
		}
	}
	if code == 0 && testing.Verbose() {
		fmt.Printf("secret grep: %d secrets, %d traces and results: none found\n", len(names), len(files))
	}
	return code
}

var clockStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func load(t *testing.T, path string) *engine.Flow {
	t.Helper()
	f, err := nodes.Builtins().LoadFile(path)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	return f
}

// runOne runs one instance of f on a virtual clock with env as its environment, writing its
// trace (JSON Lines, as --trace does) and its result (JSON) under outDir.
func runOne(t *testing.T, f *engine.Flow, env map[string]string, inputs map[string]any) *engine.Result {
	t.Helper()
	lookup := func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
	if errs := f.CheckEnv(lookup); len(errs) > 0 {
		t.Fatalf("env: %v", errs)
	}
	in, err := f.Inputs(inputs)
	if err != nil {
		t.Fatalf("inputs: %v", err)
	}
	secretMu.Lock()
	runs++
	n := runs
	secretMu.Unlock()
	var traced bytes.Buffer
	tr := trace.NewJSONLTracer(&traced)
	res := f.Run(context.Background(), in, &engine.Options{
		Clock:    func() clock.Clock { return clock.NewVirtualClock(clockStart) },
		Env:      lookup,
		Channels: engine.Capture{},
		Seed:     1,
		Tracer:   tr,
	})
	tr.Flush()
	out, err := json.Marshal(res)
	if err != nil {
		t.Error(err) // Error, not Fatal: runOne also runs on goroutines of the test
	}
	base := filepath.Join(outDir, fmt.Sprintf("%03d-%s", n, filepath.Base(t.Name())))
	if err := os.WriteFile(base+".trace.jsonl", traced.Bytes(), 0o600); err != nil {
		t.Error(err)
	}
	if err := os.WriteFile(base+".result.json", out, 0o600); err != nil {
		t.Error(err)
	}
	return res
}
