// Package tester runs archflow test files (*.test.yaml): it discovers them, decodes them
// strictly with a position for every error, runs each case on a virtual clock with scripted HTTP,
// checks the case's expectations, and reports results, golden traces, coverage and JUnit XML.
package tester

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/cassette"
	"github.com/archflow/archflow/engine/scripted"
	"github.com/archflow/archflow/engine/yamldoc"
)

// Suffix names test files (.test.yml is taken too).
const Suffix = ".test.yaml"

// IsTestFile reports whether a file name is a test file's.
func IsTestFile(name string) bool {
	return strings.HasSuffix(name, Suffix) || strings.HasSuffix(name, ".test.yml")
}

// DefaultStart is where a case's virtual clock starts unless it says clock: {start: ...}.
var DefaultStart = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// File is a decoded test file whose flow compiled.
type File struct {
	Path     string
	FlowPath string
	Flow     *engine.Flow
	Env      map[string]string
	Cases    []*Case
}

// Case is one test case: inputs, scripted HTTP and expectations.
type Case struct {
	File   *File
	Name   string
	Pos    yamldoc.Pos
	Tags   []string
	Skip   string
	Inputs map[string]any
	Env    map[string]string
	Start  time.Time
	Script *scripted.Script
	// Cassette, when set, answers the case's requests instead of Script (SPEC §7).
	Cassette    *cassette.Cassette
	MatchBody   bool
	Passthrough bool
	Snapshot    bool
	Expect      []*Expectation
}

// Discover lists the test files under paths: directories are walked for *.test.yaml (and
// *.test.yml), skipping directories named testdata or starting with . or _ below the given ones
// (as go test does); a file given by name is taken whatever its name. The list is sorted and has
// no duplicates.
func Discover(paths []string) ([]string, yamldoc.ErrorList) {
	if len(paths) == 0 {
		paths = []string{"."}
	}
	var errs yamldoc.ErrorList
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		p = filepath.Clean(p)
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, root := range paths {
		info, err := os.Stat(root)
		if err != nil {
			msg := err.Error()
			if os.IsNotExist(err) {
				msg = "no such file or directory"
			}
			errs = append(errs, &yamldoc.Error{Pos: yamldoc.Pos{File: root}, Severity: yamldoc.SevError, Msg: msg})
			continue
		}
		if !info.IsDir() {
			add(root)
			continue
		}
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				errs = append(errs, &yamldoc.Error{Pos: yamldoc.Pos{File: p}, Severity: yamldoc.SevError, Msg: err.Error()})
				return nil
			}
			if d.IsDir() {
				name := d.Name()
				if p != root && (name == "testdata" || name == "vendor" || name == "node_modules" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
					return filepath.SkipDir
				}
				return nil
			}
			if IsTestFile(d.Name()) {
				add(p)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, &yamldoc.Error{Pos: yamldoc.Pos{File: root}, Severity: yamldoc.SevError, Msg: err.Error()})
		}
	}
	sort.Strings(out)
	return out, errs
}

// Loader reads test files and the flows they test, compiling each flow once.
type Loader struct {
	reg   *engine.Registry
	flows map[string]*flowEntry
}

type flowEntry struct {
	flow *engine.Flow
	errs yamldoc.ErrorList
}

// NewLoader returns a loader with an empty flow cache that compiles flows with reg.
func NewLoader(reg *engine.Registry) *Loader {
	return &Loader{reg: reg, flows: map[string]*flowEntry{}}
}

func (l *Loader) flow(path string) (*engine.Flow, yamldoc.ErrorList) {
	key := path
	if abs, err := filepath.Abs(path); err == nil {
		key = abs
	}
	if e := l.flows[key]; e != nil {
		return e.flow, e.errs
	}
	f, err := l.reg.LoadFile(path)
	e := &flowEntry{flow: f}
	if err != nil {
		if list, ok := yamldoc.AsList(err); ok {
			e.errs = list
		} else {
			e.errs = yamldoc.ErrorList{{Pos: yamldoc.Pos{File: path}, Severity: yamldoc.SevError, Msg: err.Error()}}
		}
		e.flow = nil
	}
	l.flows[key] = e
	return e.flow, e.errs
}

var fileKeys = []string{"flow", "description", "env", "cases"}
var caseKeys = []string{"name", "description", "tags", "skip", "inputs", "env", "clock", "http", "cassette", "match", "passthrough", "snapshot", "expect"}

