package archy

import (
	"testing"

	"gopkg.in/yaml.v3"
)

// A string the importer writes into a flow file reads back as the same string.
func TestYAMLStringReadsBack(t *testing.T) {
	for _, s := range []string{"plain", "", "a: b", "# not a comment", "tab\there", "line\nbreak", `quote " and \ back`, "bell\a", "null", "123", "é ü 日本", "- item", "{{ x }}"} {
		var got string
		if err := yaml.Unmarshal([]byte("v: "+yamlString(s)), &struct{ V *string }{&got}); err != nil {
			t.Errorf("%q written as %s: %v", s, yamlString(s), err)
			continue
		}
		if got != s {
			t.Errorf("%q written as %s reads back as %q", s, yamlString(s), got)
		}
	}
}
