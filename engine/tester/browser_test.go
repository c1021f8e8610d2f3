package tester_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/archflow/archflow/engine/tester"
	"github.com/archflow/archflow/nodes"
)

// The coverage report is checked in a real headless Chromium: the page loads with no console
// errors and no request for anything outside the file, and its screenshot shows the diagram,
// covered parts in green and uncovered parts in red. Skipped where Chromium is not installed
// (.ci/run installs it).

func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium on PATH (apt-get install chromium)")
	return ""
}

// browse loads page in headless Chromium, returning its screenshot and the console messages
// and network errors Chromium logged.
func browse(t *testing.T, bin, page string) (image.Image, []string) {
	t.Helper()
	dir := t.TempDir()
	shot := filepath.Join(dir, "shot.png")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--enable-logging=stderr", "--v=0",
		"--window-size=1100,1400", "--screenshot="+shot, "file://"+page)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	var logged []string
	for _, l := range strings.Split(stderr.String(), "\n") {
		if consoleRe.MatchString(l) || strings.Contains(l, "net::ERR_") {
			logged = append(logged, l)
		}
	}
	fh, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v\n%s", err, stderr.String())
	}
	defer fh.Close()
	img, err := png.Decode(fh)
	if err != nil {
		t.Fatal(err)
	}
	return img, logged
}

var consoleRe = regexp.MustCompile(`CONSOLE\(\d+\)|Uncaught|console\.error`)

// pixels counts the pixels near each colour.
func pixels(img image.Image, colors map[string][3]int) map[string]int {
	out := map[string]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			for name, c := range colors {
				if near(int(r>>8), c[0]) && near(int(g>>8), c[1]) && near(int(bl>>8), c[2]) {
					out[name]++
				}
			}
		}
	}
	return out
}

func near(a, b int) bool { return a-b < 24 && b-a < 24 }

func TestCoverageHTMLInChromium(t *testing.T) {
	t.Parallel()
	bin := chromium(t)
	// one case of each example flow: two diagrams on the page, each partly covered
	rep := tester.RunPaths(context.Background(), nodes.Builtins(), []string{"../../flows"},
		&tester.Options{Coverage: true, Run: regexp.MustCompile(`^recovers after two 503s$`)})
	if len(rep.Coverage) != 2 || rep.Coverage[0].Total().Percent() >= 100 || rep.Coverage[1].Total().Percent() >= 100 {
		t.Fatalf("want two flows partly covered, got %+v", rep.Coverage)
	}
	var page bytes.Buffer
	if err := rep.WriteCoverageHTML(&page); err != nil {
		t.Fatal(err)
	}
	html := page.String()
	// one self-contained file: nothing fetched from elsewhere
	for _, ref := range []string{`src="http`, `href="http`, `<script`, `url(http`} {
		if strings.Contains(html, ref) {
			t.Errorf("the report refers to something outside itself: %s", ref)
		}
	}
	if n := strings.Count(html, "<svg"); n != 2 {
		t.Errorf("%d diagrams, want 2", n)
	}
	for _, want := range []string{`class="node covered" id="self-healing-node-call"`, `class="node covered" id="self-healing-retry-node-call"`, `class="node uncovered"`, `class="uncovered"`} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %s", want)
		}
	}
	path := filepath.Join(t.TempDir(), "coverage.html")
	if err := os.WriteFile(path, page.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	img, logged := browse(t, bin, path)
	if len(logged) > 0 {
		t.Errorf("console errors or failed requests:\n%s", strings.Join(logged, "\n"))
	}
	n := pixels(img, map[string][3]int{"green": {0x2e, 0x7d, 0x32}, "red": {0xc6, 0x28, 0x28}, "white": {0xff, 0xff, 0xff}})
	b := img.Bounds()
	total := b.Dx() * b.Dy()
	if n["green"] < 500 || n["red"] < 200 || n["white"] > total*97/100 {
		t.Errorf("screenshot %dx%d: %d green, %d red, %d near-white pixels; want a diagram in green and red", b.Dx(), b.Dy(), n["green"], n["red"], n["white"])
	}
}

// The console check can fail: a page with a script error is caught.
func TestChromiumConsoleCheckCatchesErrors(t *testing.T) {
	t.Parallel()
	bin := chromium(t)
	path := filepath.Join(t.TempDir(), "bad.html")
	os.WriteFile(path, []byte(`<!DOCTYPE html><html><head><link rel="icon" href="data:,"></head><body><p>x</p><script>console.error("boom"); undefinedFunction();</script></body></html>`), 0o644)
	_, logged := browse(t, bin, path)
	if len(logged) == 0 {
		t.Error("a console error went unnoticed")
	}
}
