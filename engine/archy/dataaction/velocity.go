package dataaction

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/theory/jsonpath"
)

// The Velocity that real exports use: references ${a.b}, $a.b, $!{a.b}, $!a.b, calls with
// arguments ($esc.jsonString(...), $successTemplateUtils.firstFromArray("...", "...")).
// Directives (#if, #foreach, #set) are not translated.

// vpart is literal text or a reference.
type vpart struct {
	lit  string
	ref  string    // dotted name: input.x, esc.quote, rawResult ...
	args [][]vpart // call arguments: each a template (a quoted string) or one reference
	call bool
}

// parseVelocity splits a template into literal text and references.
func parseVelocity(s string) ([]vpart, error) {
	var out []vpart
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			out = append(out, vpart{lit: lit.String()})
			lit.Reset()
		}
	}
	i := 0
	for i < len(s) {
		c := s[i]
		if c == '#' && i+1 < len(s) && (strings.HasPrefix(s[i+1:], "if") || strings.HasPrefix(s[i+1:], "foreach") ||
			strings.HasPrefix(s[i+1:], "set") || strings.HasPrefix(s[i+1:], "{") || strings.HasPrefix(s[i+1:], "macro")) {
			end := strings.IndexAny(s[i+1:], "( \n")
			word := s[i+1:]
			if end >= 0 {
				word = s[i+1 : i+1+end]
			}
			return nil, fmt.Errorf("Velocity directive #%s is not supported (only references like ${input.x} and $esc.* are)", word)
		}
		if c != '$' {
			lit.WriteByte(c)
			i++
			continue
		}
		p, n, err := parseRef(s[i:])
		if err != nil {
			return nil, err
		}
		if n == 0 { // a lone $
			lit.WriteByte(c)
			i++
			continue
		}
		flush()
		out = append(out, p)
		i += n
	}
	flush()
	return out, nil
}

// parseRef reads one reference at the start of s; n is how much it used (0: not a reference).
func parseRef(s string) (vpart, int, error) {
	i := 1
	if i < len(s) && s[i] == '!' {
		i++
	}
	braced := i < len(s) && s[i] == '{'
	if braced {
		i++
	}
	start := i
	if i >= len(s) || !(s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z') {
		return vpart{}, 0, nil // Velocity names start with a letter: "$5" is text
	}
	for i < len(s) && (isNameByte(s[i]) || s[i] == '.' && i+1 < len(s) && isNameByte(s[i+1])) {
		i++
	}
	if i == start {
		return vpart{}, 0, nil
	}
	p := vpart{ref: s[start:i]}
	if i < len(s) && s[i] == '(' {
		p.call = true
		i++
		for {
			for i < len(s) && s[i] == ' ' {
				i++
			}
			if i < len(s) && s[i] == ')' {
				i++
				break
			}
			if i >= len(s) {
				return vpart{}, 0, fmt.Errorf("unclosed call of $%s", p.ref)
			}
			switch s[i] {
			case '"', '\'':
				q := s[i]
				j := i + 1
				for j < len(s) && s[j] != q {
					j++
				}
				if j >= len(s) {
					return vpart{}, 0, fmt.Errorf("unterminated string in the arguments of $%s", p.ref)
				}
				arg, err := parseVelocity(s[i+1 : j])
				if err != nil {
					return vpart{}, 0, err
				}
				p.args = append(p.args, arg)
				i = j + 1
			case '$':
				a, n, err := parseRef(s[i:])
				if err != nil {
					return vpart{}, 0, err
				}
				if n == 0 {
					return vpart{}, 0, fmt.Errorf("unreadable argument of $%s", p.ref)
				}
				p.args = append(p.args, []vpart{a})
				i += n
			default:
				j := i
				for j < len(s) && s[j] != ',' && s[j] != ')' {
					j++
				}
				p.args = append(p.args, []vpart{{lit: strings.TrimSpace(s[i:j])}})
				i = j
			}
			for i < len(s) && s[i] == ' ' {
				i++
			}
			if i < len(s) && s[i] == ',' {
				i++
			}
		}
	}
	if braced {
		if i >= len(s) || s[i] != '}' {
			return vpart{}, 0, fmt.Errorf("unclosed ${ in %q", s[:min(len(s), 40)])
		}
		i++
	}
	return p, i, nil
}

