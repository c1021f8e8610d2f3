package cli

import (
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// leakSecrets are sensitive values of every shape: short ones, ones that change when URL-encoded
// or JSON-escaped, non-ASCII ones.
var leakSecrets = map[string]string{
	"API_TOKEN":     "Xq!",
	"API_PASSWORD":  `p@ss w/&"<>`,
	"API_KEY":       "K~9",
	"CLIENT_SECRET": "cs-Žsecret",
	"HDR_SECRET":    "hs+1/2",
	"QUERY_SECRET":  "qs &=?",
	"BODY_SECRET":   "bs\"\t<x>",
	"NOTE_SECRET":   "ns-Ž§",
}

// leakToken is the access token the token endpoint hands out: sensitive too.
const leakToken = "at-9f8e7dZZ"

const leakFlow = `flow: leak
variables:
  which: {type: string, input: true, required: true}
  fail: {type: boolean, input: true, default: false}
  echo: {type: string, output: true}
auth:
  bearer: {type: bearer, token: "{{ secret('API_TOKEN') }}"}
  basic:  {type: basic, username: "{{ env('API_USER') }}", password: "{{ secret('API_PASSWORD') }}"}
  header: {type: api_key, header: X-Partner-Key, value: "{{ secret('API_KEY') }}"}
  query:  {type: api_key, query: api_key, value: "{{ secret('API_KEY') }}"}
  oauth:
    type: oauth2_client_credentials
    token_url: "{{ env('API_URL') }}/token"
    client_id: "{{ env('API_USER') }}"
    client_secret: "{{ secret('CLIENT_SECRET') }}"
actions:
%schannels:
  deadletter: {type: file, path: "{{ env('DEAD_LETTER') }}"}
  console: {type: log}
  hook: {type: webhook, url: "{{ env('API_URL') }}/hook?k={{ secret('NOTE_SECRET') }}", headers: {X-Hook-Key: "{{ secret('NOTE_SECRET') }}"}}
start: pick
nodes:
  pick:
    decision:
      - {when: which == "bearer", next: bearer}
      - {when: which == "basic", next: basic}
      - {when: which == "header", next: header}
      - {when: which == "query", next: query}
    default: oauth
  bearer: {data_action: bearer, next: ok, on_failure: escalate}
  basic:  {data_action: basic, next: ok, on_failure: escalate}
  header: {data_action: header, next: ok, on_failure: escalate}
  query:  {data_action: query, next: ok, on_failure: escalate}
  oauth:  {data_action: oauth, next: ok, on_failure: escalate}
  escalate:
    notify:
      channel: deadletter
      subject: "failed corr-42"
      body: "note: {{ error.message }} {{ echo }}"
    next: tell
  tell:
    notify: {channel: console, subject: "see corr-42", body: "{{ echo }}"}
    next: hook
  hook:
    notify: {channel: hook, subject: "hook corr-42", body: "{{ echo }}"}
    next: failed
  ok: {end: success}
  failed: {end: escalated}
`

// leakAction is one action per auth type, all sending secret() values in a header, the query and
// the body.
const leakAction = `  %[1]s:
    method: POST
    url: "{{ env('API_URL') }}/things/{{ fail ? 'bad' : 'ok' }}"
    query: {q: "{{ secret('QUERY_SECRET') }}", page: "2"}
    headers: {X-Hdr: "v={{ secret('HDR_SECRET') }}", X-Request-ID: corr-42}
    body: {id: 1, secret: "{{ secret('BODY_SECRET') }}", raw: "x{{ secret('BODY_SECRET') }}y"}
    auth: %[1]s
    outputs: {echo: text}
`

func leakFlowText() string {
	var actions strings.Builder
	for _, a := range []string{"bearer", "basic", "header", "query", "oauth"} {
		fmt.Fprintf(&actions, leakAction, a)
	}
	return fmt.Sprintf(leakFlow, actions.String())
}

// leakServer checks the credentials it gets and echoes the whole request back, in a 200 or, for
// /things/bad, in a 400, so that every secret reaches the response side of traces too.
func leakServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/token" {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"access_token": %q, "token_type": "Bearer", "expires_in": 3600}`, leakToken)
			return
		}
		echo, _ := json.Marshal(map[string]any{"url": r.URL.String(), "headers": r.Header, "body": string(b)})
		w.Header().Set("X-Echo-Auth", r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/bad") {
			w.WriteHeader(400)
		}
		w.Write(echo)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// leakForms is every form a secret may take in output.
