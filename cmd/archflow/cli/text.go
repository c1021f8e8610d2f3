package cli

import (
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/trace"
)

// isTerminal reports whether w is a terminal. A writer may say so itself (a test's screen).
func isTerminal(w io.Writer) bool {
	if t, ok := w.(interface{ IsTerminal() bool }); ok {
		return t.IsTerminal()
	}
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

func useColor(w io.Writer) bool {
	return os.Getenv("NO_COLOR") == "" && isTerminal(w)
}

type palette struct{ on bool }

func (p palette) wrap(code, s string) string {
	if !p.on {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}
func (p palette) dim(s string) string   { return p.wrap("2", s) }
func (p palette) bold(s string) string  { return p.wrap("1", s) }
func (p palette) red(s string) string   { return p.wrap("31", s) }
func (p palette) green(s string) string { return p.wrap("32", s) }
func (p palette) yellow(s string) string {
	return p.wrap("33", s)
}

// textTracer prints a single instance step by step, as a person reads it.
type textTracer struct {
	reg     *engine.Registry
	mu      sync.Mutex
	w       io.Writer
	c       palette
	started time.Time
	calls   map[string]int // requests per node: a hand-built retry loop re-enters the node
}

func newTextTracer(w io.Writer, color bool, reg *engine.Registry) *textTracer {
	return &textTracer{reg: reg, w: w, c: palette{on: color}}
}

func (t *textTracer) Event(e *trace.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.c
	if e.Event == "start" {
		t.started = e.Time
		fmt.Fprintf(t.w, "%s %s  %s\n", c.bold("▶ "+e.Flow), c.dim("instance "+e.Instance), c.dim(fmtInputs(e.Inputs)))
		return
	}
	at := c.dim(fmt.Sprintf("%8s", "+"+fmtDur(e.Time.Sub(t.started))))
	node := fmt.Sprintf("%-12s", e.Node)
	if e.Event == "error" && e.Error != nil {
		fmt.Fprintf(t.w, "%s  %s %s\n", at, node, c.red("✖ "+e.Error.Message))
		return
	}
	// Every other event reads as the kind of its node says (its Describe).
	k := t.reg.Kind(e.Kind)
	if k == nil || k.Describe == nil {
		return
	}
	l, ok := k.Describe(e)
	if !ok {
		return
	}
	text := l.Text
	switch l.Tone {
	case trace.ToneGood:
		text = c.green(text)
	case trace.ToneWarn:
		text = c.yellow(text)
	case trace.ToneBad:
		text = c.red(text)
	}
	if l.Note != "" {
		text += " " + c.dim(l.Note)
	}
	fmt.Fprintf(t.w, "%s  %s %s\n", at, node, text)
}

func fmtInputs(m map[string]any) string {
	if len(m) == 0 {
		return ""
	}
	return trace.FormatVars(m)
}

func fmtDur(d time.Duration) string {
	if d < time.Second {
		return "0s"
	}
	return d.Truncate(time.Second).String()
}

func printResult(w io.Writer, r *engine.Result, output string, single, color bool, given map[string]any) {
	if output == "json" {
		b, err := r.MarshalJSON() // not json.Marshal(r): that would re-scan and compact the bytes
		if err != nil {
			fmt.Fprintf(w, `{"instance":%q,"error":"cannot encode result: %v"}`+"\n", r.Instance, err)
			return
		}
		w.Write(append(b, '\n'))
		return
	}
	c := palette{on: color}
	outcome, summary := outcomeText(c, r.Outcome), resultSummary(r)
	if !single {
		which := ""
		if r.Input != nil {
			which = fmt.Sprintf("line %d ", r.Input.Line)
		}
		if len(given) > 0 {
			which += clip(trace.FormatVars(given), 60) + " "
		}
		if r.Started.IsZero() {
			summary = "not started"
		}
		fmt.Fprintf(w, "%s %s%s %s\n", outcome, which, c.dim(r.Instance), c.dim(summary))
		if r.Error != nil {
			fmt.Fprintf(w, "    %s\n", c.red(r.Error.Message))
		}
		return
	}
	fmt.Fprintf(w, "%s  %s\n", c.bold(outcome), c.dim(summary))
	if r.StoppedAt != "" {
		fmt.Fprintf(w, "  stopped at %s\n", r.StoppedAt)
	}
	if r.Error != nil {
		fmt.Fprintf(w, "  error: %s %s at %s: %s\n", r.Error.Class, r.Error.Kind, r.Error.Node, r.Error.Message)
	}
	if len(r.Outputs) > 0 {
		fmt.Fprintf(w, "  outputs: %s\n", trace.FormatVars(r.Outputs))
	}
	for _, n := range r.Notifications {
		msg := fmt.Sprintf("  notification to %s: %s", n.Channel, n.Subject)
		if n.Error != "" {
			msg += c.red(" (NOT delivered: " + n.Error + ")")
		}
		fmt.Fprintln(w, msg)
	}
}

func sortedCallNames(m map[string]int) []string { return slices.Sorted(maps.Keys(m)) }

// outcomeText marks an outcome: ✔ success, ✖ error or interrupted, ■ any other end.
func outcomeText(c palette, outcome string) string {
	switch outcome {
	case engine.OutcomeSuccess:
		return c.green("✔ " + outcome)
	case engine.OutcomeError, engine.OutcomeInterrupted:
		return c.red("✖ " + outcome)
	}
	return c.yellow("■ " + outcome)
}

// resultSummary is the one-line account of an instance: steps, calls, waits and time taken.
func resultSummary(r *engine.Result) string {
	var calls []string
	for _, k := range sortedCallNames(r.Calls) {
		calls = append(calls, fmt.Sprintf("%s=%d", k, r.Calls[k]))
	}
	var waits []string
	for _, s := range r.Waits {
		waits = append(waits, trace.FormatSeconds(s))
	}
	summary := fmt.Sprintf("%d steps", len(r.Path))
	if len(calls) > 0 {
		summary += " · calls " + strings.Join(calls, " ")
	}
	if len(waits) > 0 {
		summary += " · waits " + strings.Join(waits, " ")
	}
	return summary + " · " + r.Ended.Sub(r.Started).Round(time.Millisecond).String()
}

func printBatchSummary(w io.Writer, counts map[string]int, color bool) {
	ran := 0
	for _, n := range counts {
		ran += n
	}
	var parts []string
	for _, k := range sortedCallNames(counts) {
		parts = append(parts, fmt.Sprintf("%s %d", k, counts[k]))
	}
	fmt.Fprintf(w, "%s\n", palette{on: color}.bold(fmt.Sprintf("%d instances: %s", ran, strings.Join(parts, ", "))))
}

// progressBar draws batch progress on a terminal.
type progressBar struct {
	w             io.Writer
	total, done_  int
	ok, notOK     int
	lastDrawnDone int
}

func newProgressBar(w io.Writer, total int) *progressBar {
	p := &progressBar{w: w, total: total}
	p.draw()
	return p
}

// add counts a finished instance; the caller redraws the bar after printing its result.
func (p *progressBar) add(outcome string) {
	p.done_++
	if outcome == engine.OutcomeSuccess {
		p.ok++
	} else {
		p.notOK++
	}
}

func (p *progressBar) draw() {
	const width = 30
	filled := 0
	if p.total > 0 {
		filled = p.done_ * width / p.total
	}
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d  success %d  other %d", strings.Repeat("=", filled), strings.Repeat(" ", width-filled), p.done_, p.total, p.ok, p.notOK)
}

// clear erases the bar's line, so that a result printed next starts on a clean line.
func (p *progressBar) clear() { fmt.Fprint(p.w, "\r\x1b[2K") }

func (p *progressBar) done() { fmt.Fprintln(p.w) }

// clip shortens s to at most n runes, marking the cut.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
