package trace

import (
	"cmp"
	"encoding/json"
	"slices"
)

// Var is a variable and its value, as an event tells what a step set.
type Var struct {
	Name  string
	Value any
}

// Vars are variables and their values, each name once. They encode as a JSON object with its
// keys sorted, as encoding/json writes a map, whatever their order here: a step that sets one
// variable tells so without building, clearing and ranging over a map (a fifth of a traced
// assign's cost).
type Vars []Var

// Map is vs as a map.
func (vs Vars) Map() map[string]any {
	m := make(map[string]any, len(vs))
	for _, v := range vs {
		m[v.Name] = v.Value
	}
	return m
}

// VarsOf is m as Vars, sorted by name.
func VarsOf(m map[string]any) Vars {
	vs := make(Vars, 0, len(m))
	for k, v := range m {
		vs = append(vs, Var{k, v})
	}
	slices.SortFunc(vs, byName)
	return vs
}

func byName(a, b Var) int { return cmp.Compare(a.Name, b.Name) }

// MarshalJSON writes vs as an object, as encoding/json writes the map vs.Map().
func (vs Vars) MarshalJSON() ([]byte, error) {
	if vs == nil {
		return []byte("null"), nil
	}
	w := jsonWriter{html: true}
	w.vars(vs)
	return w.b, w.err
}

// UnmarshalJSON reads an object (a trace line read back).
func (vs *Vars) UnmarshalJSON(b []byte) error {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	if m == nil {
		*vs = nil
		return nil
	}
	*vs = VarsOf(m)
	return nil
}

// vars writes vs as an object with its keys sorted.
func (w *jsonWriter) vars(vs Vars) {
	if !slices.IsSortedFunc(vs, byName) {
		vs = slices.SortedFunc(slices.Values(vs), byName)
	}
	w.b = append(w.b, '{')
	for i, v := range vs {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.str(v.Name)
		w.b = append(w.b, ':')
		w.value(v.Value)
	}
	w.b = append(w.b, '}')
}
