// Package schema owns the JSON Schemas (draft 2020-12) of archflow's flow files and test files.
// It embeds them for `archflow schema` and for editors, and checks a YAML document against
// them, reporting each violation as file:line:col of the offending YAML node.
//
// The schemas describe what the compiler accepts; the compiler stays the authority on what the
// schema cannot say (references, expressions, types of defaults).
package schema

import (
	"bytes"
	_ "embed"
	"fmt"
	"strings"

	"github.com/archflow/archflow/engine"
)

// FlowFile is flow.schema.json: the flow schema of archflow's built-in components, for editors
// (flow files name it in their yaml-language-server line). A test keeps it equal to GenerateFlow.
//
//go:embed flow.schema.json
var FlowFile []byte

//go:embed test.schema.json
var testJSON []byte

// The kinds of file ValidateYAML knows.
const (
	KindFlow = "flow"
	KindTest = "test"
)

// Kinds lists the schema kinds, the default first.
var Kinds = []string{KindFlow, KindTest}

// Test returns the test file schema as JSON.
func Test() []byte { return bytes.Clone(testJSON) }

// Get returns the schema of a kind ("flow" or "test"); the flow schema describes the
// components of reg.
func Get(reg *engine.Registry, kind string) ([]byte, error) {
	switch kind {
	case KindFlow:
		return GenerateFlow(reg)
	case KindTest:
		return Test(), nil
	}
	return nil, fmt.Errorf("unknown schema %q: give %s", kind, strings.Join(Kinds, " or "))
}
