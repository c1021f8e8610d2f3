package engine

import (
	"slices"
	"testing"
)

// Each scope name has its own bit, the one its place in scopeNameList gives; the response scope
// a host snapshot carries is its first five.
func TestScopeBits(t *testing.T) {
	for i, n := range scopeNameList {
		if scopeBit(n) != 1<<i {
			t.Errorf("%s: bit %b, want %b", n, scopeBit(n), 1<<i)
		}
	}
	if scopeBit("order_id") != 0 || scopeReads([]string{"$env"}) != scopeAll {
		t.Error("a variable has a scope bit, or $env does not read every name")
	}
	if want := []string{"status", "headers", "body", "text", "elapsed"}; !slices.Equal(scopeNames, want) {
		t.Errorf("response scope %v, want %v", scopeNames, want)
	}
}
