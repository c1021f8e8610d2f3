// Package dataaction reads Genesys Cloud data action exports (the JSON that Architect's "Export"
// gives) and translates them into archflow actions: the Velocity of their request templates into
// archflow templates at import time, their translation maps into calls of jsonpath(), and their
// success templates into one expression per output field.
package dataaction

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/archflow/archflow/engine/yamldoc"
	"gopkg.in/yaml.v3"
)

// Problem is something in an export that cannot be translated, at file:line:col.
type Problem struct {
	File      string
	Line, Col int
	Msg       string
}

func (p *Problem) Error() string { return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Col, p.Msg) }

// Export is one data action export.
type Export struct {
	File            string
	Name            string
	IntegrationType string // purecloud-data-actions, custom-rest-actions, ...
	Method          string
	URLTemplate     string
	Headers         [][2]string
	RequestTemplate string
	TranslationMap  [][2]string // variable, JSONPath, in file order
	Defaults        map[string]string
	SuccessTemplate string
	Inputs          []string          // contract.input.inputSchema properties
	Required        []string          // contract.input.inputSchema required
	OutputTypes     map[string]string // contract.output.successSchema properties, flattened (a.b) → JSON type
	pos             map[string]*yaml.Node
}

// Genesys reports whether the action calls the Genesys Cloud Platform API (relative URLs).
func (x *Export) Genesys() bool {
	return x.IntegrationType == "purecloud-data-actions" || strings.HasPrefix(x.URLTemplate, "/")
}

func (x *Export) problem(field, format string, args ...any) *Problem {
	p := &Problem{File: x.File, Line: 1, Col: 1, Msg: fmt.Sprintf(format, args...)}
	if n := x.pos[field]; n != nil {
		p.Line, p.Col = n.Line, n.Column
	}
	return p
}

// LoadDir reads every *.json file of dir as a data action export (or dir itself, when it is a file).
func LoadDir(dir string) ([]*Export, []*Problem) {
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		// one export file given on its own
		data, err := os.ReadFile(dir)
		if err != nil {
			return nil, []*Problem{{File: dir, Line: 1, Col: 1, Msg: err.Error()}}
		}
		x, probs := Parse(dir, data)
		if x == nil {
			return nil, probs
		}
		return []*Export{x}, probs
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, []*Problem{{File: dir, Line: 1, Col: 1, Msg: "cannot read the data action directory: " + err.Error()}}
	}
	var out []*Export
	var probs []*Problem
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(strings.ToLower(e.Name()), ".json") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(path)
		if err != nil {
			probs = append(probs, &Problem{File: path, Line: 1, Col: 1, Msg: err.Error()})
			continue
		}
		x, ps := Parse(path, data)
		probs = append(probs, ps...)
		if x != nil {
			out = append(out, x)
		}
	}
	return out, probs
}

// Parse reads one export. JSON is read as YAML so that every field keeps its position.
func Parse(file string, data []byte) (*Export, []*Problem) {
	if !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v)
		line, col := 1, 1
		if se, ok := err.(*json.SyntaxError); ok {
			line, col = lineCol(data, int(se.Offset))
		}
		return nil, []*Problem{{File: file, Line: line, Col: col, Msg: fmt.Sprintf("not a data action export: invalid JSON: %v", err)}}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(bytes.ReplaceAll(data, []byte("\t"), []byte(" ")), &doc); err != nil || len(doc.Content) == 0 {
		return nil, []*Problem{{File: file, Line: 1, Col: 1, Msg: fmt.Sprintf("cannot read the export: %v", err)}}
	}
	root := doc.Content[0]
	x := &Export{File: file, Defaults: map[string]string{}, OutputTypes: map[string]string{}, pos: map[string]*yaml.Node{}}
	get := func(path string) *yaml.Node {
		n := root
		for _, k := range strings.Split(path, ".") {
			n = child(n, k)
			if n == nil {
				return nil
			}
		}
		x.pos[path] = n
		return n
	}
	str := func(path string) string {
		if n := get(path); n != nil && n.Kind == yaml.ScalarNode {
			return n.Value
		}
		return ""
	}
	x.Name = str("name")
	if x.Name == "" {
		return nil, []*Problem{{File: file, Line: root.Line, Col: root.Column, Msg: "not a data action export: no name"}}
	}
	x.IntegrationType = str("integrationType")
	x.Method = strings.ToUpper(str("config.request.requestType"))
	if x.Method == "" {
		x.Method = "GET"
	}
	x.URLTemplate = str("config.request.requestUrlTemplate")
	x.RequestTemplate = str("config.request.requestTemplate")
	x.SuccessTemplate = str("config.response.successTemplate")
	for _, p := range yamldoc.Entries(get("config.request.headers")) {
		x.Headers = append(x.Headers, [2]string{p[0].Value, p[1].Value})
	}
	for _, p := range yamldoc.Entries(get("config.response.translationMap")) {
		x.TranslationMap = append(x.TranslationMap, [2]string{p[0].Value, p[1].Value})
		x.pos["translationMap."+p[0].Value] = p[1]
	}
	for _, p := range yamldoc.Entries(get("config.response.translationMapDefaults")) {
		x.Defaults[p[0].Value] = p[1].Value
	}
	for _, p := range yamldoc.Entries(get("contract.input.inputSchema.properties")) {
		x.Inputs = append(x.Inputs, p[0].Value)
	}
	if r := get("contract.input.inputSchema.required"); r != nil && r.Kind == yaml.SequenceNode {
		for _, it := range r.Content {
			x.Required = append(x.Required, it.Value)
		}
	}
	flattenSchema(get("contract.output.successSchema"), "", x.OutputTypes)
	var probs []*Problem
	if x.URLTemplate == "" {
		probs = append(probs, x.problem("config.request", "data action %q has no config.request.requestUrlTemplate", x.Name))
	}
	return x, probs
}

func child(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// flattenSchema lists the properties of a JSON schema as dotted paths with their types.
func flattenSchema(n *yaml.Node, prefix string, out map[string]string) {
	for _, p := range yamldoc.Entries(child(n, "properties")) {
		name := prefix + p[0].Value
		typ := ""
		if t := child(p[1], "type"); t != nil && t.Kind == yaml.ScalarNode {
			typ = t.Value
		}
		out[name] = typ
		if typ == "object" {
			flattenSchema(p[1], name+".", out)
		}
	}
}

func lineCol(data []byte, off int) (int, int) {
	if off > len(data) {
		off = len(data)
	}
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := off - bytes.LastIndexByte(data[:off], '\n')
	return line, col
}

// Find looks an export up by the name a callData gives: exactly, then ignoring case, spaces and
// punctuation (Archy substitutions often spell names differently from the export).
func Find(exports []*Export, name string) *Export {
	for _, x := range exports {
		if x.Name == name {
			return x
		}
	}
	key := normalize(name)
	for _, x := range exports {
		if normalize(x.Name) == key || normalize(strings.TrimSuffix(strings.TrimSuffix(filepath.Base(x.File), ".json"), ".custom")) == key {
			return x
		}
	}
	return nil
}

func normalize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
