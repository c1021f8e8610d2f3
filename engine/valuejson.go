package engine

import (
	"slices"
	"strings"

	"github.com/archflow/archflow/engine/trace"
	"gopkg.in/yaml.v3"
)

// valueJSON is what Value.AppendJSON needs, worked out when the value compiles.
type valueJSON struct {
	// leaf is the index of a scalar among the value's scalars in document order (the order
	// Eval runs their templates in); leaves is how many the whole value has (at its root)
	leaf, leaves int
	// sorted are a mapping's entries by key, the order encoding/json writes a map in
	sorted []int
	// whole: Eval, then encode (a value with more scalars than AppendJSON keeps on its stack)
	whole bool
}

// maxLeaves is the most scalars a value AppendJSON writes directly may have.
const maxLeaves = 32

// prepareJSON numbers the scalars of a root value and sorts its mappings' keys.
func (v *Value) prepareJSON() {
	if v == nil {
		return
	}
	n := 0
	var walk func(x *Value)
	walk = func(x *Value) {
		switch x.kind {
		case yaml.MappingNode:
			x.json.sorted = make([]int, len(x.keys))
			for i := range x.keys {
				x.json.sorted[i] = i
			}
			slices.SortFunc(x.json.sorted, func(a, b int) int { return strings.Compare(x.keys[a], x.keys[b]) }) // keys are unique
			for _, c := range x.vals {
				walk(c)
			}
		case yaml.SequenceNode:
			for _, c := range x.items {
				walk(c)
			}
		default:
			x.json.leaf = n
			n++
		}
	}
	walk(v)
	v.json.leaves, v.json.whole = n, n > maxLeaves
}

// JSONError is a value JSON cannot hold (NaN, ±Inf, a function): encoding/json's error.
type JSONError struct{ Err error }

func (e *JSONError) Error() string { return e.Err.Error() }
func (e *JSONError) Unwrap() error { return e.Err }

// AppendJSON appends the value built in the instance's scope as JSON: the bytes encoding/json
// writes for what Eval gives (a mapping's keys sorted), without building the maps and lists in
// between. Its templates run in the order Eval runs them; an error of one is returned as Eval
// returns it, and a value JSON cannot hold is a *JSONError.
func (v *Value) AppendJSON(b []byte, in *Instance) ([]byte, error) {
	if v == nil {
		return append(b, "null"...), nil
	}
	var err error
	if v.json.whole {
		var x any
		if x, err = v.Eval(in); err != nil {
			return b, err
		}
		b, err = trace.AppendValue(b, x, true)
	} else {
		var scratch [maxLeaves]any
		leaves := scratch[:v.json.leaves]
		if err := v.evalLeaves(in, leaves); err != nil {
			return b, err
		}
		b, err = v.appendJSON(b, leaves)
	}
	if err != nil {
		return b, &JSONError{err}
	}
	return b, nil
}

// evalLeaves evaluates the scalars into leaves, in document order.
func (v *Value) evalLeaves(in *Instance, leaves []any) error {
	switch v.kind {
	case yaml.MappingNode:
		for _, c := range v.vals {
			if err := c.evalLeaves(in, leaves); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		for _, c := range v.items {
			if err := c.evalLeaves(in, leaves); err != nil {
				return err
			}
		}
	default:
		x, err := v.Eval(in)
		if err != nil {
			return err
		}
		leaves[v.json.leaf] = x
	}
	return nil
}

func (v *Value) appendJSON(b []byte, leaves []any) ([]byte, error) {
	var err error
	switch v.kind {
	case yaml.MappingNode:
		b = append(b, '{')
		for i, k := range v.json.sorted {
			if i > 0 {
				b = append(b, ',')
			}
			b = trace.AppendString(b, v.keys[k], true)
			b = append(b, ':')
			if b, err = v.vals[k].appendJSON(b, leaves); err != nil {
				return b, err
			}
		}
		return append(b, '}'), nil
	case yaml.SequenceNode:
		b = append(b, '[')
		for i, c := range v.items {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = c.appendJSON(b, leaves); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	}
	return trace.AppendValue(b, leaves[v.json.leaf], true)
}