func isNameByte(c byte) bool {
	return c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// Input is one input of a call: its name and the expr source of its value.
type Input struct {
	Name string
	Expr string
}

// Request is an export's request translated for one call.
type Request struct {
	Method     string
	URL        string // archflow template
	Query      [][2]string
	Headers    [][2]string
	BodyText   string // archflow template, sent as is
	HasBody    bool
	BodyFields []Input // ${input.rawRequest}: the inputs as a JSON object
	Warnings   []string
}

// GenesysBase is the base URL of Platform API requests.
const GenesysBase = "{{ env('GENESYS_API') }}"

// Request translates the request of the export for a call with the given inputs.
func (x *Export) Request(inputs []Input) (*Request, []*Problem) {
	r := &Request{Method: x.Method}
	var probs []*Problem
	tr := &requestTranslator{inputs: inputs}
	url := x.URLTemplate
	query := ""
	if q := strings.IndexByte(url, '?'); q >= 0 {
		url, query = url[:q], url[q+1:]
	}
	u, err := tr.template(url)
	if err != nil {
		probs = append(probs, x.problem("config.request.requestUrlTemplate", "requestUrlTemplate: %v", err))
	}
	if x.Genesys() && strings.HasPrefix(x.URLTemplate, "/") {
		u = GenesysBase + u
	}
	r.URL = u
	if query != "" {
		tr.inQuery = true
		for _, kv := range strings.Split(query, "&") {
			k, v, _ := strings.Cut(kv, "=")
			t, err := tr.template(v)
			if err != nil {
				probs = append(probs, x.problem("config.request.requestUrlTemplate", "requestUrlTemplate: %v", err))
				continue
			}
			r.Query = append(r.Query, [2]string{k, t})
		}
		tr.inQuery = false
	}
	for _, h := range x.Headers {
		t, err := tr.template(h[1])
		if err != nil {
			probs = append(probs, x.problem("config.request.headers", "header %s: %v", h[0], err))
			continue
		}
		r.Headers = append(r.Headers, [2]string{h[0], t})
	}
	body := strings.TrimSpace(x.RequestTemplate)
	switch body {
	case "${input.rawRequest}", "$input.rawRequest", "$!{input.rawRequest}", "":
		if x.Method != "GET" && x.Method != "DELETE" && x.Method != "HEAD" && body != "" {
			for _, in := range inputs {
				r.BodyFields = append(r.BodyFields, Input{Name: in.Name, Expr: "{{ " + in.Expr + " }}"})
			}
			r.HasBody = true
		}
	default:
		t, err := tr.template(x.RequestTemplate)
		if err != nil {
			probs = append(probs, x.problem("config.request.requestTemplate", "requestTemplate: %v", err))
		}
		if x.Method != "GET" && x.Method != "HEAD" {
			r.BodyText, r.HasBody = t, true
			has := false
			for _, h := range r.Headers {
				has = has || strings.EqualFold(h[0], "Content-Type")
			}
			if !has {
				r.Headers = append(r.Headers, [2]string{"Content-Type", "application/json"})
			}
		}
	}
	r.Warnings = tr.warnings
	return r, probs
}

type requestTranslator struct {
	inputs   []Input
	inQuery  bool // archflow encodes query values itself
	warnings []string
}

func (t *requestTranslator) input(name string) string {
	for _, in := range t.inputs {
		if in.Name == name {
			return in.Expr
		}
	}
	return "nil" // an input the call does not give renders empty, as $!{} does
}

// template turns Velocity text into an archflow template: references become {{ expr }}.
func (t *requestTranslator) template(s string) (string, error) {
	parts, err := parseVelocity(s)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, p := range parts {
		if p.ref == "" {
			b.WriteString(escapeTemplate(p.lit))
			continue
		}
		if p.ref == "esc.quote" {
			b.WriteByte('"')
			continue
		}
		e, err := t.expr(p)
		if err != nil {
			return "", err
		}
		b.WriteString("{{ " + e + " }}")
	}
	return b.String(), nil
}

// expr is the expr source of a reference in a request.
func (t *requestTranslator) expr(p vpart) (string, error) {
	switch {
	case p.ref == "input.rawRequest":
		var fields []string
		for _, in := range t.inputs {
			fields = append(fields, strconv.Quote(in.Name)+": "+in.Expr)
		}
		return "toJSON({ " + strings.Join(fields, ", ") + " })", nil
	case strings.HasPrefix(p.ref, "input.") && !p.call:
		return t.input(strings.TrimPrefix(p.ref, "input.")), nil
	case p.ref == "esc.jsonString" && len(p.args) == 1:
		a, err := t.argExpr(p.args[0])
		if err != nil {
			return "", err
		}
		return `trimSuffix(trimPrefix(toJSON(ToString(` + a + `)), "\""), "\"")`, nil
	case p.ref == "esc.url" && len(p.args) == 1:
		a, err := t.argExpr(p.args[0])
		if err != nil {
			return "", err
		}
		if !t.inQuery {
			t.warnings = append(t.warnings, "$esc.url outside the query string is inserted as is: archflow URL-encodes query values only")
		}
		return a, nil
	case p.ref == "esc.quote":
		return `"\""`, nil
	}
	return "", fmt.Errorf("Velocity reference $%s is not supported in a request", p.ref)
}

// argExpr is the expr source of a call argument: one reference, or a quoted template.
func (t *requestTranslator) argExpr(arg []vpart) (string, error) {
	if len(arg) == 1 && arg[0].ref != "" {
		return t.expr(arg[0])
	}
	var parts []string
	for _, p := range arg {
		if p.ref == "" {
			parts = append(parts, quote(p.lit))
			continue
		}
		e, err := t.expr(p)
		if err != nil {
			return "", err
		}
		parts = append(parts, "ToString("+e+")")
	}
	if len(parts) == 0 {
		return `""`, nil
	}
	return strings.Join(parts, " + "), nil
}

// escapeTemplate keeps literal text literal in an archflow template.
func escapeTemplate(s string) string { return strings.ReplaceAll(s, "{{", `{{ "{{" }}`) }

// quote writes s as an expr string literal, as the engine's compiler does (engine.QuoteExpr).
func quote(s string) string { return strconv.Quote(s) }

// ---- responses ----

const marker = "@@archflow:"

// Outputs translates the response side: one expr over body (and error) per output field of the
// success template, keyed by its dotted path. A key that maps a whole object also serves the
// fields below it (see Output).
func (x *Export) Outputs() (map[string]string, []*Problem) {
	vars := map[string]string{}
	var probs []*Problem
	for _, tm := range x.TranslationMap {
		e, err := translationExpr(tm[1], x.Defaults[tm[0]], hasDefault(x.Defaults, tm[0]))
		if err != nil {
			probs = append(probs, x.problem("translationMap."+tm[0], "translationMap %s: %v", tm[0], err))
			continue
		}
		vars[tm[0]] = e
	}
	tpl := strings.TrimSpace(x.SuccessTemplate)
	if tpl == "" {
		tpl = "${rawResult}"
	}
	parts, err := parseVelocity(tpl)
	if err != nil {
		return nil, append(probs, x.problem("config.response.successTemplate", "successTemplate: %v", err))
	}
	// Replace each reference by a marker, read the result as JSON, and turn markers back into
	// expressions: references outside JSON strings insert JSON values, inside them text.
	var exprs []string
	var b strings.Builder
	inString := false
	for _, p := range parts {
		if p.ref == "" || p.ref == "esc.quote" {
			text := p.lit
			if p.ref != "" {
				text = `"`
			}
			for i := 0; i < len(text); i++ {
				if text[i] == '\\' {
					i++
					continue
				}
				if text[i] == '"' {
					inString = !inString
				}
			}
			b.WriteString(text)
			continue
		}
		e, err := successExpr(p, vars)
		if err != nil {
			probs = append(probs, x.problem("config.response.successTemplate", "successTemplate: %v", err))
			e = "nil"
		}
		m := fmt.Sprintf("%s%d@@", marker, len(exprs))
		exprs = append(exprs, e)
		if inString {
			b.WriteString(m)
		} else {
			b.WriteString(`"` + m + `"`)
		}
	}
	var doc any
	if err := json.Unmarshal([]byte(b.String()), &doc); err != nil {
		return nil, append(probs, x.problem("config.response.successTemplate", "successTemplate is not JSON once its references are filled in: %v", err))
	}
	out := map[string]string{}
	flattenDoc(doc, "", exprs, out)
	return out, probs
}

func hasDefault(m map[string]string, k string) bool { _, ok := m[k]; return ok }

// translationExpr reads a translation map entry: a singular path gives its one value, any other
// path the list of its matches (as Genesys gives them); the default stands in for no match.
func translationExpr(path, def string, hasDef bool) (string, error) {
	p, err := jsonpath.Parse(path)
	if err != nil {
		return "", fmt.Errorf("not RFC 9535 JSONPath: %v", err)
	}
	d := "nil"
	if hasDef {
		var v any
		if json.Unmarshal([]byte(def), &v) == nil {
			d = literal(v)
		} else {
			d = quote(def)
		}
	}
	if p.Query().Singular() != nil {
		return fmt.Sprintf("jsonpath(body, %s, [%s])[0]", quote(path), d), nil
	}
	if !hasDef {
		d = "[]"
	}
	return fmt.Sprintf("jsonpath(body, %s, %s)", quote(path), d), nil
}

// successExpr is the expr source of a reference in a success template: a JSON value.
func successExpr(p vpart, vars map[string]string) (string, error) {
	switch {
	case p.ref == "rawResult" && !p.call:
		return "body", nil
	case p.ref == "successTemplateUtils.firstFromArray" && len(p.args) >= 1:
		arr, err := successArg(p.args[0], vars)
		if err != nil {
			return "", err
		}
		def := "nil"
		if len(p.args) > 1 {
			def, err = successArg(p.args[1], vars)
			if err != nil {
				return "", err
			}
		}
		return fmt.Sprintf("first(%s) ?? %s", arr, def), nil
	case !p.call:
		if e, ok := vars[p.ref]; ok {
			return e, nil
		}
		return "", fmt.Errorf("$%s is not in the translation map", p.ref)
	}
	return "", fmt.Errorf("Velocity call $%s is not supported in a success template", p.ref)
}

// successArg reads an argument of a success template function: "${var}" is the variable's
// value; other text (with $esc.quote for ") is JSON.
func successArg(arg []vpart, vars map[string]string) (string, error) {
	if len(arg) == 1 && arg[0].ref != "" && arg[0].ref != "esc.quote" {
		return successExpr(arg[0], vars)
	}
	var text strings.Builder
	for _, p := range arg {
		switch {
		case p.ref == "":
			text.WriteString(p.lit)
		case p.ref == "esc.quote":
			text.WriteByte('"')
		default:
			return "", fmt.Errorf("unsupported argument $%s", p.ref)
		}
	}
	var v any
	if json.Unmarshal([]byte(text.String()), &v) == nil {
		return literal(v), nil
	}
	return quote(text.String()), nil
}

// flattenDoc lists the leaves (and objects) of a filled-in success template as dotted paths.
func flattenDoc(v any, prefix string, exprs []string, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		if prefix != "" {
			out[strings.TrimSuffix(prefix, ".")] = literalWith(x, exprs)
		}
		for k, e := range x {
			flattenDoc(e, prefix+k+".", exprs, out)
		}
	default:
		out[strings.TrimSuffix(prefix, ".")] = literalWith(v, exprs)
	}
}

