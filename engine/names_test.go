package engine

import (
	"regexp"
	"testing"
)

// The name checks are loops; the patterns in their error messages are the contract.
func TestNameChecksMatchTheirPatterns(t *testing.T) {
	name := regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	flowName := regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	for _, s := range []string{"", "a", "_", "Z9", "9a", "a-b", "-", "a b", "order_id", "é", "aé", "a.b",
		"A_1_z", "__", "0", "a\x00", "self-healing", "x-", "-x", "Ω", "a/b", "a$", "`"} {
		if got, want := IsName(s), name.MatchString(s); got != want {
			t.Errorf("IsName(%q) = %v, want %v", s, got, want)
		}
		if got, want := isFlowName(s), flowName.MatchString(s); got != want {
			t.Errorf("isFlowName(%q) = %v, want %v", s, got, want)
		}
	}
}

func FuzzNameChecks(f *testing.F) {
	name := regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	flowName := regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	f.Add("order_id")
	f.Add("self-healing")
	f.Fuzz(func(t *testing.T, s string) {
		if IsName(s) != name.MatchString(s) || isFlowName(s) != flowName.MatchString(s) {
			t.Errorf("%q: IsName %v, isFlowName %v", s, IsName(s), isFlowName(s))
		}
	})
}
