package batch

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/jsondec"
	"github.com/archflow/archflow/engine/yamldoc"
)

// MaxInputLine is the longest line of an inputs file (SPEC §11).
const MaxInputLine = 16 << 20

// maxInputErrors bounds the errors a check of a bad inputs file reports.
const maxInputErrors = 50

// Inputs gives the inputs of a run's instances: --input alone, or one instance per line of
// --inputs, --input values serving as defaults. The file is streamed, never held in memory, and
// read twice: once to check every line before anything runs, once to run them.
type Inputs struct {
	flow        *engine.Flow
	base        map[string]any
	path        string    // "" for --input alone
	csv         bool      // the file is CSV, not JSON Lines
	ignoreExtra bool      // --ignore-extra-columns: keys that are not inputs of the flow are skipped
	names       []string  // the flow's inputs: a line's keys that are one of them are not copied
	maps        sync.Pool // inputs maps handed back (Release), for lines to decode into
}

// NewInputs reads --input name=value pairs (the defaults of every line) and, when path is not
// empty, streams one instance's inputs per line of a .jsonl or .csv file. ignoreExtra skips the
// keys of the file that are not inputs of the flow.
func NewInputs(flow *engine.Flow, pairs []string, path string, ignoreExtra bool) (*Inputs, error) {
	s := &Inputs{flow: flow, base: map[string]any{}, path: path, ignoreExtra: ignoreExtra}
	for _, v := range flow.Vars {
		if v.Input {
			s.names = append(s.names, v.Name)
		}
	}
	for _, kv := range pairs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--input %q: expected name=value", kv)
		}
		s.base[k] = v
	}
	if s.path != "" {
		switch strings.ToLower(filepath.Ext(s.path)) {
		case ".csv":
			s.csv = true
		case ".jsonl", ".ndjson", ".json":
		default:
			return nil, fmt.Errorf("--inputs %s: expected a .jsonl or .csv file", s.path)
		}
	}
	return s, nil
}

// Check reads every input and returns how many there are, or every error (file:line:col): those
// of the lines in line order, the first maxInputErrors of them, then the error that ended the
// reading (a line too long) when it came before that many.
func (s *Inputs) Check() (int, error) {
	if s.path == "" || s.csv {
		return s.checkEach()
	}
	fh, err := os.Open(s.path)
	if err != nil {
		return 0, fmt.Errorf("%v", err)
	}
	defer fh.Close()
	return s.checked(s.checkJSONL(fh, runtime.GOMAXPROCS(0), s.checkChunk))
}

// checkEach is Check line after line.
func (s *Inputs) checkEach() (int, error) {
	n := 0
	var errs yamldoc.ErrorList
	err := s.each(false, func(line int, in map[string]any, err error) error {
		n++
		if err != nil {
			if s.path == "" {
				return fmt.Errorf("%v (nothing was run)", err)
			}
			errs = append(errs, asError(err))
			if len(errs) >= maxInputErrors {
				return errTooManyErrors
			}
		}
		return nil
	})
	return s.checked(n, errs, err)
}

// checked is the result of a check that found n inputs and errs (at most maxInputErrors), then
// stopped at err: an error at a line of the file (reading it failed) follows errs, up to
// maxInputErrors; any other is the only error.
func (s *Inputs) checked(n int, errs yamldoc.ErrorList, err error) (int, error) {
	var at yamldoc.ErrorList
	switch {
	case err == nil || errors.Is(err, errTooManyErrors):
	case errors.As(err, &at):
		errs = append(errs, at...)
		errs = errs[:min(len(errs), maxInputErrors)]
	default:
		return 0, err
	}
	if len(errs) > 0 {
		return 0, errs
	}
	if n == 0 {
		return 0, fmt.Errorf("%s: no inputs", s.path)
	}
	return n, nil
}

var errTooManyErrors = errors.New("too many errors")

// Each calls fn with every input in order: its line in the file (0 for --input alone), the
// checked inputs, or the error of that line. A file that cannot be read further (a malformed
// CSV record, a line above MaxInputLine) ends with that error.
func (s *Inputs) Each(fn func(line int, in map[string]any, err error) error) error {
	return s.each(true, fn)
}

// each is Each; without keep, fn gets no inputs (nil), only the errors: the check converts every
// input but keeps none.
func (s *Inputs) each(keep bool, fn func(line int, in map[string]any, err error) error) error {
	if s.path == "" {
		in, err := s.flow.Inputs(s.base)
		return fn(0, in, err)
	}
	fh, err := os.Open(s.path)
	if err != nil {
		return fmt.Errorf("%v", err)
	}
	defer fh.Close()
	emit := s.emitter(keep, fn)
	if s.csv {
		return s.eachCSV(fh, emit)
	}
	return s.eachJSONL(fh, keep, emit)
}

