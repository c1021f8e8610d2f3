// Package check validates a YAML document against archflow's JSON Schemas (generated from a
// registry's components) and reports each violation at the file:line:col of the YAML node it is
// about. validate does not need it (the compiler is the authority on flow files); the tests that
// hold the schema to the compiler and tools that want editor-grade schema errors do. It lives
// apart so that only they link the JSON Schema library, whose start-up every command would pay.
package check

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/yamldoc"
	"github.com/archflow/archflow/schema"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"gopkg.in/yaml.v3"
)

// compiled is a schema ready to validate, with its raw JSON kept to explain errors
// (allowed keys for "did you mean", the branches of a oneOf).
type compiled struct {
	url string
	raw any
	sch *jsonschema.Schema
}

// Validator checks YAML documents against the schemas of one registry's components. Building
// one compiles the schemas (milliseconds): only the commands that check files pay for it.
type Validator struct {
	schemas map[string]*compiled
}

// NewValidator compiles the flow schema of reg and the test schema.
func NewValidator(reg *engine.Registry) (*Validator, error) {
	v := &Validator{schemas: map[string]*compiled{}}
	for _, k := range schema.Kinds {
		data, err := schema.Get(reg, k)
		if err != nil {
			return nil, err
		}
		raw, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", k, err)
		}
		url := raw.(map[string]any)["$id"].(string)
		c := jsonschema.NewCompiler()
		if err := c.AddResource(url, raw); err != nil {
			return nil, fmt.Errorf("schema %s: %w", k, err)
		}
		sch, err := c.Compile(url)
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", k, err)
		}
		v.schemas[k] = &compiled{url: url, raw: raw, sch: sch}
	}
	return v, nil
}

// ValidateYAML checks one YAML document against the schema of kind ("flow" or "test"). Every
// violation is returned, sorted, as an yamldoc.Error at the file:line:col of the YAML node it is
// about; a YAML syntax error is returned alone. An empty list means the document conforms.
func (v *Validator) ValidateYAML(kind, file string, data []byte) yamldoc.ErrorList {
	c := v.schemas[kind]
	if c == nil {
		return yamldoc.ErrorList{{Pos: yamldoc.Pos{File: file}, Severity: yamldoc.SevError, Msg: fmt.Sprintf("unknown schema %q (one of %s)", kind, strings.Join(schema.Kinds, ", "))}}
	}
	root, errs := yamldoc.ParseYAML(file, data)
	if root == nil {
		return errs
	}
	d := &document{file: file, index: map[string]*place{}}
	doc := d.convert(root, nil, nil) // a duplicate key is an error, and the rest is still checked
	x := &explainer{doc: d, schema: c, errs: d.errs}
	if verr := c.sch.Validate(doc); verr != nil {
		ve, ok := verr.(*jsonschema.ValidationError)
		if !ok {
			x.add(yamldoc.PosOf(file, root), "%v", verr)
		} else {
			x.explain(ve)
		}
	}
	if len(x.errs) == 0 && len(x.unknown) == 0 {
		return nil
	}
	return x.list()
}

// place is where a value of the document is: its key (for mapping values) and its node.
type place struct {
	key   *yaml.Node
	value *yaml.Node
}

// document is a YAML document turned into JSON values, with the place of every value by its
// JSON pointer, so that schema errors can name a line and column.
type document struct {
	file  string
	index map[string]*place
	errs  yamldoc.ErrorList
}

func ptrKey(tokens []string) string { return strings.Join(tokens, "\x00") }