func leakForms() map[string]string {
	forms := map[string]string{}
	add := func(name, v string) {
		forms[name+" raw"] = v
		forms[name+" query-escaped"] = url.QueryEscape(v)
		forms[name+" path-escaped"] = url.PathEscape(v)
		j, _ := json.Marshal(v)
		forms[name+" json"] = string(j[1 : len(j)-1])
		j2, _ := json.Marshal(string(j[1 : len(j)-1]))
		forms[name+" json twice"] = string(j2[1 : len(j2)-1])
		forms[name+" base64"] = base64.StdEncoding.EncodeToString([]byte(v))
		var x strings.Builder
		xml.EscapeText(&x, []byte(v))
		forms[name+" xml"] = x.String()
	}
	for k, v := range leakSecrets {
		add(k, v)
	}
	add("token", leakToken)
	forms["basic credential"] = base64.StdEncoding.EncodeToString([]byte("svc-user:" + leakSecrets["API_PASSWORD"]))
	return forms
}

// yamlEscape escapes v for a double-quoted YAML (or .env) string.
func yamlEscape(v string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\t", `\t`).Replace(v)
}

func checkNoLeak(t *testing.T, what, got string) {
	t.Helper()
	for name, form := range leakForms() {
		if strings.Contains(got, form) {
			i := strings.Index(got, form)
			t.Errorf("%s leaks %s (%q) near %q", what, name, form, got[max(0, i-60):min(len(got), i+len(form)+20)])
		}
	}
}

