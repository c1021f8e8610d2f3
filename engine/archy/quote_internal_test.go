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

// A data action's output field is read from the body as a nil-safe member chain; a part that is
// no expr name (a dash, a keyword) is read by its quoted key.
func TestMemberPathQuotesWhatIsNoName(t *testing.T) {
	for field, want := range map[string]string{
		"id":                       `?.id`,
		"conversation.id":          `?.conversation?.id`,
		"contact.first-name":       `?.contact?.["first-name"]`,
		"in.matches":               `?.["in"]?.["matches"]`,
		"customer.2nd":             `?.customer?.["2nd"]`,
		`odd."quoted".key with sp`: `?.odd?.["\"quoted\""]?.["key with sp"]`,
	} {
		if got := memberPath(field); got != want {
			t.Errorf("memberPath(%q) = %s, want %s", field, got, want)
		}
	}
}