// convert turns a YAML node into the JSON value the schema sees. Scalars keep their YAML type,
// except timestamps and binary values, which stay the strings they were written as.
func (d *document) convert(n *yaml.Node, key *yaml.Node, path []string) any {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	d.index[ptrKey(path)] = &place{key: key, value: n}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil
		}
		return d.convert(n.Content[0], key, path)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				d.errs.Add(yamldoc.PosOf(d.file, k), "a mapping key must be a plain value, not a %s", nodeKind(k))
				continue
			}
			if _, dup := m[k.Value]; dup {
				d.errs.Add(yamldoc.PosOf(d.file, k), "duplicate key %q", k.Value)
				continue
			}
			m[k.Value] = d.convert(v, k, append(path[:len(path):len(path)], k.Value))
		}
		return m
	case yaml.SequenceNode:
		l := make([]any, len(n.Content))
		for i, it := range n.Content {
			l[i] = d.convert(it, nil, append(path[:len(path):len(path)], fmt.Sprint(i)))
		}
		return l
	}
	switch n.Tag {
	case "!!null":
		return nil
	case "!!bool", "!!int", "!!float":
		var v any
		if err := n.Decode(&v); err == nil {
			switch x := v.(type) {
			case int:
				return x
			case int64:
				return x
			case uint64:
				return x
			case float64:
				return x
			case bool:
				return x
			}
		}
	}
	return n.Value
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "value"
}

// has reports whether the object at tokens has the key name.
func (d *document) has(tokens []string, name string) bool {
	return d.index[ptrKey(append(tokens[:len(tokens):len(tokens)], name))] != nil
}

// at is the position of the value at tokens, or of its nearest known parent.
func (d *document) at(tokens []string) yamldoc.Pos {
	for i := len(tokens); i >= 0; i-- {
		if p := d.index[ptrKey(tokens[:i])]; p != nil {
			return yamldoc.PosOf(d.file, p.value)
		}
	}
	return yamldoc.Pos{File: d.file, Line: 1, Col: 1}
}

// keyAt is the position of the key of the property name of the object at tokens.
func (d *document) keyAt(tokens []string, name string) yamldoc.Pos {
	p := d.index[ptrKey(append(tokens[:len(tokens):len(tokens)], name))]
	if p != nil && p.key != nil {
		return yamldoc.PosOf(d.file, p.key)
	}
	return d.at(tokens)
}

var printer = message.NewPrinter(language.English)

// nameAt is the position of a key called name in the object at tokens. The library's location
// of a propertyNames error may be stale (it shares its slice with later steps), so when the
// object does not hold the name, the first key of that name in the file is taken.
func (d *document) nameAt(tokens []string, name string) yamldoc.Pos {
	if p := d.index[ptrKey(append(tokens[:len(tokens):len(tokens)], name))]; p != nil && p.key != nil {
		return yamldoc.PosOf(d.file, p.key)
	}
	var best *yaml.Node
	for k, p := range d.index {
		if p.key == nil || p.key.Value != name || !strings.HasSuffix("\x00"+k, "\x00"+name) {
			continue
		}
		if best == nil || p.key.Line < best.Line || (p.key.Line == best.Line && p.key.Column < best.Column) {
			best = p.key
		}
	}
	if best != nil {
		return yamldoc.PosOf(d.file, best)
	}
	return d.at(tokens)
}

// explainer turns the library's tree of errors into one plain message per problem: it walks
// down through wrappers and picks, for a failed oneOf/anyOf, the branch the author meant.
type explainer struct {
	doc    *document
	schema *compiled
	errs   yamldoc.ErrorList
	// unknown keys, by object and key, and the keys of clashing oneOf branches: a node with two
	// kinds fails each kind's own schema on the other's keys too, and that says nothing new.
	unknown map[string]map[string]*yamldoc.Error
	clashes map[string][]string
}

func (x *explainer) add(pos yamldoc.Pos, format string, args ...any) {
	x.errs.Add(pos, format, args...)
}

// list returns the errors, sorted, less unknown-key errors about keys that clash.
func (x *explainer) list() yamldoc.ErrorList {
	for loc, keys := range x.unknown {
		if len(x.clashes[loc]) > 0 {
			continue
		}
		for _, e := range keys {
			x.errs = append(x.errs, e)
		}
	}
	return x.errs.Sort()
}

