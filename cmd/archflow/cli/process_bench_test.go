package cli

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Benchmarks of the built binary, run as a user runs it (issue 9):
//
//	go test ./cmd/archflow/cli -run '^$' -bench 'VirtualBatchRSS|StartUp' -benchtime 1x

// maxRSS is the peak resident set of a finished command, in bytes (Linux reports KiB).
func maxRSS(cmd *exec.Cmd) float64 {
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		return float64(ru.Maxrss) * 1024
	}
	return 0
}

// BenchmarkVirtualBatchRSS runs 100,000 instances of the seed flow (two 503s, then success,
// scripted by its mock; waits on the virtual clock) in one `archflow run` and reports its peak
// RSS: results stream out and are dropped, so it stays flat in the number of inputs.
func BenchmarkVirtualBatchRSS(b *testing.B) {
	const instances = 100000
	bin := buildBinaries(b)
	inputs := filepath.Join(b.TempDir(), "orders.jsonl")
	fh, err := os.Create(inputs)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(fh)
	for i := range instances {
		w.WriteString(`{"order_id": "V-` + strconv.Itoa(i) + `", "amount": 1}` + "\n")
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	fh.Close()
	var rss, worst float64
	var wall time.Duration
	for range b.N {
		cmd := exec.Command(bin, "run", "../../../flows/self-healing.yaml", "--inputs", inputs, "--mock", "../../../flows/self-healing.mock.yaml",
			"--clock", "virtual", "--concurrency", "64", "--output", "json")
		cmd.Env = append(os.Environ(), "DEAD_LETTER="+os.DevNull)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr // results go to /dev/null: the parent does not hold them
		t0 := time.Now()
		if err := cmd.Run(); err != nil {
			b.Fatalf("archflow run: %v\n%.2000s", err, stderr.String())
		}
		wall += time.Since(t0)
		rss += maxRSS(cmd)
		worst = max(worst, maxRSS(cmd))
	}
	b.ReportMetric(rss/float64(b.N)/(1<<20), "MiB-maxrss")
	b.ReportMetric(worst/(1<<20), "MiB-maxrss-worst")
	b.ReportMetric(float64(b.N*instances)/wall.Seconds(), "instances/s")
}

// BenchmarkStartUp runs a hello-world Go binary and `archflow validate` of the seed flow (and
// `archflow run --help`, which loads nothing) in turn, and reports each one's median wall time
// and validate's ratio to hello-world. Medians of interleaved rounds: a busy moment of a shared
// machine slows one round of each, and moves neither median. archflow is built as the README
// says (CGO_ENABLED=0); where cgo is available, a default cgo build is measured too
// (validate-cgo-ratio): it links the C library dynamically, and the loader costs about 1 ms.
func BenchmarkStartUp(b *testing.B) {
	const rounds = 40
	bin := buildBinaries(b)
	dir := b.TempDir()
	hello := filepath.Join(dir, "hello")
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello, world\") }\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	if out, err := exec.Command("go", "build", "-o", hello, src).CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	seed := "../../../flows/self-healing.yaml"
	commands := [][]string{{hello}, {bin, "validate", seed}, {bin, "run", "--help"}}
	if out, _ := exec.Command("go", "env", "CGO_ENABLED").Output(); strings.TrimSpace(string(out)) == "1" {
		commands = append(commands, []string{buildBinariesWith(b), "validate", seed})
	}
	times := make([][]time.Duration, len(commands))
	for range b.N * rounds {
		for i, c := range commands {
			t0 := time.Now()
			if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
				b.Fatalf("%v: %v\n%s", c, err, out)
			}
			times[i] = append(times[i], time.Since(t0))
		}
	}
	median := func(d []time.Duration) time.Duration {
		slices.Sort(d)
		return d[len(d)/2]
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	h, v, r := median(times[0]), median(times[1]), median(times[2])
	b.ReportMetric(ms(h), "hello-ms")
	b.ReportMetric(ms(v), "validate-ms")
	b.ReportMetric(ms(r), "run-help-ms")
	b.ReportMetric(float64(v)/float64(h), "validate-ratio")
	if len(times) > 3 {
		c := median(times[3])
		b.ReportMetric(ms(c), "validate-cgo-ms")
		b.ReportMetric(float64(c)/float64(h), "validate-cgo-ratio")
	}
}
