package main

import (
	"encoding/json"
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
)

func isTerminal(w io.Writer) bool {
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
func (p palette) cyan(s string) string { return p.wrap("36", s) }

// textTracer prints a single instance step by step, as a person reads it.
type textTracer struct {
	mu      sync.Mutex
	w       io.Writer
	c       palette
	started time.Time
}

func newTextTracer(w io.Writer, color bool) *textTracer {
	return &textTracer{w: w, c: palette{on: color}}
}

func (t *textTracer) Event(e *engine.Event) {
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
	switch e.Event {
	case "assign":
		fmt.Fprintf(t.w, "%s  %s %s\n", at, node, fmtVars(e.Set))
	case "request":
		fmt.Fprintf(t.w, "%s  %s %s %s %s\n", at, node, c.cyan(e.Method), e.URL, c.dim(fmt.Sprintf("(%s, attempt %d)", e.Action, e.Attempt)))
	case "response":
		status := "no response"
		if e.Status != nil {
			status = fmt.Sprint(*e.Status)
		}
		line := fmt.Sprintf("← %s", status)
		switch {
		case e.Outcome == "success":
			line = c.green(line + " success")
		case e.Error != nil:
			line = c.yellow(fmt.Sprintf("%s %s %s: %s", line, e.Error.Class, e.Error.Kind, e.Error.Message))
		}
		fmt.Fprintf(t.w, "%s  %s %s\n", at, node, line)
	case "decision":
		fmt.Fprintf(t.w, "%s  %s → %s %s\n", at, node, e.Next, c.dim("(case "+e.Case+")"))
	case "wait":
		fmt.Fprintf(t.w, "%s  %s wait %s\n", at, node, fmtSeconds(*e.Seconds))
	case "notify":
		msg := fmt.Sprintf("notify %s: %s", e.Channel, e.Subject)
		if e.Outcome == "failure" {
			msg = c.red(msg + " — delivery failed: " + e.Message)
		}
		fmt.Fprintf(t.w, "%s  %s %s\n", at, node, msg)
	case "error":
		fmt.Fprintf(t.w, "%s  %s %s\n", at, node, c.red("✖ "+e.Error.Message))
	}
}

func fmtInputs(m map[string]any) string {
	if len(m) == 0 {
		return ""
	}
	return fmtVars(m)
}

func fmtVars(m map[string]any) string {
	keys := slices.Sorted(maps.Keys(m))
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+"="+fmtValue(m[k]))
	}
	return strings.Join(parts, " ")
}

func fmtValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "NOT_SET"
	case string:
		return fmt.Sprintf("%q", x)
	case time.Time:
		return x.Format(time.RFC3339)
	case time.Duration:
		return x.String()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func fmtDur(d time.Duration) string {
	if d < time.Second {
		return "0s"
	}
	return d.Truncate(time.Second).String()
}

func fmtSeconds(s float64) string {
	return time.Duration(s * float64(time.Second)).String()
}

func printResult(w io.Writer, r *engine.Result, output string, single, color bool) {
	if output == "json" {
		b, err := json.Marshal(r)
		if err != nil {
			fmt.Fprintf(w, `{"instance":%q,"error":"cannot encode result: %v"}`+"\n", r.Instance, err)
			return
		}
		w.Write(append(b, '\n'))
		return
	}
	c := palette{on: color}
	outcome := r.Outcome
	switch outcome {
	case engine.OutcomeSuccess:
		outcome = c.green("✔ " + outcome)
	case engine.OutcomeError, engine.OutcomeInterrupted:
		outcome = c.red("✖ " + outcome)
	default:
		outcome = c.yellow("■ " + outcome)
	}
	var calls []string
	for _, k := range sortedCallNames(r.Calls) {
		calls = append(calls, fmt.Sprintf("%s=%d", k, r.Calls[k]))
	}
	var waits []string
	for _, s := range r.Waits {
		waits = append(waits, fmtSeconds(s))
	}
	summary := fmt.Sprintf("%d steps", len(r.Path))
	if len(calls) > 0 {
		summary += " · calls " + strings.Join(calls, " ")
	}
	if len(waits) > 0 {
		summary += " · waits " + strings.Join(waits, " ")
	}
	summary += " · " + r.Ended.Sub(r.Started).Round(time.Millisecond).String()
	if !single {
		id := r.Instance
		if r.Input != nil {
			id = fmt.Sprintf("line %d %s", r.Input.Line, id)
		}
		if r.Started.IsZero() {
			summary = "not started"
		}
		fmt.Fprintf(w, "%s %s %s\n", outcome, c.dim(strings.TrimSpace(id)), c.dim(summary))
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
		fmt.Fprintf(w, "  outputs: %s\n", fmtVars(r.Outputs))
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

func (p *progressBar) add(outcome string) {
	p.done_++
	if outcome == engine.OutcomeSuccess {
		p.ok++
	} else {
		p.notOK++
	}
	p.draw()
}

func (p *progressBar) draw() {
	const width = 30
	filled := 0
	if p.total > 0 {
		filled = p.done_ * width / p.total
	}
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d  success %d  other %d", strings.Repeat("=", filled), strings.Repeat(" ", width-filled), p.done_, p.total, p.ok, p.notOK)
}

func (p *progressBar) done() { fmt.Fprintln(p.w) }
