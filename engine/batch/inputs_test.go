package batch

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// A line that is no JSON object is named as encoding/json names it when decoding into a map
// (the check decodes into an interface, which has no type error of its own to give).
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

// The check of a JSON Lines file runs on every processor, in chunks: it finds what a check line
// after line finds, the same errors in the same (line) order, the first maxInputErrors of them,
// and counts the same inputs.
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
		gotN, gotErr := in.Check()
		if gotN != wantN || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Errorf("%s: got %d, %v\nwant %d, %v", name, gotN, gotErr, wantN, wantErr)
		}
		if name != "clean" && wantErr == nil {
			t.Errorf("%s: no error found", name)
		}
	}
}

// Long lines make chunks of their own: a check holds a few of them at a time, and finds what
// the line by line check finds.
func TestParallelCheckOfLongLines(t *testing.T) {
	t.Parallel()
	flow := loadFlow(t, "flow: f\nvariables:\n  id: {type: string, input: true, required: true}\nstart: done\nnodes:\n  done: {end: success}\n")
	var b strings.Builder
	long := strings.Repeat("x", checkBytes/3)
	for i := range 20 {
		if i == 7 {
			b.WriteString(`{"id": 1}` + "\n")
			continue
		}
		b.WriteString(`{"id": "` + long + `"}` + "\n")
	}
	in := jsonlInputs(t, flow, b.String())
	wantN, wantErr := in.checkEach()
	gotN, gotErr := in.Check()
	if gotN != wantN || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || !strings.Contains(fmt.Sprint(gotErr), ":8:") {
		t.Errorf("got %d, %v\nwant %d, %v (an error on line 8)", gotN, gotErr, wantN, wantErr)
	}
}
