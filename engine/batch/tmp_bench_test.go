package batch

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/transport"
	"github.com/archflow/archflow/nodes"
)

type instantTransport struct{}

func (instantTransport) Do(ctx context.Context, r *transport.Request) (*transport.Response, error) {
	return &transport.Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"success":true,"id":"x"}`)}, nil
}

func BenchmarkTmpBatch(b *testing.B) {
	src, _ := os.ReadFile("../../cmd/archflow/cli/testdata/bench/one-action.yaml")
	f, err := nodes.Builtins().Load("one.yaml", src)
	if err != nil {
		b.Fatal(err)
	}
	const n = 20000
	var sb strings.Builder
	for i := range n {
		fmt.Fprintf(&sb, "{\"order_id\": \"B-%d\"}\n", i)
	}
	p := filepath.Join(b.TempDir(), "in.jsonl")
	os.WriteFile(p, []byte(sb.String()), 0o600)
	opts := engine.Options{Transport: instantTransport{}, Env: func(string) (string, bool) { return "http://127.0.0.1:1", true }}
	b.Run("batch", func(b *testing.B) {
		for b.Loop() {
			in, _ := NewInputs(f, nil, p, false)
			if _, err := in.Check(); err != nil {
				b.Fatal(err)
			}
			Run(context.Background(), f, in, n, Options{Concurrency: 64, Instance: opts, Report: func(*engine.Result, map[string]any, []byte) {},
				Encode: func(b []byte, r *engine.Result) []byte { b, _ = r.AppendJSON(b); return b }})
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/instance")
	})
	b.Run("loop", func(b *testing.B) {
		for b.Loop() {
			var wg sync.WaitGroup
			for range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range n / 2 {
						r := f.Run(context.Background(), map[string]any{"order_id": fmt.Sprint("B-", i)}, &opts)
						r.AppendJSON(nil)
					}
				}()
			}
			wg.Wait()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/instance")
	})
}