func (x *explainer) explain(e *jsonschema.ValidationError) {
	loc := e.InstanceLocation
	switch k := e.ErrorKind.(type) {
	case *kind.AdditionalProperties:
		allowed := x.allowedKeys(e.SchemaURL)
		for _, p := range k.Properties {
			if x.unknown == nil {
				x.unknown = map[string]map[string]*yamldoc.Error{}
			}
			if x.unknown[ptrKey(loc)] == nil {
				x.unknown[ptrKey(loc)] = map[string]*yamldoc.Error{}
			}
			x.unknown[ptrKey(loc)][p] = &yamldoc.Error{Pos: x.doc.keyAt(loc, p), Severity: yamldoc.SevError,
				Msg: fmt.Sprintf("unknown key %q%s", p, didYouMean(p, allowed))}
		}
	case *kind.Required:
		if len(k.Missing) == 1 {
			x.add(x.doc.at(loc), "missing key %q", k.Missing[0])
		} else {
			x.add(x.doc.at(loc), "missing keys %s", quoteAll(k.Missing, ", "))
		}
	case *kind.PropertyNames:
		x.add(x.doc.nameAt(loc, k.Property), "name %q must match [A-Za-z_][A-Za-z0-9_]*", k.Property)
	case *kind.DependentRequired:
		x.add(x.doc.keyAt(loc, k.Prop), "%q needs %s too", k.Prop, quoteAll(k.Missing, ", "))
	case *kind.FalseSchema:
		if len(loc) > 0 {
			x.add(x.doc.keyAt(loc[:len(loc)-1], loc[len(loc)-1]), "%q is not allowed here", loc[len(loc)-1])
		} else {
			x.add(x.doc.at(loc), "not allowed here")
		}
	case *kind.Type:
		x.add(x.doc.at(loc), "expected %s, got %s", typeList(k.Want), article(k.Got))
	case *kind.Enum:
		x.add(x.doc.at(loc), "%s is not one of %s", display(k.Got), displayAll(k.Want))
	case *kind.Const:
		x.add(x.doc.at(loc), "%s must be %s", display(k.Got), display(k.Want))
	case *kind.Pattern:
		x.add(x.doc.at(loc), "%q does not match %s", k.Got, k.Want)
	case *kind.Minimum:
		x.add(x.doc.at(loc), "%s is less than the minimum, %s", ratText(k.Got), ratText(k.Want))
	case *kind.Maximum:
		x.add(x.doc.at(loc), "%s is more than the maximum, %s", ratText(k.Got), ratText(k.Want))
	case *kind.MinItems:
		x.add(x.doc.at(loc), "needs at least %d item(s), got %d", k.Want, k.Got)
	case *kind.MaxItems:
		x.add(x.doc.at(loc), "takes at most %d item(s), got %d", k.Want, k.Got)
	case *kind.MinProperties:
		x.add(x.doc.at(loc), "needs at least %d entr%s", k.Want, plural(k.Want, "y", "ies"))
	case *kind.MinLength:
		x.add(x.doc.at(loc), "must not be empty")
	case *kind.Not:
		x.add(x.doc.at(loc), "%s", x.notMessage(e))
	case *kind.OneOf:
		if len(k.Subschemas) > 0 {
			x.add(x.oneOfManyPos(e, k.Subschemas), "%s", x.oneOfManyMessage(e, k.Subschemas))
			return
		}
		x.alternatives(e)
	case *kind.AnyOf:
		x.alternatives(e)
	case *kind.Schema, *kind.Group, *kind.Reference, *kind.AllOf:
		for _, c := range e.Causes {
			x.explain(c)
		}
	default:
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				x.explain(c)
			}
			return
		}
		x.add(x.doc.at(loc), "%s", e.ErrorKind.LocalizedString(printer))
	}
}

