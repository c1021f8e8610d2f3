package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/batch"
)

// printer prints a batch's results as their instances end, under a progress bar on a terminal,
// and keeps what the exit code and the summary need: 3 (interrupted) over 1 (an outcome other
// than success) over 0.
type printer struct {
	stdout, stderr io.Writer
	output         string
	single, color  bool
	progress       *progressBar
	counts         map[string]int
	code           int
	notStarted     int
	buffered       *batch.Output // stdout of a batch not shown on a terminal, flushed by finish
	line           []byte        // a JSON result line
}

func newPrinter(stdout, stderr io.Writer, output string, total int) *printer {
	p := &printer{stdout: stdout, stderr: stderr, output: output, single: total == 1, color: useColor(stdout), counts: map[string]int{}}
	if !p.single && isTerminal(stderr) {
		p.progress = newProgressBar(stderr, total)
	}
	if !p.single && !isTerminal(stdout) { // a write per result line cost a system call each
		p.buffered = batch.NewOutput(stdout, 100*time.Millisecond)
		p.stdout = p.buffered
	}
	return p
}

func (p *printer) report(r *engine.Result, inputs map[string]any) {
	p.reportLine(r, inputs, nil)
}

// reportLine is report with the result's JSON line when encode wrote it.
func (p *printer) reportLine(r *engine.Result, inputs map[string]any, line []byte) {
	if p.progress != nil { // the bar shares the terminal: erase it, print, redraw it
		p.progress.clear()
	}
	if line != nil {
		p.stdout.Write(line) // as printResult: a failed write of stdout is not retried
	} else if err := p.printJSON(r); err != nil {
		printResult(p.stdout, r, p.output, p.single, p.color, inputs)
	}
	p.counts[r.Outcome]++
	switch {
	case r.Outcome == engine.OutcomeInterrupted:
		p.code = exitInternal
	case r.Outcome != engine.OutcomeSuccess && p.code == exitOK:
		p.code = exitFailed
	}
	if r.Started.IsZero() && r.Outcome == engine.OutcomeInterrupted {
		p.notStarted++
	}
	if p.progress != nil {
		p.progress.add(r.Outcome)
		p.progress.draw()
	}
}

// encode writes r's JSON result line into b, for reportLine; nil when the output is text or r
// does not encode (reportLine then prints it as printResult does).
func (p *printer) encode(b []byte, r *engine.Result) []byte {
	if p.output != "json" {
		return nil
	}
	b, err := r.AppendJSON(b)
	if err != nil {
		return nil
	}
	return append(b, '\n')
}

// printJSON prints r's JSON result line (encode's) from one buffer for every line; an error
// (text output, a result that does not encode) leaves it to printResult.
func (p *printer) printJSON(r *engine.Result) error {
	line := p.encode(p.line[:0], r)
	if line == nil {
		return errors.ErrUnsupported
	}
	p.line = line
	p.stdout.Write(line) // as printResult: a failed write of stdout is not retried
	return nil
}

// finish ends the bar and prints the summary; it returns the exit code.
func (p *printer) finish(total int, err error, inputsPath string) int {
	if p.buffered != nil {
		p.buffered.Flush() // the results before what goes to stderr
		p.stdout = p.buffered.Unbuffered()
	}
	if p.progress != nil {
		p.progress.done()
	}
	if err != nil {
		fmt.Fprintf(p.stderr, "archflow: %s: %v\n", inputsPath, err)
		p.code = exitInternal
	}
	if !p.single && p.output == "text" {
		printBatchSummary(p.stdout, p.counts, p.color)
	}
	if p.notStarted > 0 {
		fmt.Fprintf(p.stderr, "archflow: interrupted: %d of %d instances not started\n", p.notStarted, total)
	}
	return p.code
}

// createPrivate creates (or truncates) a file holding run data, readable by its owner only
// (SPEC §11): traces, results, cassettes and dead letters may carry personal data.
func createPrivate(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	// an existing file keeps its mode on open: tighten it too
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