// Release hands back an inputs map Each gave, once nothing reads it: a later line decodes into it
// (a JSON Lines line decoded in place; any other map is left to the collector).
func (s *Inputs) Release(m map[string]any) {
	if m != nil && s.path != "" && !s.csv && s.decodesInPlace() {
		clear(m)
		s.maps.Put(m)
	}
}

// decodesInPlace reports whether a line's decoded map is the one its inputs are read from:
// --input defaults and --ignore-extra-columns make another.
func (s *Inputs) decodesInPlace() bool { return len(s.base) == 0 && !s.ignoreExtra }

// emitter gives each line's values or error to fn, the values merged with the --input defaults
// and converted (keep) or only checked.
func (s *Inputs) emitter(keep bool, fn func(line int, in map[string]any, err error) error) emitFunc {
	return func(line, col int, raw map[string]any, cols func() map[string]int, rerr error) error {
		if rerr != nil {
			return fn(line, nil, s.errorAt(line, col, rerr.Error()))
		}
		m := raw // Flow.Inputs only reads it: merged into a map of its own only when there is something to merge
		if len(s.base) > 0 || s.ignoreExtra {
			m = make(map[string]any, len(s.base)+len(raw))
			for k, v := range s.base {
				m[k] = v
			}
			for k, v := range raw {
				if d := s.flow.Var(k); s.ignoreExtra && (d == nil || !d.Input) {
					continue
				}
				m[k] = v
			}
		}
		var in map[string]any
		var err error
		if keep {
			// m is this line's own map (decoded, or merged above): converted where it is
			in, err = m, s.flow.ConvertInputs(m)
		} else {
			err = s.flow.CheckInputs(m)
		}
		if err != nil {
			return fn(line, nil, s.inputError(line, cols, err))
		}
		return fn(line, in, nil)
	}
}

// inputError points at the column of the input the error is about, and says how to skip a
// column that is no input of the flow.
func (s *Inputs) inputError(line int, cols func() map[string]int, err error) *yamldoc.Error {
	col, msg := 1, err.Error()
	var ie *engine.InputError
	if errors.As(err, &ie) && ie.Name != "" {
		if c := cols()[ie.Name]; c > 0 {
			col = c
		}
		if d := s.flow.Var(ie.Name); d == nil || !d.Input {
			msg += " (--ignore-extra-columns skips what is not an input)"
		}
	}
	return s.errorAt(line, col, msg)
}

func (s *Inputs) errorAt(line, col int, msg string) *yamldoc.Error {
	return &yamldoc.Error{Pos: yamldoc.Pos{File: s.path, Line: line, Col: col}, Severity: yamldoc.SevError, Msg: msg}
}

// emitFunc takes one line's values (with a function giving the column each starts at, called
// only for an error: finding them costs as much as decoding the line) or its error at line:col.
type emitFunc func(line, col int, raw map[string]any, cols func() map[string]int, err error) error

// eachJSONL reads one JSON object per line; blank lines are skipped.
func (s *Inputs) eachJSONL(r io.Reader, keep bool, emit emitFunc) error {
	// one buffer for every line (the decoded values copy what they keep), and one function
	// finding the columns of the line being emitted
	var text []byte
	cols := func() map[string]int { return jsonValueColumns(string(text)) }
	// a line decodes into a map handed back (Release) or, when its values are only checked,
	// the map of the line before
	var scratch map[string]any
	if !keep || !s.decodesInPlace() {
		scratch = map[string]any{}
	}
	return s.readJSONL(r, func(line int, t []byte) error {
		text = t
		into := scratch
		if into == nil {
			into, _ = s.maps.Get().(map[string]any)
			if into == nil {
				into = map[string]any{}
			}
		}
		used, err := s.jsonLine(line, text, into, cols, emit)
		if scratch == nil && !used {
			s.maps.Put(into)
		}
		return err
	})
}

