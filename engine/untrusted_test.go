package engine_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/archflow/archflow/engine/scripted"
	"github.com/archflow/archflow/engine/tester"
	"github.com/archflow/archflow/engine/yamldoc"
	"github.com/archflow/archflow/nodes"
)

// aliasBomb nests nine aliases per level, levels deep: 9^levels scalars once expanded, from a few
// hundred bytes. Placed under key at the given indent.
func aliasBomb(levels int, indent string) string {
	var b strings.Builder
	b.WriteString(indent + "l0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i <= levels; i++ {
		p := "*a" + string(rune('0'+i-1))
		b.WriteString(indent + "l" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [" + strings.Repeat(p+", ", 8) + p + "]\n")
	}
	return b.String()
}

// Each YAML reader (flow, include, test, mock) refuses an alias bomb at the alias that crosses
// the limit, quickly and without expanding it.
// Not parallel: it measures allocations, which other tests running at once would add to.
func TestAliasBombIsRefusedByEveryReader(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	flowBomb := write("bomb.yaml", "flow: bomb\nstart: s\nactions:\n  a:\n    url: http://127.0.0.1/\n    body:\n"+aliasBomb(8, "      ")+"nodes:\n  s: {end: success}\n")
	write("inc.yaml", "actions:\n  a:\n    url: http://127.0.0.1/\n    body:\n"+aliasBomb(8, "      "))
	incBomb := write("inc-flow.yaml", "flow: inc\ninclude: [inc.yaml]\nstart: s\nnodes:\n  s: {end: success}\n")
	write("ok.yaml", "flow: ok\nstart: s\nnodes:\n  s: {end: success}\n")
	testBomb := write("bomb.test.yaml", "flow: ok.yaml\ncases:\n  - name: c\n    inputs:\n"+aliasBomb(8, "      ")+"    expect: {outcome: success}\n")
	mockBomb := write("bomb.mock.yaml", "x:\n"+aliasBomb(8, "  "))
	cycle := write("cycle.yaml", "flow: c\nstart: s\nx: &a [1, *a]\nnodes:\n  s: {end: success}\n")

	readers := []struct {
		name, file string
		load       func() error
		want       string // the position of the refusing alias
	}{
		{"flow", flowBomb, func() error { _, err := nodes.Builtins().LoadFile(flowBomb); return err }, "bomb.yaml:12:16:"},
		{"include", incBomb, func() error { _, err := nodes.Builtins().LoadFile(incBomb); return err }, "inc.yaml:10:16:"},
		{"test", testBomb, func() error { _, errs := tester.NewLoader(nodes.Builtins()).Load(testBomb); return errs.Err() }, "bomb.test.yaml:10:16:"},
		{"mock", mockBomb, func() error { _, err := scripted.LoadMock(mockBomb); return err }, "bomb.mock.yaml:7:12:"},
		{"cycle", cycle, func() error { _, err := nodes.Builtins().LoadFile(cycle); return err }, "cycle.yaml:3:"},
	}
	for _, r := range readers {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		err := r.load()
		took := time.Since(start)
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Errorf("%s: no error", r.name)
			continue
		}
		if !strings.Contains(err.Error(), r.want) || !strings.Contains(err.Error(), "alias") {
			t.Errorf("%s: want an alias error at %s, got:\n%v", r.name, r.want, err)
		}
		if took > 10*time.Second { // milliseconds in practice; generous for a loaded machine running -race
			t.Errorf("%s: took %s", r.name, took)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
			t.Errorf("%s: allocated %d MiB", r.name, grew>>20)
		}
	}
}

// Aliases a real flow uses (a shared header map, a repeated list) still load.
func TestModestAliasesLoad(t *testing.T) {
	t.Parallel()
	src := `flow: ok
variables:
  v: {type: string, default: x}
actions:
  a:
    url: http://127.0.0.1/
    headers: &h {X-A: "1", X-B: "2"}
  b:
    url: http://127.0.0.1/b
    headers: *h
start: s
nodes:
  s: {end: success}
`
	if _, err := nodes.Builtins().Load("ok.yaml", []byte(src)); err != nil {
		t.Fatal(err)
	}
}

// Flow, test and mock files above 16 MiB are refused before they are parsed.
func TestOversizedFilesAreRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	big := "flow: big\ndescription: \"" + strings.Repeat("x", yamldoc.MaxFileSize) + "\"\nstart: s\nnodes:\n  s: {end: success}\n"
	for _, name := range []string{"big.yaml", "big.test.yaml", "big.mock.yaml"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(big), 0o600); err != nil {
			t.Fatal(err)
		}
		var err error
		switch name {
		case "big.yaml":
			_, err = nodes.Builtins().LoadFile(p)
		case "big.test.yaml":
			_, errs := tester.NewLoader(nodes.Builtins()).Load(p)
			err = errs.Err()
		default:
			_, err = scripted.LoadMock(p)
		}
		if err == nil || !strings.Contains(err.Error(), "larger than 16 MiB") {
			t.Errorf("%s: want a refusal, got %v", name, err)
		}
	}
}