// alternatives explains a failed oneOf/anyOf. Branches that fail on the value's type at the
// alternatives' own place were plainly not meant; of the rest, the one that got furthest into
// the value is the one to explain.
func (x *explainer) alternatives(e *jsonschema.ValidationError) {
	loc := e.InstanceLocation
	var kept []*jsonschema.ValidationError
	var present []int // per kept branch: how many of its required keys the value has
	var wantTypes []string
	got := ""
	keyword := "anyOf"
	if _, ok := e.ErrorKind.(*kind.OneOf); ok {
		keyword = "oneOf"
	}
	branches, _ := x.rawAt(e.SchemaURL, keyword).([]any)
	for i, c := range e.Causes {
		leaves := leafErrors(c)
		if t, ok := wrongType(leaves, loc); ok {
			wantTypes = append(wantTypes, t.Want...)
			got = t.Got
			continue
		}
		kept = append(kept, c)
		n := 0
		if len(branches) == len(e.Causes) {
			for _, r := range requiredOf(branches[i]) {
				if x.doc.has(loc, r) {
					n++
				}
			}
		}
		present = append(present, n)
	}
	if len(kept) == 0 {
		x.add(x.doc.at(loc), "expected %s, got %s", typeList(uniq(wantTypes)), article(got))
		return
	}
	// every branch only misses a key at this place: say which keys would do
	var missing []string
	onlyRequired := true
	for _, c := range kept {
		for _, l := range leafErrors(c) {
			r, ok := l.ErrorKind.(*kind.Required)
			if !ok || !slices.Equal(l.InstanceLocation, loc) {
				onlyRequired = false
				break
			}
			missing = append(missing, r.Missing...)
		}
	}
	if onlyRequired && len(kept) > 1 {
		x.add(x.doc.at(loc), "needs one of %s", quoteAll(uniq(missing), ", "))
		return
	}
	// the branch that got deepest; on a tie, the one whose required keys are there (a backoff
	// with a schedule is a schedule backoff), then the one with fewer errors
	best, bestDepth, bestPresent, bestCount := kept[0], -1, 0, 0
	for i, c := range kept {
		leaves := leafErrors(c)
		depth := 0
		for _, l := range leaves {
			depth = max(depth, len(l.InstanceLocation))
		}
		better := depth > bestDepth
		if depth == bestDepth {
			better = present[i] > bestPresent || (present[i] == bestPresent && len(leaves) < bestCount)
		}
		if better {
			best, bestDepth, bestPresent, bestCount = c, depth, present[i], len(leaves)
		}
	}
	x.explain(best)
}

// leafErrors are the errors of a tree that have no causes, wrappers skipped.
func leafErrors(e *jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(e.Causes) == 0 {
		return []*jsonschema.ValidationError{e}
	}
	var out []*jsonschema.ValidationError
	for _, c := range e.Causes {
		out = append(out, leafErrors(c)...)
	}
	return out
}

func wrongType(leaves []*jsonschema.ValidationError, loc []string) (*kind.Type, bool) {
	for _, l := range leaves {
		if t, ok := l.ErrorKind.(*kind.Type); ok && slices.Equal(l.InstanceLocation, loc) {
			return t, true
		}
	}
	return nil, false
}

// oneOfManyMessage explains a value that matches two branches of a oneOf whose branches each
// require one key (a node's kind, a wait's for/until): only one of those keys may be given.
func (x *explainer) oneOfManyMessage(e *jsonschema.ValidationError, matched []int) string {
	branches, _ := x.rawAt(e.SchemaURL, "oneOf").([]any)
	var keys []string
	for _, b := range branches {
		if r := requiredOf(b); len(r) > 0 {
			keys = append(keys, r[0])
		}
	}
	if len(keys) != len(branches) || len(matched) < 2 {
		return "matches more than one of the allowed forms"
	}
	a, b := keys[matched[0]], keys[matched[1]]
	if x.clashes == nil {
		x.clashes = map[string][]string{}
	}
	x.clashes[ptrKey(e.InstanceLocation)] = append(x.clashes[ptrKey(e.InstanceLocation)], a, b)
	return fmt.Sprintf("%q and %q cannot be given together: give exactly one of %s", a, b, strings.Join(keys, ", "))
}