// literalWith writes a JSON value as expr source, markers turned back into their expressions.
func literalWith(v any, exprs []string) string {
	switch x := v.(type) {
	case string:
		if !strings.Contains(x, marker) {
			return quote(x)
		}
		var parts []string
		for x != "" {
			i := strings.Index(x, marker)
			if i < 0 {
				parts = append(parts, quote(x))
				break
			}
			if i > 0 {
				parts = append(parts, quote(x[:i]))
			}
			rest := x[i+len(marker):]
			j := strings.Index(rest, "@@")
			n, err := strconv.Atoi(rest[:max(j, 0)])
			if j < 0 || err != nil || n < 0 || n >= len(exprs) {
				// the template's own text looked like a marker: keep it as text
				parts = append(parts, quote(x))
				break
			}
			if i == 0 && j+2 == len(rest) && len(parts) == 0 {
				return "(" + exprs[n] + ")" // the whole string is one reference: keep its type
			}
			parts = append(parts, "ToString("+exprs[n]+")")
			x = rest[j+2:]
		}
		return strings.Join(parts, " + ")
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var fields []string
		for _, k := range keys {
			fields = append(fields, quote(k)+": "+literalWith(x[k], exprs))
		}
		return "{" + strings.Join(fields, ", ") + "}"
	case []any:
		var items []string
		for _, e := range x {
			items = append(items, literalWith(e, exprs))
		}
		return "[" + strings.Join(items, ", ") + "]"
	}
	return literal(v)
}

