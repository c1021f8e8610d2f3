package batch

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
)

// A line that is no JSON object is named as encoding/json names it when decoding into a map
// (the check decodes into an interface, which has no type error of its own to give), with "an"
// before "array".
func TestJSONLineThatIsNoObject(t *testing.T) {
	t.Parallel()
	flow := loadFlow(t, "flow: f\nvariables:\n  id: {type: string, input: true}\nstart: done\nnodes:\n  done: {end: success}\n")
	for _, line := range []string{`5`, `-1.5e3`, `"s"`, `true`, `false`, `[1, 2]`, `null`, `  [1]`} {
		var m map[string]any
		var want string
		var te *json.UnmarshalTypeError
		switch err := json.Unmarshal([]byte(line), &m); {
		case errors.As(err, &te):
			want = "got a " + te.Value
			if te.Value == "array" {
				want = "got an array"
			}
		case err == nil && m == nil:
			want = "got null"
		default:
			t.Fatalf("%s: %v", line, err)
		}
		_, err := jsonlInputs(t, flow, `{"id": "a"}`+"\n"+line+"\n").Check()
		col := len(line) - len(strings.TrimLeft(line, " ")) + 1
		if err == nil || !strings.Contains(err.Error(), ":2:"+strconv.Itoa(col)+": error: expected one JSON object per line: "+want) {
			t.Errorf("%s: got %v, want line 2 col %d %q", line, err, col, want)
		}
	}
}

// Lines of every length are read whole from one reused buffer: a long line followed by a short
// one leaves nothing of the first in the second.
func TestJSONLinesReuseNoBytes(t *testing.T) {
	t.Parallel()
	flow := loadFlow(t, "flow: f\nvariables:\n  id: {type: string, input: true}\nstart: done\nnodes:\n  done: {end: success}\n")
	long := strings.Repeat("x", 100<<10) // longer than the reader's buffer
	in := jsonlInputs(t, flow, `{"id": "`+long+`"}`+"\r\n"+`{"id": "b"}`+"\n\n"+`{"id": "c"}`)
	var got []string
	var lines []int
	if err := in.Each(func(line int, m map[string]any, err error) error {
		if err != nil {
			return err
		}
		got = append(got, m["id"].(string))
		lines = append(lines, line)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0] != long || got[1] != "b" || got[2] != "c" || lines[0] != 1 || lines[1] != 2 || lines[2] != 4 {
		t.Errorf("got %d values (lines %v), want the long one, b and c on lines 1, 2, 4", len(got), lines)
	}
}

// The check of a JSON Lines file runs on any number of goroutines, in chunks: it finds what a
// check line after line finds, the same errors in the same (line) order, the first
// maxInputErrors of them, and counts the same inputs.
func TestParallelCheckIsTheLineByLineCheck(t *testing.T) {
	t.Parallel()
	flow := loadFlow(t, "flow: f\nvariables:\n  id: {type: string, input: true, required: true}\n  n: {type: integer, input: true}\nstart: done\nnodes:\n  done: {end: success}\n")
	lines := func(bad func(i int) bool) string {
		var b strings.Builder
		for i := range 5 * checkLines {
			switch {
			case i%97 == 13:
				b.WriteString("\n") // blank lines are no inputs
			case bad(i) && i%3 == 0:
				b.WriteString(`{"id": "x", "n": "many"}` + "\n")
			case bad(i) && i%3 == 1:
				b.WriteString(`[1]` + "\n")
			case bad(i):
				b.WriteString(`{"n": 1}` + "\n")
			default:
				b.WriteString(`{"id": "a-` + strconv.Itoa(i) + `", "n": 1}` + "\n")
			}
		}
		return b.String()
	}
	for name, bad := range map[string]func(int) bool{
		"clean":          func(int) bool { return false },
		"a few":          func(i int) bool { return i == 3 || i == checkLines+1 || i == 4*checkLines-2 },
		"more than fit":  func(i int) bool { return i%7 == 0 },
		"late and many":  func(i int) bool { return i > 3*checkLines && i%2 == 0 },
		"every last one": func(i int) bool { return i == 5*checkLines-1 },
	} {
		in := jsonlInputs(t, flow, lines(bad))
		wantN, wantErr := in.checkEach()
		if name != "clean" && wantErr == nil {
			t.Errorf("%s: no error found", name)
		}
		sameCheck(t, name, in, wantN, wantErr)
	}
}

// sameCheck fails unless checkJSONL on 1 and 3 goroutines, and Check, find wantN and wantErr.
func sameCheck(t *testing.T, name string, in *Inputs, wantN int, wantErr error) {
	t.Helper()
	for _, workers := range []int{1, 3, 0} {
		var gotN int
		var gotErr error
		if workers == 0 {
			gotN, gotErr = in.Check()
		} else {
			gotN, gotErr = parallelCheck(t, in, workers)
		}
		if gotN != wantN || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Errorf("%s, %d workers (0: Check): got %d, %v\nwant %d, %v", name, workers, gotN, gotErr, wantN, wantErr)
		}
	}
}

