// Package yamldoc owns reading archflow's YAML files (flows, includes, test files, mocks):
// parsing with positions, the strict decoder that reports unknown and duplicate keys with the
// nearest allowed one, and diagnostics that read file:line:col: message, collected and sorted.
package yamldoc

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Pos is a place in a flow or test file, 1-based as editors count.
type Pos struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"col,omitempty"`
}

func (p Pos) String() string {
	switch {
	case p.File == "":
		return fmt.Sprintf("%d:%d", p.Line, p.Col)
	case p.Line == 0:
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// PosOf returns the position of a YAML node in file.
func PosOf(file string, n *yaml.Node) Pos {
	if n == nil {
		return Pos{File: file}
	}
	return Pos{File: file, Line: n.Line, Col: n.Column}
}

// Severity of a diagnostic.
type Severity string

const (
	SevError   Severity = "error"
	SevWarning Severity = "warning"
)

// Error is one diagnostic with a position. Rule and Hint are set by lint rules.
type Error struct {
	Pos      Pos      `json:"pos"`
	Severity Severity `json:"severity"`
	Rule     string   `json:"rule,omitempty"`
	Msg      string   `json:"message"`
	Hint     string   `json:"hint,omitempty"`
}

func (e *Error) Error() string {
	sev := e.Severity
	if sev == "" {
		sev = SevError
	}
	s := fmt.Sprintf("%s: %s: %s", e.Pos, sev, e.Msg)
	if e.Rule != "" {
		s += " [" + e.Rule + "]"
	}
	if e.Hint != "" {
		s += " (hint: " + e.Hint + ")"
	}
	return s
}

// ErrorList collects diagnostics so that every problem of a file is reported at once.
type ErrorList []*Error

func (l *ErrorList) Add(pos Pos, format string, args ...any) {
	*l = append(*l, &Error{Pos: pos, Severity: SevError, Msg: fmt.Sprintf(format, args...)})
}

func (l *ErrorList) Warn(pos Pos, rule, hint, format string, args ...any) {
	*l = append(*l, &Error{Pos: pos, Severity: SevWarning, Rule: rule, Hint: hint, Msg: fmt.Sprintf(format, args...)})
}

// Sort orders by file, line, column and message, and drops exact duplicates.
func (l ErrorList) Sort() ErrorList {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i], l[j]
		if a.Pos.File != b.Pos.File {
			return a.Pos.File < b.Pos.File
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		if a.Pos.Col != b.Pos.Col {
			return a.Pos.Col < b.Pos.Col
		}
		return a.Msg < b.Msg
	})
	out := l[:0]
	for i, e := range l {
		if i > 0 && *e == *l[i-1] {
			continue
		}
		out = append(out, e)
	}
	return out
}

// Errors returns only the errors (not warnings).
func (l ErrorList) Errors() ErrorList {
	var out ErrorList
	for _, e := range l {
		if e.Severity != SevWarning {
			out = append(out, e)
		}
	}
	return out
}

// Warnings returns only the warnings.
func (l ErrorList) Warnings() ErrorList {
	var out ErrorList
	for _, e := range l {
		if e.Severity == SevWarning {
			out = append(out, e)
		}
	}
	return out
}

func (l ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Err returns nil when the list holds no errors, else the sorted list.
func (l ErrorList) Err() error {
	if len(l.Errors()) == 0 {
		return nil
	}
	return l.Sort()
}

// AsList extracts an ErrorList from err, if it is one.
func AsList(err error) (ErrorList, bool) {
	var l ErrorList
	if errors.As(err, &l) {
		return l, true
	}
	return nil, false
}

// nearest returns the candidate closest to name by edit distance, or "" when none is close.
func nearest(name string, candidates []string) string {
	best, bestD := "", len(name)/2+2
	for _, c := range candidates {
		if d := levenshtein(strings.ToLower(name), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// DidYouMean is the ` (did you mean "x"?)` suffix for the candidate nearest to name, or "" when
// none is close. Every "unknown name" error of archflow uses it.
func DidYouMean(name string, candidates []string) string { return didYouMean(name, candidates) }

func didYouMean(name string, candidates []string) string {
	if s := nearest(name, candidates); s != "" && s != name {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return ""
}