// oneOfManyPos points at the later of the two clashing keys.
func (x *explainer) oneOfManyPos(e *jsonschema.ValidationError, matched []int) yamldoc.Pos {
	branches, _ := x.rawAt(e.SchemaURL, "oneOf").([]any)
	pos := x.doc.at(e.InstanceLocation)
	if len(matched) < 2 || matched[1] >= len(branches) {
		return pos
	}
	if r := requiredOf(branches[matched[1]]); len(r) > 0 {
		a := x.doc.keyAt(e.InstanceLocation, r[0])
		if len(matched) > 0 {
			if r0 := requiredOf(branches[matched[0]]); len(r0) > 0 {
				b := x.doc.keyAt(e.InstanceLocation, r0[0])
				if b.Line > a.Line || (b.Line == a.Line && b.Col > a.Col) {
					return b
				}
			}
		}
		return a
	}
	return pos
}

func requiredOf(v any) []string {
	m, _ := v.(map[string]any)
	r, _ := m["required"].([]any)
	var out []string
	for _, s := range r {
		if str, ok := s.(string); ok {
			out = append(out, str)
		}
	}
	return out
}

// notMessage explains a failed "not": the schemas use it only as not: {required: [a, b]}.
func (x *explainer) notMessage(e *jsonschema.ValidationError) string {
	if r := requiredOf(x.rawAt(e.SchemaURL, "not")); len(r) > 1 {
		return fmt.Sprintf("%s cannot be given together", quoteAll(r, " and "))
	}
	return "value is not allowed here"
}

// allowedKeys lists the properties of the schema at url, for "did you mean".
func (x *explainer) allowedKeys(url string) []string {
	m, _ := x.rawAt(url, "properties").(map[string]any)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// rawAt finds the raw JSON of the schema at url (this document's URL and a JSON pointer
// fragment), then descends into the given keywords.
func (x *explainer) rawAt(url string, keywords ...string) any {
	_, frag, _ := strings.Cut(url, "#")
	var v any = x.schema.raw
	var tokens []string
	if frag != "" {
		tokens = strings.Split(strings.TrimPrefix(frag, "/"), "/")
	}
	for _, t := range append(tokens, keywords...) {
		t = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
		switch c := v.(type) {
		case map[string]any:
			v = c[t]
		case []any:
			var i int
			if _, err := fmt.Sscan(t, &i); err != nil || i < 0 || i >= len(c) {
				return nil
			}
			v = c[i]
		default:
			return nil
		}
	}
	return v
}

// ---- wording ----

func article(t string) string {
	switch t {
	case "object":
		return "a mapping"
	case "array":
		return "a list"
	case "null":
		return "nothing (null)"
	case "integer":
		return "an integer"
	case "":
		return "something else"
	}
	return "a " + t
}

func typeList(ts []string) string {
	var out []string
	for _, t := range ts {
		out = append(out, article(t))
	}
	switch len(out) {
	case 0:
		return "another value"
	case 1:
		return out[0]
	}
	return strings.Join(out[:len(out)-1], ", ") + " or " + out[len(out)-1]
}

func ratText(r *big.Rat) string {
	f, _ := r.Float64()
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func uniq(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func quoteAll(ss []string, sep string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, sep)
}

func display(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("%q", x)
	case nil:
		return "null"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func displayAll(vs []any) string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = display(v)
	}
	return strings.Join(out, ", ")
}

func didYouMean(name string, allowed []string) string { return yamldoc.DidYouMean(name, allowed) }
