package schema

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/archflow/archflow/engine"
)

// Reference returns the reference pages of reg's components, generated from the same
// declarations as the schema: file name (node-kinds.md, channels.md, auth.md) to Markdown.
// docs/reference holds them for archflow's built-ins (a test keeps them up to date).
func Reference(reg *engine.Registry) map[string]string {
	pages := map[string]string{}

	var b strings.Builder
	b.WriteString(generatedNote)
	b.WriteString("# Node kinds\n\nEach node of a flow has exactly one kind key. Its other keys are its routes and options.\n\n")
	for _, k := range reg.Kinds() {
		fmt.Fprintf(&b, "- [`%s`](#%s): %s\n", k.Name, anchor(k.Name), firstSentence(k.Doc))
	}
	for _, k := range reg.Kinds() {
		fmt.Fprintf(&b, "\n## %s\n\n`%s` %s\n\n", k.Name, k.Name, k.Doc)
		fmt.Fprintf(&b, "`%s:` %s%s\n", k.Name, k.Value.Doc, valueNote(k.Value.Schema))
		if len(k.Fields) > 0 {
			b.WriteString("\n")
			fieldTable(&b, k.Fields)
		}
		example(&b, k.Example)
		defs(&b, k.Defs)
	}
	pages["node-kinds.md"] = b.String()

	typed := func(file, title, intro, what string, specs []*engine.Spec) {
		var b strings.Builder
		b.WriteString(generatedNote)
		fmt.Fprintf(&b, "# %s\n\n%s\n\n", title, intro)
		for _, s := range specs {
			fmt.Fprintf(&b, "- [`%s`](#%s): %s\n", s.Name, anchor(s.Name), firstSentence(s.Doc))
		}
		for _, s := range specs {
			fmt.Fprintf(&b, "\n## %s\n\n%s\n\n`type: %s`", s.Name, s.Doc, s.Name)
			if len(s.Fields) == 0 {
				fmt.Fprintf(&b, " takes no other settings.\n")
			} else {
				fmt.Fprintf(&b, ", and:\n\n")
				fieldTable(&b, s.Fields)
			}
			if c := s.Constraints; len(c) > 0 {
				fmt.Fprintf(&b, "\nAlso: %s\n", constraintText(c))
			}
			example(&b, s.Example)
			defs(&b, s.Defs)
		}
		pages[file] = b.String()
	}
	var channels, auths []*engine.Spec
	for _, c := range reg.Channels() {
		channels = append(channels, &c.Spec)
	}
	for _, a := range reg.AuthTypes() {
		auths = append(auths, &a.Spec)
	}
	typed("channels.md", "Notify channels", "A flow's `channels:` section names where `notify` nodes deliver. Settings are templates unless said otherwise; a failed delivery takes the node's `on_failure`.", "channel", channels)
	typed("auth.md", "Auth types", "A flow's `auth:` section holds credentials by name; an action's (or a webhook's) `auth:` names one. Secrets come from `secret()` (the environment or `--env-file`), never from the flow file.", "auth", auths)
	return pages
}

const generatedNote = "<!-- Generated from the component declarations (engine.Kind, ChannelType, AuthType) by `go test ./schema -run TestReferenceUpToDate -update`. Do not edit. -->\n\n"

func fieldTable(b *strings.Builder, fields []engine.Field) {
	b.WriteString("| key | required | value | meaning |\n|---|---|---|---|\n")
	for _, f := range fields {
		req := ""
		if f.Required {
			req = "yes"
		}
		fmt.Fprintf(b, "| `%s` | %s | %s | %s |\n", f.Name, req, schemaText(f.Schema), cell(f.Doc))
	}
}

func example(b *strings.Builder, ex string) {
	if ex != "" {
		fmt.Fprintf(b, "\n```yaml\n%s\n```\n", strings.TrimRight(ex, "\n"))
	}
}

func defs(b *strings.Builder, d map[string]engine.Schema) {
	names := make([]string, 0, len(d))
	for n := range d {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := engine.ParsedSchema(d[n])
		desc, _ := s["description"].(string)
		fmt.Fprintf(b, "\n### `%s`\n\n%s\n", n, desc)
		if props, ok := s["properties"].(map[string]any); ok {
			b.WriteString("\n| key | value | meaning |\n|---|---|---|\n")
			keys := make([]string, 0, len(props))
			for k := range props {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				p, _ := props[k].(map[string]any)
				pd, _ := p["description"].(string)
				fmt.Fprintf(b, "| `%s` | %s | %s |\n", k, schemaText(p), cell(pd))
			}
		}
	}
}

// schemaText says in a few words what a schema accepts.
func schemaText(s map[string]any) string {
	s = engine.ParsedSchema(s)
	if r, ok := s["$ref"].(string); ok {
		return strings.TrimPrefix(r, "#/$defs/")
	}
	if e, ok := s["enum"].([]any); ok {
		var parts []string
		for _, v := range e {
			parts = append(parts, fmt.Sprintf("`%v`", v))
		}
		return strings.Join(parts, ", ")
	}
	if c, ok := s["const"]; ok {
		return fmt.Sprintf("`%v`", c)
	}
	for _, alt := range []string{"anyOf", "oneOf"} {
		if xs, ok := s[alt].([]any); ok {
			var parts []string
			for _, x := range xs {
				if m, ok := x.(map[string]any); ok {
					parts = append(parts, schemaText(m))
				}
			}
			return strings.Join(parts, " or ")
		}
	}
	switch t := s["type"].(type) {
	case string:
		if t == "array" {
			if it, ok := s["items"].(map[string]any); ok {
				return "list of " + schemaText(it)
			}
		}
		return t
	case []any:
		var parts []string
		for _, x := range t {
			parts = append(parts, fmt.Sprint(x))
		}
		return strings.Join(parts, " or ")
	}
	return "any"
}

func valueNote(s engine.Schema) string {
	t := schemaText(s)
	if t == "" || t == "any" {
		return ""
	}
	return " (" + t + ")"
}

func constraintText(c engine.Schema) string {
	b, _ := json.Marshal(engine.ParsedSchema(c))
	return "`" + string(b) + "` (JSON Schema)"
}

func cell(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ") }

func anchor(s string) string { return strings.ToLower(s) }

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}
