package schema

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/archflow/archflow/engine"
)

// flowBase is the flow schema without its components: the file's own sections and the shared
// definitions (names, templates, expressions, conditions, actions). GenerateFlow adds the node
// kinds, channel types and auth types of a registry from their declarations.
//
//go:embed flow.base.json
var flowBase []byte

// GenerateFlow returns the flow file schema for the components of reg, as indented JSON. The
// file flow.schema.json is this for archflow's built-ins (a test keeps it up to date).
func GenerateFlow(reg *engine.Registry) ([]byte, error) {
	var root map[string]any
	if err := json.Unmarshal(flowBase, &root); err != nil {
		return nil, fmt.Errorf("flow.base.json: %w", err)
	}
	defs := root["$defs"].(map[string]any)
	addDefs := func(from map[string]engine.Schema) {
		for k, v := range from {
			defs[k] = engine.ParsedSchema(v)
		}
	}

	var oneOf, allOf []any
	props := map[string]any{"description": map[string]any{"$ref": "#/$defs/nodeDescription"}}
	var kindNames []string
	for _, k := range reg.Kinds() {
		kindNames = append(kindNames, k.Name)
		def := NodeDef(k.Name)
		oneOf = append(oneOf, map[string]any{"required": []any{k.Name}})
		props[k.Name] = map[string]any{"description": "A " + k.Name + " node: " + k.Doc}
		allOf = append(allOf, map[string]any{"if": map[string]any{"required": []any{k.Name}}, "then": ref(def)})
		value := withDoc(k.Value.Schema, k.Value.Doc)
		defs[def] = object(&k.Spec, map[string]any{k.Name: value}, []string{k.Name},
			map[string]any{"description": map[string]any{"$ref": "#/$defs/nodeDescription"}})
		addDefs(k.Defs)
	}
	defs["node"] = map[string]any{
		"description": "A node: exactly one kind key (" + strings.Join(kindNames, ", ") + ") and its routes.",
		"type":        "object", "oneOf": oneOf, "properties": props, "allOf": allOf,
	}
	nodes := root["properties"].(map[string]any)["nodes"].(map[string]any)
	nodes["description"] = "The flow's nodes, by name. Each has exactly one kind key: " + strings.Join(kindNames, ", ") + "."

	typed := func(what, title string, specs []*engine.Spec) {
		var names, allOf []any
		for _, s := range specs {
			names = append(names, s.Name)
			def := typedDef(what, s.Name)
			allOf = append(allOf, map[string]any{
				"if":   map[string]any{"properties": map[string]any{"type": map[string]any{"const": s.Name}}, "required": []any{"type"}},
				"then": ref(def)})
			defs[def] = object(s, map[string]any{"type": map[string]any{"description": s.Name, "const": s.Name}}, []string{"type"}, nil)
			addDefs(s.Defs)
		}
		defs[what] = map[string]any{
			"description": title + ": " + joinOr(names) + ".",
			"type":        "object", "required": []any{"type"},
			"properties": map[string]any{"type": map[string]any{"description": "Which " + what + " type.", "enum": names}},
			"allOf":      allOf,
		}
	}
	var channels, auths []*engine.Spec
	for _, c := range reg.Channels() {
		channels = append(channels, &c.Spec)
	}
	for _, a := range reg.AuthTypes() {
		auths = append(auths, &a.Spec)
	}
	typed("channel", "A notify channel", channels)
	typed("auth", "An auth entry", auths)

	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(root); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// NodeDef names the schema definition of a node kind (data_action → dataActionNode).
func NodeDef(kind string) string { return camel(kind) + "Node" }

// typedDef names the definition of a channel or auth type (email → channelEmail).
func typedDef(what, name string) string {
	c := camel(name)
	return what + strings.ToUpper(c[:1]) + c[1:]
}

func camel(s string) string {
	parts := strings.Split(s, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

func ref(def string) map[string]any { return map[string]any{"$ref": "#/$defs/" + def} }

// withDoc is a field's schema with its doc as the description.
func withDoc(s engine.Schema, doc string) map[string]any {
	out := maps.Clone(map[string]any(engine.ParsedSchema(s)))
	if out == nil {
		out = map[string]any{}
	}
	if doc != "" {
		out["description"] = doc
	}
	return out
}

// object builds a closed object schema from a declaration: its fields, plus the given leading
// properties (the kind key or type) that are required, plus extra optional properties.
func object(s *engine.Spec, lead map[string]any, leadRequired []string, extra map[string]any) map[string]any {
	props := map[string]any{}
	maps.Copy(props, lead)
	maps.Copy(props, extra)
	required := []any{}
	for _, r := range leadRequired {
		required = append(required, r)
	}
	for _, f := range s.Fields {
		props[f.Name] = withDoc(f.Schema, f.Doc)
		if f.Required {
			required = append(required, f.Name)
		}
	}
	def := map[string]any{
		"description":          s.Doc,
		"type":                 "object",
		"additionalProperties": false,
		"required":             required,
		"properties":           props,
	}
	constraints := engine.ParsedSchema(s.Constraints)
	for _, k := range slices.Sorted(maps.Keys(constraints)) {
		def[k] = constraints[k]
	}
	return def
}

func joinOr(names []any) string {
	var ss []string
	for _, n := range names {
		ss = append(ss, fmt.Sprint(n))
	}
	if len(ss) <= 1 {
		return strings.Join(ss, "")
	}
	return strings.Join(ss[:len(ss)-1], ", ") + " or " + ss[len(ss)-1]
}
