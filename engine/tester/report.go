package tester

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/archflow/archflow/engine"
)

// BelowMin lists the flows whose coverage is under min percent.
func (r *Report) BelowMin(min float64) []*Coverage {
	var out []*Coverage
	for _, c := range r.Coverage {
		if c.Total().Percent() < min {
			out = append(out, c)
		}
	}
	return out
}

func statusWord(s Status) string {
	switch s {
	case Pass:
		return "PASS"
	case Fail:
		return "FAIL"
	case Error:
		return "ERROR"
	case Skip:
		return "SKIP"
	}
	return strings.ToUpper(string(s))
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}

// WriteText writes the readable report: failed cases with their messages (every case when
// verbose), a line per file, coverage, and a summary. Invalid files go to errw as
// file:line:col: error: message.
func (r *Report) WriteText(w, errw io.Writer, verbose bool, coverageMin float64) {
	for _, f := range r.Files {
		if f.Invalid != nil {
			for _, e := range f.Invalid {
				fmt.Fprintln(errw, e.Error())
			}
			continue
		}
		failed := 0
		for _, cr := range f.Cases {
			if cr.Status == Fail || cr.Status == Error {
				failed++
			}
			if !verbose && cr.Status != Fail && cr.Status != Error {
				continue
			}
			line := fmt.Sprintf("--- %s: %s (%s:%d)", statusWord(cr.Status), cr.Case.Name, f.Path, cr.Case.Pos.Line)
			if cr.Status == Skip {
				line += " " + cr.Case.Skip
			}
			fmt.Fprintln(w, line)
			for _, fl := range cr.Failures {
				fmt.Fprintln(w, indent(fl.String(), "    "))
			}
		}
		word := "ok  "
		if failed > 0 {
			word = "FAIL"
		}
		fmt.Fprintf(w, "%s  %s  %d case(s)\n", word, f.Path, len(f.Cases))
	}
	for _, c := range r.Coverage {
		t := c.Total()
		fmt.Fprintf(w, "coverage: %s (%s): %.1f%% (nodes %s, edges %s, decision cases %s, data-action outcomes %s)\n",
			c.Flow, c.File, t.Percent(), c.Nodes, c.Edges, c.Cases, c.Outcomes)
		for _, m := range c.Missing {
			fmt.Fprintf(w, "    not covered: %s\n", m)
		}
	}
	for _, c := range r.BelowMin(coverageMin) {
		fmt.Fprintf(w, "coverage of %s is %.1f%%, below the minimum %.1f%%\n", c.Flow, c.Total().Percent(), coverageMin)
	}
	n := r.Counts()
	word := "PASS"
	if n.Failed+n.Errors+n.Invalid > 0 || len(r.BelowMin(coverageMin)) > 0 {
		word = "FAIL"
	}
	fmt.Fprintf(w, "%s: %d passed, %d failed, %d errors, %d skipped, %d invalid file(s); %s virtual in %.3fs\n",
		word, n.Passed, n.Failed, n.Errors, n.Skipped, n.Invalid, n.Virtual, r.Wall.Seconds())
}

type jsonFailure struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Col     int    `json:"col,omitempty"`
	Key     string `json:"key,omitempty"`
	Message string `json:"message"`
}

type jsonCase struct {
	Type     string         `json:"type"`
	File     string         `json:"file"`
	Line     int            `json:"line"`
	Case     string         `json:"case"`
	Status   Status         `json:"status"`
	Outcome  string         `json:"outcome,omitempty"`
	Failures []jsonFailure  `json:"failures,omitempty"`
	Result   *engine.Result `json:"result,omitempty"`
	Time     float64        `json:"time"`
	Virtual  float64        `json:"virtual_seconds"`
}

// WriteJSON writes JSON Lines: one {"type":"case"} per case, one {"type":"invalid"} per error of
// an invalid file, one {"type":"coverage"} per flow, and a {"type":"summary"} at the end.
func (r *Report) WriteJSON(w io.Writer, coverageMin float64) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, f := range r.Files {
		for _, e := range f.Invalid {
			if err := enc.Encode(map[string]any{"type": "invalid", "file": e.Pos.File, "line": e.Pos.Line, "col": e.Pos.Col, "message": e.Msg}); err != nil {
				return err
			}
		}
		for _, cr := range f.Cases {
			jc := jsonCase{Type: "case", File: f.Path, Line: cr.Case.Pos.Line, Case: cr.Case.Name, Status: cr.Status,
				Result: cr.Result, Time: cr.Wall.Seconds(), Virtual: cr.Virtual.Seconds()}
			if cr.Result != nil {
				jc.Outcome = cr.Result.Outcome
			}
			for _, fl := range cr.Failures {
				jc.Failures = append(jc.Failures, jsonFailure{File: fl.Pos.File, Line: fl.Pos.Line, Key: fl.Key, Message: fl.String()})
			}
			if err := enc.Encode(jc); err != nil {
				return err
			}
		}
	}
	for _, c := range r.Coverage {
		if err := enc.Encode(struct {
			Type string `json:"type"`
			*Coverage
			Percent float64 `json:"percent"`
		}{"coverage", c, c.Total().Percent()}); err != nil {
			return err
		}
	}
	n := r.Counts()
	return enc.Encode(struct {
		Type             string  `json:"type"`
		Passed           int     `json:"passed"`
		Failed           int     `json:"failed"`
		Errors           int     `json:"errors"`
		Skipped          int     `json:"skipped"`
		InvalidFiles     int     `json:"invalid_files"`
		CoverageBelowMin int     `json:"coverage_below_min"`
		VirtualSeconds   float64 `json:"virtual_seconds"`
		Time             float64 `json:"time"`
	}{"summary", n.Passed, n.Failed, n.Errors, n.Skipped, n.Invalid, len(r.BelowMin(coverageMin)), n.Virtual.Seconds(), r.Wall.Seconds()})
}

