package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// SPEC §11 and §7: a cassette is safe to commit. Every auth type, secrets in headers, the query
// and the body, echoed back by the API, an OAuth token request and notifications: no secret or
// token in any form reaches the cassette, the trace, or what replay prints; the committed
// cassette then replays with no credentials at all (placeholders), as a test case too.
func TestSecretsNeverLeakIntoCassettes(t *testing.T) {
	srv := leakServer(t)
	dir := t.TempDir()
	flow := filepath.Join(dir, "leak.yaml")
	os.WriteFile(flow, []byte(leakFlowText()), 0o600)
	var ef strings.Builder
	fmt.Fprintf(&ef, "API_URL=%s\nAPI_USER=svc-user\nDEAD_LETTER=%s\n", srv.URL, filepath.Join(dir, "dead-letter.jsonl"))
	for k, v := range leakSecrets {
		fmt.Fprintf(&ef, "%s=\"%s\"\n", k, yamlEscape(v))
	}
	envFile := filepath.Join(dir, "secrets.env")
	os.WriteFile(envFile, []byte(ef.String()), 0o600)

	var cases strings.Builder
	fmt.Fprintf(&cases, "flow: leak.yaml\ncases:\n")
	for _, which := range []string{"bearer", "basic", "header", "query", "oauth"} {
		for _, fail := range []string{"false", "true"} {
			name := which + "-" + fail
			cas := filepath.Join(dir, name+".cassette.yaml")
			trace := filepath.Join(dir, name+".trace.jsonl")
			code, out, errOut := cli(t, "run", flow, "--env-file", envFile, "--clock", "virtual", "--output", "json",
				"--record", cas, "--trace", trace, "--input", "which="+which, "--input", "fail="+fail)
			if want := map[string]int{"false": 0, "true": 1}[fail]; code != want {
				t.Fatalf("%s: exit %d, want %d\n%s%s", name, code, want, out, errOut)
			}
			c, _ := os.ReadFile(cas)
			tr, _ := os.ReadFile(trace)
			checkNoLeak(t, name+" cassette", string(c))
			checkNoLeak(t, name+" trace", string(tr))
			for _, want := range []string{"corr-42", "[REDACTED]"} {
				if !strings.Contains(string(c), want) {
					t.Errorf("%s: the cassette has no %s:\n%s", name, want, c)
				}
			}
			if which == "oauth" && !strings.Contains(string(c), "action: auth.oauth") {
				t.Errorf("%s: the token request is not in the cassette:\n%s", name, c)
			}
			if which == "oauth" && !strings.Contains(string(tr), `"action":"auth.oauth"`) {
				t.Errorf("%s: the token request is not in the trace", name)
			}
			if fail == "true" && !strings.Contains(string(c), "action: notify.deadletter") {
				t.Errorf("%s: the delivery is not in the cassette:\n%s", name, c)
			}
			// no credentials in the environment: placeholders stand in for them
			for _, rec := range []string{cas, trace} {
				for _, output := range []string{"text", "json"} {
					code, out, errOut := cli(t, "replay", rec, "--flow", flow, "--output", output)
					if code != 0 {
						t.Errorf("replay %s --output %s: exit %d\n%s%s", filepath.Base(rec), output, code, out, errOut)
					}
					checkNoLeak(t, "replay "+name+" output", out+errOut)
				}
			}
			fmt.Fprintf(&cases, "  - name: %s\n    cassette: %s.cassette.yaml\n    match: [method, url, body]\n    expect: {outcome: %s}\n",
				name, name, map[string]string{"false": "success", "true": "escalated"}[fail])
		}
	}
	testFile := filepath.Join(dir, "leak.test.yaml")
	os.WriteFile(testFile, []byte(cases.String()), 0o600)
	code, out, errOut := cli(t, "test", testFile, "-v")
	if code != 0 {
		t.Errorf("test with cassettes and no credentials: exit %d\n%s%s", code, out, errOut)
	}
	checkNoLeak(t, "test output", out+errOut)
}