// Lines up to checkBytes long fill fewer lines to a chunk, longer ones are checked one by one:
// the check finds what the line by line check finds.
func TestParallelCheckOfLongLines(t *testing.T) {
	t.Parallel()
	flow := loadFlow(t, "flow: f\nvariables:\n  id: {type: string, input: true, required: true}\nstart: done\nnodes:\n  done: {end: success}\n")
	var b strings.Builder
	for i := range 40 {
		long := strings.Repeat("x", []int{checkBytes / 3, checkBytes + 1, 100}[i%3])
		switch i {
		case 7, 8, 33:
			b.WriteString(`{"id": ["` + long + `"]}` + "\n")
		default:
			b.WriteString(`{"id": "` + long + `"}` + "\n")
		}
	}
	in := jsonlInputs(t, flow, b.String())
	wantN, wantErr := in.checkEach()
	for _, l := range []string{":8:8:", ":9:8:", ":34:8:"} {
		if !strings.Contains(fmt.Sprint(wantErr), l) {
			t.Errorf("line by line: %v, want an error at %s", wantErr, l)
		}
	}
	sameCheck(t, "long lines", in, wantN, wantErr)
}

// A check finds the same errors line by line and on any number of goroutines: those of the
// lines in line order, the first maxInputErrors of them, then the error that ended the reading
// (a line too long) when it came before that many; after maxInputErrors, nothing more is read.
func TestCheckErrorsBeforeALineTooLong(t *testing.T) {
	t.Parallel()
	flow := loadFlow(t, "flow: f\nvariables:\n  id: {type: string, input: true}\nstart: done\nnodes:\n  done: {end: success}\n")
	for _, c := range []struct{ first, bad int }{{1, 60}, {1, 30}, {571, 30}} { // lines first to first+bad-1 bad
		name := fmt.Sprintf("%d bad lines from line %d", c.bad, c.first)
		in := jsonlInputs(t, flow, strings.Repeat(`{"id": "a"}`+"\n", c.first-1)+strings.Repeat(`{"id": 1}`+"\n", c.bad)+
			strings.Repeat(`{"id": "a"}`+"\n", 601-c.first-c.bad)+`{"id": "`+strings.Repeat("x", MaxInputLine)+`"}`+"\n")
		var want []string
		for i := range min(c.bad, maxInputErrors) {
			want = append(want, fmt.Sprintf("in.jsonl:%d:8: error: ", c.first+i))
		}
		if c.bad < maxInputErrors {
			want = append(want, "in.jsonl:601:1: error: line longer than 16 MiB")
		}
		_, err := in.Check()
		var got []string
		if err != nil {
			got = strings.Split(err.Error(), "\n")
		}
		ok := len(got) == len(want)
		for i := 0; ok && i < len(want); i++ {
			ok = strings.Contains(got[i], want[i])
		}
		if !ok {
			t.Errorf("%s: got %d errors:\n%s\nwant %d:\n%s", name, len(got), strings.Join(got, "\n"), len(want), strings.Join(want, "\n"))
		}
		wantN, wantErr := in.checkEach()
		if fmt.Sprint(wantErr) != fmt.Sprint(err) {
			t.Errorf("%s: line by line %v", name, wantErr)
		}
		sameCheck(t, name, in, wantN, wantErr)
	}
}

// countingReader counts the bytes read from r.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// The reader of a parallel check is at most workers+1 chunks ahead of the chunk whose errors
// come next: while the first chunk is being checked, the others checked, nothing more is read.
func TestParallelCheckReadsAFewChunksAhead(t *testing.T) {
	t.Parallel()
	flow := loadFlow(t, "flow: f\nvariables:\n  id: {type: string, input: true}\nstart: done\nnodes:\n  done: {end: success}\n")
	const workers, chunks = 3, 100
	line := `{"id": "abcdefgh"}` + "\n"
	synctest.Test(t, func(t *testing.T) {
		in, err := NewInputs(flow, nil, "in.jsonl", false)
		if err != nil {
			t.Fatal(err)
		}
		r := &countingReader{r: strings.NewReader(strings.Repeat(line, chunks*checkLines))}
		release := make(chan struct{})
		check := func(c *checkChunk, text []byte) {
			if c.lines[0] == 1 {
				<-release
			}
			in.checkChunk(c, text)
		}
		var n int
		done := make(chan struct{})
		go func() {
			defer close(done)
			n, _, _ = in.checkJSONL(r, workers, check)
		}()
		synctest.Wait() // every goroutine blocked: the first chunk's worker on release, the reader on a chunk
		// what workers+1 chunks hold, and what the reader's buffer read ahead
		if read, most := r.n.Load(), int64((workers+1)*checkLines*len(line)+64<<10); read > most {
			t.Errorf("read %d bytes while the first chunk was being checked, want at most %d", read, most)
		}
		close(release)
		<-done
		if n != chunks*checkLines {
			t.Errorf("%d inputs, want %d", n, chunks*checkLines)
		}
	})
}