// Load decodes a test file. It returns nil and every error of the file (and of its flow),
// sorted, when anything is wrong: a file that does not decode runs none of its cases.
func (l *Loader) Load(path string) (*File, yamldoc.ErrorList) {
	data, rerr := yamldoc.ReadUserFile(path)
	if rerr != nil {
		return nil, yamldoc.ErrorList{rerr}
	}
	doc, errs := yamldoc.DecodeYAML(path, data)
	if doc == nil {
		return nil, errs
	}
	d := &yamldoc.Decoder{File: path}
	if len(doc.Content) == 0 {
		d.Errs.Add(yamldoc.Pos{File: path, Line: 1, Col: 1}, "empty test file: it needs flow: and cases:")
		return nil, d.Errs
	}
	root := doc.Content[0]
	m := d.Mapping(root, fileKeys...)
	if m == nil {
		return nil, d.Errs.Sort()
	}
	f := &File{Path: path}
	if m["flow"] == nil {
		d.Errorf(root, "missing flow: (the flow file to test, relative to this file)")
	} else if p, ok := d.String(m["flow"]); ok {
		f.FlowPath = p
		if !filepath.IsAbs(p) {
			f.FlowPath = filepath.Join(filepath.Dir(path), p)
		}
		flow, ferrs := l.flow(f.FlowPath)
		if flow == nil {
			d.Errorf(m["flow"], "flow %s does not load (%d error(s), listed with their positions)", p, len(ferrs.Errors()))
			d.Errs = append(d.Errs, ferrs...)
		}
		f.Flow = flow
	}
	f.Env = decodeEnv(d, m["env"])
	if m["cases"] == nil {
		d.Errorf(root, "missing cases: (a list of test cases)")
	} else if items, ok := d.List(m["cases"]); ok {
		names := map[string]bool{}
		for _, it := range items {
			c := decodeCase(d, f, it)
			if c == nil {
				continue
			}
			if names[c.Name] {
				d.Errs.Add(c.Pos, "two cases are named %q; case names must be unique in a file", c.Name)
			}
			names[c.Name] = true
			f.Cases = append(f.Cases, c)
		}
	}
	if errs := d.Errs.Sort(); len(errs.Errors()) > 0 {
		return nil, errs
	}
	return f, nil
}

func decodeEnv(d *yamldoc.Decoder, n *yaml.Node) map[string]string {
	if n == nil {
		return nil
	}
	fields, _ := d.Fields(n)
	out := make(map[string]string, len(fields))
	for _, f := range fields {
		if f.Value.Kind == yaml.ScalarNode && f.Value.Tag == "!!null" {
			out[f.Key.Value] = ""
			continue
		}
		if s, ok := d.String(f.Value); ok {
			out[f.Key.Value] = s
		}
	}
	return out
}

func decodeCase(d *yamldoc.Decoder, f *File, n *yaml.Node) *Case {
	m := d.Mapping(n, caseKeys...)
	if m == nil {
		return nil
	}
	c := &Case{File: f, Pos: d.Pos(n), Start: DefaultStart}
	if x := m["name"]; x == nil {
		d.Errorf(n, "a case needs a name:")
	} else if s, ok := d.String(x); ok {
		if strings.TrimSpace(s) == "" {
			d.Errorf(x, "a case name must not be empty")
		}
		c.Name = s
	}
	if x := m["tags"]; x != nil {
		c.Tags, _ = d.Strings(x)
	}
	if x := m["skip"]; x != nil {
		c.Skip, _ = d.String(x)
	}
	c.Env = decodeEnv(d, m["env"])
	startGiven := false
	if x := m["clock"]; x != nil {
		if cm := d.Mapping(x, "start"); cm != nil && cm["start"] != nil {
			if t, ok := d.Time(cm["start"]); ok {
				c.Start, startGiven = t, true
			}
		}
	}
	if x := m["passthrough"]; x != nil {
		c.Passthrough, _ = d.Bool(x)
	}
	if x := m["snapshot"]; x != nil {
		c.Snapshot, _ = d.Bool(x)
	}
	if x := m["cassette"]; x != nil {
		if m["http"] != nil {
			d.Errorf(x, "a case takes cassette: or http:, not both (the cassette answers every request)")
		}
		c.Cassette = loadCassette(d, f, x)
		if c.Cassette != nil && !startGiven && !c.Cassette.Started.IsZero() {
			c.Start = c.Cassette.Started
		}
	}
	if x := m["match"]; x != nil {
		if m["cassette"] == nil {
			d.Errorf(x, "match: says how requests are compared with a cassette: and needs one")
		}
		c.MatchBody = decodeMatch(d, x)
	}
	if x := m["http"]; x != nil {
		c.Script = scripted.Parse(d, x)
	} else {
		c.Script = &scripted.Script{Pos: c.Pos}
	}
	flow := f.Flow
	if flow == nil {
		return c // names cannot be checked without the flow
	}
	d.Errs = append(d.Errs, c.Script.Check(flow)...)
	if c.Cassette != nil {
		d.Errs = append(d.Errs, CheckCassette(flow, c.Cassette)...)
	}
	raw := map[string]any{}
	if c.Cassette != nil { // the recorded inputs, each unless the case gives it
		for k, v := range c.Cassette.Inputs {
			raw[k] = v
		}
	}
	if x := m["inputs"]; x != nil {
		fields, _ := d.Fields(x)
		for _, fl := range fields {
			raw[fl.Key.Value] = d.Value(fl.Value)
		}
	}
	in, err := flow.Inputs(raw)
	if err != nil {
		at := m["inputs"]
		if at == nil {
			at = n
		}
		d.Errorf(at, "inputs: %v", err)
	}
	c.Inputs = in
	if x := m["expect"]; x != nil {
		c.Expect = decodeExpect(d, flow, x)
	}
	return c
}
