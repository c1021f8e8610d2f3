package auth_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/archflow/archflow/nodes"
)

func TestStaticCredentials(t *testing.T) {
	t.Parallel()
	token := secret("bearer-token-0123456789")
	password := secret("pa55word-for-basic")
	key := secret("api key/with+special&chars=")
	secret(url.QueryEscape(key)) // as the URL carries it
	secret(base64.StdEncoding.EncodeToString([]byte("svc-user:" + password)))

	var mu sync.Mutex
	var got *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.Clone(r.Context())
		mu.Unlock()
		// echo every credential back, as careless APIs do
		json.NewEncoder(w).Encode(map[string]any{"headers": r.Header, "query": r.URL.RawQuery})
	}))
	defer srv.Close()
	env := map[string]string{"API_URL": srv.URL, "API_TOKEN": token, "API_USER": "svc-user", "API_PASSWORD": password, "API_KEY": key}
	f := load(t, oauthDir+"static.yaml")

	tests := []struct {
		which string
		check func(r *http.Request) bool
	}{
		{"bearer", func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer "+token }},
		{"basic", func(r *http.Request) bool { u, p, ok := r.BasicAuth(); return ok && u == "svc-user" && p == password }},
		{"header", func(r *http.Request) bool { return r.Header.Get("X-Api-Key") == key }},
		{"custom", func(r *http.Request) bool { return r.Header.Get("X-Partner-Key") == key }},
		{"query", func(r *http.Request) bool {
			return r.URL.Query().Get("api_key") == key && r.URL.Query().Get("page") == "2" && r.Header.Get("Authorization") == ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.which, func(t *testing.T) {
			res := runOne(t, f, env, map[string]any{"which": tt.which})
			if res.Outcome != "success" {
				t.Fatalf("outcome %s", res.Outcome)
			}
			mu.Lock()
			r := got
			mu.Unlock()
			if !tt.check(r) {
				t.Errorf("the API did not get the %s credential: headers %v, query %q", tt.which, r.Header, r.URL.RawQuery)
			}
			b, _ := json.Marshal(res)
			for _, s := range []string{token, password, key, strings.ReplaceAll(key, " ", "+")} {
				if strings.Contains(string(b), s) {
					t.Errorf("result holds %q: %s", s, b)
				}
			}
		})
	}
}

func TestStaticCredentialMissingBeforeStart(t *testing.T) {
	t.Parallel()
	f := load(t, oauthDir+"static.yaml")
	errs := f.CheckEnv(func(name string) (string, bool) {
		if name == "API_PASSWORD" {
			return "", false
		}
		return "x", true
	})
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "static.yaml:8:") || !strings.Contains(errs[0].Error(), "secret API_PASSWORD is not set") {
		t.Errorf("CheckEnv = %v, want one error naming static.yaml:8 and secret API_PASSWORD", errs)
	}
}

func TestAuthCompileErrors(t *testing.T) {
	t.Parallel()
	_, err := nodes.Builtins().LoadFile(oauthDir + "invalid.yaml")
	if err == nil {
		t.Fatal("invalid.yaml loaded without errors")
	}
	got := err.Error()
	for _, w := range []string{
		"invalid.yaml:3:6: error: oauth2_client_credentials auth a needs token_url:",
		`invalid.yaml:4:31: error: unknown key "tokn" (did you mean "token"?)`,
		"invalid.yaml:5:44: error: auth c takes header: or query:, not both",
		"invalid.yaml:6:6: error: auth d needs header: (a header name) or query: (a query parameter name)",
		"invalid.yaml:7:115: error: scopes expects a list, like [read, write]",
		`invalid.yaml:7:133: error: unknown auth_style "cookie" (one of auto, header, params)`,
		`invalid.yaml:8:13: error: unknown auth type "kerberos" (one of api_key, basic, bearer, oauth2_client_credentials)`,
		"invalid.yaml:9:6: error: basic auth g needs password:",
		`invalid.yaml:10:30: error: auth h: "Bad Header" is not a valid header name`,
		`invalid.yaml:12:43: error: undefined auth "missing"`,
	} {
		if !strings.Contains(got, w) {
			t.Errorf("errors lack %q", w)
		}
	}
	if t.Failed() {
		t.Logf("errors:\n%s", got)
	}
}

func TestCredentialInFlowFileWarned(t *testing.T) {
	t.Parallel()
	f, _ := nodes.Builtins().LoadFile(oauthDir + "invalid.yaml")
	var got []string
	for _, w := range f.Diagnostics.Warnings() {
		if w.Rule == "secret-in-flow" {
			got = append(got, w.Error())
		}
	}
	want := []string{
		`invalid.yaml:3:69: warning: auth a: client_secret is written in the flow file, where anyone who reads the flow can see it [secret-in-flow] (hint: take it from the environment or an --env-file: "{{ secret('NAME') }}")`,
		"invalid.yaml:4:28: warning: auth b: token is written in the flow file",
		"invalid.yaml:5:56: warning: auth c: value is written in the flow file",
		"invalid.yaml:6:29: warning: auth d: value is written in the flow file",
		"invalid.yaml:7:104: warning: auth e: client_secret is written in the flow file",
		"invalid.yaml:10:51: warning: auth h: value is written in the flow file",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d secret-in-flow warnings, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.Contains(got[i], want[i]) {
			t.Errorf("warning %d = %s\nwant it to contain %s", i+1, got[i], want[i])
		}
	}
	// a credential from secret() or env() is not warned of
	g, err := nodes.Builtins().LoadFile(oauthDir + "static.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range g.Diagnostics.Warnings() {
		if w.Rule == "secret-in-flow" {
			t.Errorf("static.yaml: %s", w)
		}
	}
}