// escapeData and escapeProperty follow GitHub's workflow-command encoding.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// WriteGitHub writes GitHub Actions annotations (::error file=...,line=...::message) for every
// failure and invalid file, then the text summary.
func (r *Report) WriteGitHub(w io.Writer, coverageMin float64) {
	for _, f := range r.Files {
		for _, e := range f.Invalid {
			props := "file=" + escapeProperty(e.Pos.File)
			if e.Pos.Line > 0 {
				props += fmt.Sprintf(",line=%d,col=%d", e.Pos.Line, e.Pos.Col)
			}
			fmt.Fprintf(w, "::error %s,title=%s::%s\n", props, escapeProperty("invalid test file"), escapeData(e.Msg))
		}
		for _, cr := range f.Cases {
			for _, fl := range cr.Failures {
				file, line := fl.Pos.File, fl.Pos.Line
				if file == "" {
					file, line = f.Path, cr.Case.Pos.Line
				}
				msg := fl.Msg
				if fl.Key != "" {
					msg = fl.Key + ": " + msg
				}
				fmt.Fprintf(w, "::error file=%s,line=%d,title=%s::%s\n", escapeProperty(file), line,
					escapeProperty("archflow test: "+cr.Case.Name), escapeData(msg))
			}
		}
	}
	for _, c := range r.BelowMin(coverageMin) {
		fmt.Fprintf(w, "::error file=%s,title=%s::%s\n", escapeProperty(c.File), escapeProperty("coverage below minimum"),
			escapeData(fmt.Sprintf("coverage of %s is %.1f%%, below the minimum %.1f%%; not covered: %s", c.Flow, c.Total().Percent(), coverageMin, strings.Join(c.Missing, "; "))))
	}
	r.WriteText(w, io.Discard, false, coverageMin)
}

// ---- JUnit (the Apache Ant schema) ----

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Package    string          `xml:"package,attr"`
	ID         int             `xml:"id,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Hostname   string          `xml:"hostname,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  string          `xml:"system-out"`
	SystemErr  string          `xml:"system-err"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
	Failure   *junitMessage `xml:"failure,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr,omitempty"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

func seconds3(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// WriteJUnit writes one testsuite per test file and one testcase per case. The schema has no
// file or line attributes, so every failure message starts with the expectation's file:line.
func (r *Report) WriteJUnit(w io.Writer) error {
	host, err := os.Hostname()
	if err != nil || strings.TrimSpace(host) == "" {
		host = "localhost"
	}
	stamp := r.Started
	if stamp.IsZero() {
		stamp = time.Now()
	}
	out := junitSuites{}
	for i, f := range r.Files {
		s := junitSuite{Name: f.Path, Package: filepath.ToSlash(filepath.Dir(f.Path)), ID: i,
			Timestamp: stamp.UTC().Format("2006-01-02T15:04:05"), Hostname: host, Time: seconds3(f.Wall)}
		if f.Invalid != nil {
			s.Tests, s.Errors = 1, 1
			msgs := make([]string, len(f.Invalid))
			for j, e := range f.Invalid {
				msgs[j] = e.Error()
			}
			s.Cases = append(s.Cases, junitCase{Name: "load " + f.Path, Classname: classname(f.Path), Time: "0.000",
				Error: &junitMessage{Message: msgs[0], Type: "invalid", Text: strings.Join(msgs, "\n")}})
			s.SystemErr = strings.Join(msgs, "\n")
		} else {
			s.Properties = append(s.Properties, junitProperty{Name: "flow", Value: f.File.FlowPath})
			for _, cr := range f.Cases {
				jc := junitCase{Name: cr.Case.Name, Classname: classname(f.Path), Time: seconds3(cr.Wall)}
				msgs := make([]string, len(cr.Failures))
				for j, fl := range cr.Failures {
					msgs[j] = fl.String()
				}
				s.Tests++
				switch cr.Status {
				case Fail:
					s.Failures++
					jc.Failure = &junitMessage{Message: firstLine(msgs[0]), Type: "expectation", Text: strings.Join(msgs, "\n")}
				case Error:
					s.Errors++
					jc.Error = &junitMessage{Message: firstLine(msgs[0]), Type: "error", Text: strings.Join(msgs, "\n")}
				case Skip:
					s.Skipped++
					jc.Skipped = &junitMessage{Message: cr.Case.Skip}
				}
				s.Cases = append(s.Cases, jc)
			}
		}
		out.Suites = append(out.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err = io.WriteString(w, "\n")
	return err
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// classname is the test file without its suffix, dotted as JUnit readers group classes.
func classname(path string) string {
	p := strings.TrimSuffix(filepath.ToSlash(path), Suffix)
	p = strings.TrimSuffix(p, filepath.Ext(p))
	p = strings.TrimLeft(strings.ReplaceAll(p, "/", "."), ".")
	if p == "" {
		return "archflow"
	}
	return p
}