// readJSONL calls fn with every line of r, numbered from 1, in one buffer it reuses; a line
// longer than MaxInputLine, or a read error, ends it with that error at its line.
func (s *Inputs) readJSONL(r io.Reader, fn func(line int, text []byte) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var text []byte
	for line := 1; ; line++ {
		var err error
		text, err = readLine(br, text[:0])
		if errors.Is(err, io.EOF) && len(text) == 0 {
			return nil
		}
		if err != nil && !errors.Is(err, io.EOF) { // errLineTooLong among them
			return yamldoc.ErrorList{s.errorAt(line, 1, err.Error())}
		}
		if err := fn(line, text); err != nil {
			return err
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
	}
}

// checkChunk is lines of a JSON Lines file checked together, and what the check found.
type checkChunk struct {
	lines []int  // the line numbers
	ends  []int  // where each line ends in the text checked
	text  []byte // the lines, one after another (not a long line: checked where it was read)
	n     int    // the inputs (lines not blank)
	errs  []*yamldoc.Error
	done  chan struct{} // a token once checked
}

// checkLines is how many lines a chunk of a parallel check holds: enough that handing a chunk
// to a goroutine costs nothing beside checking it.
const checkLines = 512

// checkBytes bounds a chunk's text too. A line longer than that is no chunk's: the reader checks
// it where it read it (in its buffer, up to MaxInputLine), one at a time, not one per processor.
const checkBytes = 1 << 20

// checkJSONL is Check of a JSON Lines file on workers goroutines (decoding the lines is the work,
// and nothing else runs while a batch is checked); check is s.checkChunk (a test's wrapper of it).
// It returns the inputs, the errors of the lines in line order (the first maxInputErrors) and
// the error that ended the reading.
//
// workers+1 chunks go round: the reader fills one (free), hands it to a worker (work) and, in
// line order, to the collector (order), which waits until it is checked, takes its errors and
// frees it. So the reader is never more than workers+1 chunks ahead of the collector, and it
// stops once the collector has maxInputErrors errors (enough).
func (s *Inputs) checkJSONL(r io.Reader, workers int, check func(c *checkChunk, text []byte)) (int, yamldoc.ErrorList, error) {
	free := make(chan *checkChunk, workers+1)
	for range workers + 1 {
		free <- &checkChunk{done: make(chan struct{}, 1)}
	}
	work, order := make(chan *checkChunk), make(chan *checkChunk, workers+1)
	for range workers {
		go func() {
			for c := range work {
				check(c, c.text)
				c.done <- struct{}{}
			}
		}()
	}
	n := 0
	var errs yamldoc.ErrorList
	enough, collected := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(collected)
		for c := range order {
			<-c.done
			n += c.n
			if len(errs) < maxInputErrors {
				errs = append(errs, c.errs[:min(len(c.errs), maxInputErrors-len(errs))]...)
				if len(errs) == maxInputErrors {
					close(enough)
				}
			}
			c.lines, c.ends, c.text, c.n, c.errs = c.lines[:0], c.ends[:0], c.text[:0], 0, c.errs[:0]
			free <- c
		}
	}()
	cur := <-free
	// next hands cur on, to a worker or, checked already, to the collector alone, and takes
	// the next chunk
	next := func(checked bool) error {
		if checked {
			cur.done <- struct{}{}
		} else {
			work <- cur
		}
		order <- cur
		cur = nil
		select {
		case <-enough:
			return errTooManyErrors
		default:
		}
		select {
		case <-enough:
			return errTooManyErrors
		case cur = <-free:
			return nil
		}
	}
	err := s.readJSONL(r, func(line int, text []byte) error {
		if len(cur.lines) > 0 && len(cur.text)+len(text) > checkBytes {
			if err := next(false); err != nil {
				return err
			}
		}
		cur.lines = append(cur.lines, line)
		if len(text) > checkBytes {
			cur.ends = append(cur.ends, len(text))
			check(cur, text)
			return next(true)
		}
		cur.text = append(cur.text, text...)
		cur.ends = append(cur.ends, len(cur.text))
		if len(cur.lines) == checkLines || len(cur.text) == checkBytes {
			return next(false)
		}
		return nil
	})
	if cur != nil && len(cur.lines) > 0 { // the last lines, or those before a read error
		work <- cur
		order <- cur
	}
	close(work)
	close(order)
	<-collected
	if errors.Is(err, errTooManyErrors) {
		err = nil
	}
	return n, errs, err
}

// checkChunk checks the lines of c, in text, as Check checks a line.
func (s *Inputs) checkChunk(c *checkChunk, text []byte) {
	var t []byte
	cols := func() map[string]int { return jsonValueColumns(string(t)) }
	emit := s.emitter(false, func(_ int, _ map[string]any, err error) error {
		c.n++
		if err != nil {
			c.errs = append(c.errs, asError(err))
		}
		return nil
	})
	start := 0
	scratch := map[string]any{} // the values are only checked: every line decodes into one map
	for i, line := range c.lines {
		t = text[start:c.ends[i]]
		start = c.ends[i]
		s.jsonLine(line, t, scratch, cols, emit) // emit keeps the error and returns none
	}
}

