package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/cassette"
	"github.com/archflow/archflow/engine/tester"
	"github.com/archflow/archflow/engine/yamldoc"
)

// instanceHook gives an instance its own options before it runs, and what to do with its
// result after: recording it (--record) and tracing what a cassette holds (--trace).
type instanceHook func(o engine.Options) (engine.Options, func(*engine.Result))

// recordHook returns the hook of --record PATH and --trace (nil when neither is given), and a
// count of cassettes that could not be written. PATH is a file for one instance and a
// directory for a batch, --inputs (made when missing).
func recordHook(path string, single, tracing bool, stderr io.Writer) (instanceHook, func() int64, error) {
	if path == "" && !tracing {
		return nil, nil, nil
	}
	if path != "" && !single {
		if info, err := os.Stat(path); err == nil && !info.IsDir() {
			return nil, nil, exitWith(exitInvalid, "--record %s: a batch records one cassette per instance into a directory, and %s is a file", path, path)
		}
		if err := os.MkdirAll(path, 0o700); err != nil {
			return nil, nil, exitWith(exitInvalid, "--record: %v", err)
		}
	}
	if path != "" && single {
		if info, err := os.Stat(path); err == nil && info.IsDir() {
			single = false // a directory given for one instance: <instance id>.cassette.yaml in it
		}
	}
	var failed atomic.Int64
	hook := func(o engine.Options) (engine.Options, func(*engine.Result)) {
		var rec *cassette.Recorder
		opts := &o
		if path != "" {
			rec = cassette.NewRecorder(nil)
			opts = rec.Options(opts)
		}
		if tracing {
			opts = cassette.Tracing(opts)
		}
		done := func(r *engine.Result) {
			if rec == nil {
				return
			}
			file := path
			if !single {
				file = filepath.Join(path, r.Instance+cassette.Suffix)
			}
			if err := rec.Cassette(r).WriteFile(file); err != nil {
				failed.Add(1)
				fmt.Fprintf(stderr, "archflow: writing cassette: %v\n", err)
			}
		}
		return *opts, done
	}
	return hook, failed.Load, nil
}

func isCassetteFile(path string) bool {
	b := filepath.Base(path)
	return strings.HasSuffix(b, cassette.Suffix) || strings.HasSuffix(b, ".cassette.yml")
}

// validateCassette checks a cassette as validate checks test files: its format with positions,
// and, when the recorded flow lies beside it (<flow>.yaml), that every interaction's action,
// auth entry and channel exists in that flow.
func validateCassette(reg *engine.Registry, path string) yamldoc.ErrorList {
	c, errs := cassette.ReadFile(path)
	if c == nil {
		return errs
	}
	for _, ext := range []string{".yaml", ".yml"} {
		fp := filepath.Join(filepath.Dir(path), c.Flow+ext)
		if _, err := os.Stat(fp); err != nil || c.Flow == "" {
			continue
		}
		flow, err := reg.LoadFile(fp)
		if err != nil || flow.Name != c.Flow {
			break // the flow's own errors are reported when it is validated
		}
		return tester.CheckCassette(flow, c)
	}
	return nil
}