// literal writes a decoded JSON value as expr source.
func literal(v any) string {
	switch x := v.(type) {
	case nil:
		return "nil"
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case string:
		return quote(x)
	}
	return literalWith(v, nil)
}

// Output is the expression of one output field (a.b.c): the success template's own entry, or
// a field below an entry that maps a whole object (${rawResult}, say).
func Output(outs map[string]string, field string) (string, bool) {
	if e, ok := outs[field]; ok {
		return e, true
	}
	parts := strings.Split(field, ".")
	for i := len(parts) - 1; i > 0; i-- {
		if e, ok := outs[strings.Join(parts[:i], ".")]; ok {
			return "(" + e + ")" + Member(parts[i:]...), true
		}
	}
	if e, ok := outs[""]; ok {
		return "(" + e + ")" + Member(parts...), true
	}
	return "", false
}

// Member is the expr reading path below a value as a nil-safe member chain (?.a?.b), a part
// that is no expr name (a dash, a digit first, a keyword such as in) read by its quoted key.
func Member(path ...string) string {
	var b strings.Builder
	for _, p := range path {
		if isIdent(p) {
			b.WriteString("?." + p)
		} else {
			b.WriteString("?.[" + quote(p) + "]")
		}
	}
	return b.String()
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r != '_' && !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') && !(i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	switch s {
	case "in", "not", "and", "or", "matches", "contains", "startsWith", "endsWith", "let", "if", "else", "nil", "true", "false":
		return false
	}
	return true
}