// SPEC §11 Secrets: no secret, credential or token reaches any output of run or test, in any
// encoding; the correlation id beside them stays readable.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	var logged strings.Builder // the log channel's output: the command's stderr
	srv := leakServer(t)
	dir := t.TempDir()
	flow := filepath.Join(dir, "leak.yaml")
	os.WriteFile(flow, []byte(leakFlowText()), 0o600)
	env := []string{"API_URL=" + srv.URL, "API_USER=svc-user", "DEAD_LETTER=" + filepath.Join(dir, "dead-letter.jsonl")}
	for k, v := range leakSecrets {
		env = append(env, k+"="+yamlEscape(v))
	}
	envFile := filepath.Join(dir, "secrets.env")
	var ef strings.Builder
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(&ef, "%s=\"%s\"\n", k, v)
	}
	os.WriteFile(envFile, []byte(ef.String()), 0o600)

	for _, which := range []string{"bearer", "basic", "header", "query", "oauth"} {
		for _, fail := range []string{"false", "true"} {
			for _, output := range []string{"text", "json"} {
				trace := filepath.Join(dir, "trace-"+which+fail+output+".jsonl")
				code, out, errOut := cli(t, "run", flow, "--env-file", envFile, "--clock", "virtual", "--output", output,
					"--trace", trace, "--input", "which="+which, "--input", "fail="+fail)
				want := 0
				if fail == "true" {
					want = 1
				}
				if code != want {
					t.Fatalf("%s fail=%s: exit %d, want %d\n%s%s", which, fail, code, want, out, errOut)
				}
				tr, _ := os.ReadFile(trace)
				what := "run " + which + " fail=" + fail + " --output " + output
				checkNoLeak(t, what+" stdout", out)
				checkNoLeak(t, what+" stderr", errOut)
				logged.WriteString(errOut)
				checkNoLeak(t, what+" trace", string(tr))
				if !strings.Contains(string(tr), "corr-42") {
					t.Errorf("%s: the correlation id beside the secrets was redacted too", what)
				}
			}
		}
	}
	// secret() in a notification's text is a compile error (SPEC §11), which names no value
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte(strings.Replace(leakFlowText(), `subject: "failed corr-42"`, `subject: "failed {{ secret('NOTE_SECRET') }}"`, 1)), 0o600)
	if code, out, errOut := cli(t, "run", bad, "--env-file", envFile, "--input", "which=bearer"); code != 2 || !strings.Contains(errOut, "secret() may appear only where its value goes on the wire") {
		t.Errorf("secret() in a notification: exit %d\n%s%s", code, out, errOut)
	} else {
		checkNoLeak(t, "the compile error", out+errOut)
	}
	dl, _ := os.ReadFile(filepath.Join(dir, "dead-letter.jsonl"))
	if !strings.Contains(string(dl), "corr-42") {
		t.Errorf("no dead letter written")
	}
	checkNoLeak(t, "dead letters", string(dl))
	if !strings.Contains(logged.String(), "see corr-42") {
		t.Errorf("the log channel wrote nothing:\n%s", logged.String())
	}
	checkNoLeak(t, "the log channel", logged.String())

	// archflow test: cases that pass and cases whose failure messages would print secrets on
	// both sides (the expected value spells a secret out; the request carries them all).
	var tf strings.Builder
	fmt.Fprintf(&tf, "flow: leak.yaml\nenv:\n")
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(&tf, "  %s: \"%s\"\n", k, v)
	}
	tf.WriteString("cases:\n")
	for _, which := range []string{"bearer", "basic", "header", "query", "oauth"} {
		fmt.Fprintf(&tf, `  - name: %[1]s passes
    passthrough: true
    inputs: {which: %[1]s}
    expect: {outcome: success}
  - name: %[1]s fails
    passthrough: true
    inputs: {which: %[1]s, fail: true}
    expect:
      outcome: success
      variables: {echo: "no"}
      requests: [{header: {X-Hdr: "v=%[2]s", Authorization: "Bearer %[3]s", X-Partner-Key: "%[4]s"}, url: "%[5]s", body: {secret: "%[6]s"}}]
      notifications: [{channel: deadletter, contains: "%[7]s"}, {channel: console}, {channel: hook}]
`, which, "x"+leakSecrets["HDR_SECRET"], leakSecrets["API_TOKEN"]+"!", leakSecrets["API_KEY"]+"x",
			"http://127.0.0.1:1/?q="+url.QueryEscape(leakSecrets["QUERY_SECRET"]), "y"+yamlEscape(leakSecrets["BODY_SECRET"]),
			leakSecrets["NOTE_SECRET"]+"zz")
	}
	testFile := filepath.Join(dir, "leak.test.yaml")
	os.WriteFile(testFile, []byte(tf.String()), 0o600)
	for _, output := range []string{"text", "json", "github"} {
		junit := filepath.Join(dir, "junit-"+output+".xml")
		code, out, errOut := cli(t, "test", testFile, "--output", output, "--junit", junit, "-v")
		if code != 1 || !strings.Contains(out+errOut, "fails") {
			t.Fatalf("test --output %s: exit %d, want 1 with failing cases\n%s%s", output, code, out, errOut)
		}
		j, _ := os.ReadFile(junit)
		checkNoLeak(t, "test --output "+output+" stdout", out)
		checkNoLeak(t, "test --output "+output+" stderr", errOut)
		checkNoLeak(t, "test --output "+output+" JUnit", string(j))
		if output == "text" && !strings.Contains(out+errOut, "[REDACTED]") {
			t.Errorf("test failure messages show no [REDACTED]:\n%s%s", out, errOut)
		}
	}
}