// jsonLine emits one line of a JSON Lines file (nothing for a blank one); cols finds the columns
// of its values.
func (s *Inputs) jsonLine(line int, text []byte, into map[string]any, cols func() map[string]int, emit emitFunc) (used bool, err error) {
	t := bytes.TrimSpace(text)
	if len(t) == 0 {
		return false, nil
	}
	// decoded into an interface, not a map: the same values in the same map type, built
	// without reflection (jsondec: encoding/json's values and errors, faster); into a map of
	// an earlier line when there is one, with the flow's input names as they are
	var v any
	var derr error
	if into != nil {
		v, used, derr = jsondec.UnmarshalInto(t, into, s.names)
	} else {
		v, derr = jsondec.Unmarshal(t)
	}
	if m, ok := v.(map[string]any); ok && derr == nil {
		return used, emit(line, 1, m, cols, nil)
	}
	col, msg := jsonErrorAt(text, v, derr)
	return false, emit(line, col, nil, nil, errors.New("expected one JSON object per line: "+msg))
}

// jsonErrorAt gives the column of a JSON error in its line and a message without Go types:
// err is the decoding's error, or nil when v, the line's value, is no object.
func jsonErrorAt(line []byte, v any, err error) (int, string) {
	lead := len(line) - len(bytes.TrimLeft(line, " \t"))
	var se *json.SyntaxError
	switch {
	case err == nil:
		// the names encoding/json's UnmarshalTypeError gives a value that is no object
		switch v.(type) {
		case nil:
			return lead + 1, "got null"
		case []any:
			return lead + 1, "got an array"
		case string:
			return lead + 1, "got a string"
		case bool:
			return lead + 1, "got a bool"
		default:
			return lead + 1, "got a number"
		}
	case errors.As(err, &se):
		return lead + int(se.Offset), se.Error()
	}
	return lead + 1, err.Error()
}

var errLineTooLong = fmt.Errorf("line longer than %d MiB", MaxInputLine>>20)

// readLine reads one line without its newline into out (a buffer to reuse, empty), refusing one
// longer than MaxInputLine.
func readLine(br *bufio.Reader, out []byte) ([]byte, error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if len(out)+len(chunk) > MaxInputLine+1 {
			return nil, errLineTooLong
		}
		out = append(out, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		out = bytes.TrimSuffix(bytes.TrimSuffix(out, []byte("\n")), []byte("\r"))
		return out, err
	}
}

// eachCSV reads a header row of input names, then one instance per record.
func (s *Inputs) eachCSV(r io.Reader, emit emitFunc) error {
	lr := &lineLimitReader{r: r}
	cr := csv.NewReader(lr)
	fail := func(err error) error {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return yamldoc.ErrorList{s.errorAt(pe.Line, max(pe.Column, 1), pe.Err.Error())}
		}
		return yamldoc.ErrorList{s.errorAt(lr.line, 1, err.Error())}
	}
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return yamldoc.ErrorList{s.errorAt(1, 1, "expected a header row of input names")}
	}
	if err != nil {
		return fail(err)
	}
	names := make([]string, len(header))
	for i, h := range header {
		names[i] = strings.TrimSpace(h)
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fail(err)
		}
		line, _ := cr.FieldPos(0) // valid: Read returned a record
		m, cols := map[string]any{}, map[string]int{}
		for i, name := range names {
			if i < len(rec) && rec[i] != "" {
				m[name] = rec[i]
				_, cols[name] = cr.FieldPos(i)
			}
		}
		if err := emit(line, 1, m, func() map[string]int { return cols }, nil); err != nil {
			return err
		}
	}
}

// lineLimitReader fails a read that would make a line longer than MaxInputLine, so that a
// CSV reader never buffers more; it counts lines for that error's position.
type lineLimitReader struct {
	r    io.Reader
	run  int // bytes since the last newline
	line int // the line being read, from 1
}

func (l *lineLimitReader) Read(p []byte) (int, error) {
	if l.line == 0 {
		l.line = 1
	}
	n, err := l.r.Read(p)
	for i, b := range p[:n] {
		if b == '\n' {
			l.run = 0
			l.line++
			continue
		}
		l.run++
		if l.run > MaxInputLine {
			return i, errLineTooLong
		}
	}
	return n, err
}

// jsonValueColumns finds, in one JSON object, the column where each top-level value starts.
func jsonValueColumns(text string) map[string]int {
	cols := map[string]int{}
	dec := json.NewDecoder(strings.NewReader(text))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return cols
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return cols
		}
		name, _ := k.(string)
		off := int(dec.InputOffset())
		for off < len(text) && (text[off] == ' ' || text[off] == ':' || text[off] == '\t') {
			off++
		}
		cols[name] = len([]rune(text[:off])) + 1
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return cols
		}
	}
	return cols
}

// Path is the inputs file ("" for --input alone).
func (s *Inputs) Path() string { return s.path }

func asError(err error) *yamldoc.Error {
	if e, ok := err.(*yamldoc.Error); ok {
		return e
	}
	return &yamldoc.Error{Severity: yamldoc.SevError, Msg: err.Error()}
}
