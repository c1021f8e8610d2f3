package auth_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/archflow/archflow/engine/tester"
	"github.com/archflow/archflow/nodes"
)

// The oauth test file passes under the test runner: token requests get a fake token unless a
// case scripts auth.erp, and a scripted refusal reaches no API.
func TestOAuthTestFile(t *testing.T) {
	t.Parallel()
	rep := tester.RunPaths(context.Background(), nodes.Builtins(), []string{oauthDir + "oauth.test.yaml"}, &tester.Options{Coverage: true})
	n := rep.Counts()
	if n.Passed != 4 || n.Failed+n.Errors+n.Invalid != 0 {
		var out, errs bytes.Buffer
		rep.WriteText(&out, &errs, true, 0)
		t.Fatalf("counts %+v\n%s%s", n, out.String(), errs.String())
	}
}
