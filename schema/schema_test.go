package schema_test

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/archflow/archflow/engine/yamldoc"
	"github.com/archflow/archflow/nodes"
	"github.com/archflow/archflow/schema"
	"github.com/archflow/archflow/schema/check"
)

func TestSchemasAreJSON(t *testing.T) {
	t.Parallel()
	for _, k := range schema.Kinds {
		data, err := schema.Get(nodes.Builtins(), k)
		if err != nil {
			t.Fatalf("no %s schema", k)
		}
		var v map[string]any
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatalf("%s schema: %v", k, err)
		}
		if v["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
			t.Errorf("%s schema: $schema is %v", k, v["$schema"])
		}
	}
	// an empty document of each kind compiles the schemas and fails on required keys only
	if errs := validateYAML(t, schema.KindFlow, "x.yaml", []byte("flow: x\n")); len(errs) == 0 {
		t.Error("a flow with no nodes passed")
	}
}

// everyDescribed checks that each property of the schema has a description: editors show them.
func TestEveryPropertyDescribed(t *testing.T) {
	t.Parallel()
	for _, k := range schema.Kinds {
		data, _ := schema.Get(nodes.Builtins(), k)
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatal(err)
		}
		var walk func(path string, v any)
		walk = func(path string, v any) {
			switch x := v.(type) {
			case map[string]any:
				if props, ok := x["properties"].(map[string]any); ok {
					for name, p := range props {
						pm, ok := p.(map[string]any)
						if !ok {
							continue // true: described where the kind's own schema is
						}
						_, d := pm["description"]
						_, ref := pm["$ref"]
						if !d && !ref {
							t.Errorf("%s schema: %s/properties/%s has no description", k, path, name)
						}
					}
				}
				for key, c := range x {
					if key != "if" { // conditions are not shown
						walk(path+"/"+key, c)
					}
				}
			case []any:
				for i, c := range x {
					walk(path+"/"+string(rune('0'+i)), c)
				}
			}
		}
		walk("#", v)
	}
}

// TestFilesConform validates the example flows and tests, and the fixtures under testdata/
// that the compiler accepts (a fixture that is meant to be broken needs no special name), and
// test files under testdata/ whose names do not say "invalid" or "bad".
func TestFilesConform(t *testing.T) {
	t.Parallel()
	var files []string
	for _, root := range []string{"../flows", "../testdata", "testdata"} {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
				files = append(files, p)
			}
			return nil
		})
	}
	checked := 0
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		kind, ok := kindOf(p, data)
		if !ok {
			continue // a mock, cassette or include file: no schema of its own
		}
		fixture := !strings.HasPrefix(p, "../flows")
		base := strings.ToLower(filepath.Base(p))
		if fixture && (strings.Contains(base, "invalid") || strings.Contains(base, "bad")) {
			continue
		}
		if fixture && kind == schema.KindFlow {
			if _, err := nodes.Builtins().Load(p, data); err != nil {
				continue // the compiler rejects it: a deliberately broken fixture
			}
		}
		checked++
		for _, e := range validateYAML(t, kind, p, data) {
			t.Errorf("%v", e)
		}
	}
	if checked == 0 {
		t.Fatal("no file checked")
	}
	t.Logf("%d files conform", checked)
}

// kindOf tells flow files from test files by their top-level keys.
func kindOf(path string, data []byte) (string, bool) {
	var top map[string]any
	if yaml.Unmarshal(data, &top) != nil {
		return "", false
	}
	switch {
	case strings.HasSuffix(path, ".test.yaml") || strings.HasSuffix(path, ".test.yml"):
		return schema.KindTest, true
	case top["cases"] != nil:
		return schema.KindTest, true
	case top["nodes"] != nil && top["flow"] != nil:
		return schema.KindFlow, true
	}
	return "", false
}

const goodFlow = `flow: t
variables:
  n: {type: integer, default: 0}
  id: {type: string, input: true, required: true}
  code: {type: integer, output: true}
actions:
  push:
    method: post
    url: "http://127.0.0.1:1/x"
    body: {id: "{{ id }}"}
    timeout: 5
    success: {operator: and, operands: [{field: status, op: "<", value: 300}]}
    outputs: {code: status}
    transient_statuses: [503]
    max_body_size: 1024
auth:
  k: {type: api_key, header: X-Key, value: "{{ env('K', 'x') }}"}
  o: {type: oauth2_client_credentials, token_url: "http://127.0.0.1:1/t", client_id: a, client_secret: b, scopes: [r], auth_style: header}
channels:
  log: {type: log}
  dl: {type: file, path: dl.jsonl}
  hook: {type: webhook, url: "http://127.0.0.1:1/h", headers: {X-A: b}, auth: k, timeout: 5s}
  mail: {type: email, smtp: "127.0.0.1:1025", from: a@example.com, to: b@example.com, starttls: auto}
start: a
on_error: tell
nodes:
  a:
    assign: {n: 1, id: "{{ id }}"}
    next: call
  call:
    description: calls push
    data_action: push
    retry:
      max_attempts: 4
      retry_on: [transient, 429, 5xx, timeout]
      backoff: {schedule: [1s, 2], jitter: full}
      retry_after: {mode: floor, max: 15m}
      max_elapsed: 1h
    idempotency_key: "{{ id }}"
    next: pick
    on_failure: tell
    on_timeout: tell
  pick:
    decision:
      - when: n > 3
        next: pause
      - when: {field: n, op: in, value: [1, 2]}
        next: pause
      - when: {operator: NOT, operands: [{operator: OR, operands: [{field: n, op: "==", value: "{{ n }}"}]}]}
        next: pause
    default: pause
  pause:
    wait: {for: 1m30s, max: 1h, trim: true}
    next: pause2
  pause2:
    wait: 2.5
    next: tell
  tell:
    notify: {channel: log, subject: "id {{ id }}", payload: {a: 1}}
    next: done
    on_failure: done
  done: {end: escalated}
`

// TestAgreesWithCompiler runs snippets through both the compiler and the schema: both must
// accept the good ones and reject the bad ones, the schema at the expected line and column.
func TestAgreesWithCompiler(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		from, to string // replace from with to in goodFlow; "" keeps it as is
		line     int    // 0: valid
		col      int
		msg      string
	}{
		{name: "good"},
		{name: "retry with no settings", from: "    retry:\n      max_attempts: 4\n      retry_on: [transient, 429, 5xx, timeout]\n      backoff: {schedule: [1s, 2], jitter: full}\n      retry_after: {mode: floor, max: 15m}\n      max_elapsed: 1h\n", to: "    retry:\n"},
		{name: "unknown top key", from: "start: a\n", to: "start: a\nstrat: b\n", line: 25, col: 1, msg: `unknown key "strat" (did you mean "start"?)`},
		{name: "unknown node key", from: "    next: pause2\n", to: "    next: pause2\n    nxet: a\n", line: 55, col: 5, msg: `unknown key "nxet" (did you mean "next"?)`},
		{name: "two kinds", from: "    next: pause2\n", to: "    next: pause2\n    end: x\n", line: 55, col: 5, msg: `"wait" and "end" cannot be given together`},
		{name: "no kind", from: "  done: {end: escalated}", to: "  done: {next: a}", line: 62, col: 9, msg: `needs one of "assign", "data_action", "decision", "wait", "notify", "end"`},
		{name: "bad type", from: "n: {type: integer", to: "n: {type: int", line: 3, col: 13, msg: `"int" is not one of "string", "integer"`},
		{name: "required without input", from: "input: true, required: true", to: "required: true", line: 4, col: 7, msg: `missing key "input"`},
		{name: "bad node name", from: "  pause2:\n", to: "  pause-2:\n", line: 55, col: 3, msg: `name "pause-2" must match`},
		{name: "bad flow name", from: "flow: t", to: "flow: a b", line: 1, col: 7, msg: `"a b" does not match`},
		{name: "bad method", from: "method: post", to: "method: FETCH", line: 8, col: 13, msg: `"FETCH" is not one of "GET"`},
		{name: "missing url", from: "    url: \"http://127.0.0.1:1/x\"\n", to: "", line: 8, col: 5, msg: `missing key "url"`},
		{name: "timeout too short", from: "timeout: 5\n", to: "timeout: 0.5\n", line: 11, col: 14, msg: "0.5 is less than the minimum, 1"},
		{name: "bad status", from: "transient_statuses: [503]", to: "transient_statuses: [53]", line: 14, col: 26, msg: "53 is less than the minimum, 100"},
		{name: "decision without default", from: "    default: pause\n", to: "", line: 44, col: 5, msg: `missing key "default"`},
		{name: "case without next", from: "      - when: n > 3\n        next: pause\n", to: "      - when: n > 3\n", line: 45, col: 9, msg: `missing key "next"`},
		{name: "bad op", from: `op: in`, to: `op: "=~"`, line: 47, col: 30, msg: `"=~" is not one of "=="`},
		{name: "bad operator", from: "operator: NOT", to: "operator: XOR", line: 49, col: 26, msg: `"XOR" is not one of "AND"`},
		{name: "wait for and until", from: "wait: {for: 1m30s,", to: "wait: {for: 1m30s, until: \"2030-01-01T00:00:00Z\",", line: 53, col: 24, msg: `"for" and "until" cannot be given together`},
		{name: "wait neither", from: "wait: {for: 1m30s,", to: "wait: {", line: 53, col: 11, msg: `needs one of "for", "until"`},
		{name: "wait a list", from: "wait: 2.5", to: "wait: [2.5]", line: 56, col: 11, msg: "expected a number, a string or a mapping, got a list"},
		{name: "bad jitter", from: "jitter: full", to: "jitter: some", line: 36, col: 44, msg: `"some" is not one of "none"`},
		{name: "schedule and initial", from: "{schedule: [1s, 2], jitter: full}", to: "{schedule: [1s, 2], initial: 1s}", line: 36, col: 36, msg: `unknown key "initial"`},
		{name: "too many attempts", from: "max_attempts: 4", to: "max_attempts: 101", line: 34, col: 21, msg: "101 is more than the maximum, 100"},
		{name: "bad retry_on", from: "retry_on: [transient,", to: "retry_on: [sometimes,", line: 35, col: 18, msg: `"sometimes" is not one of "transient"`},
		{name: "notify with nothing to say", from: `notify: {channel: log, subject: "id {{ id }}", payload: {a: 1}}`, to: `notify: {channel: log}`, line: 59, col: 13, msg: `needs one of "subject", "body", "payload"`},
		{name: "unknown auth type", from: "type: api_key", to: "type: apikey", line: 17, col: 13, msg: `"apikey" is not one of`},
		{name: "api key header and query", from: "header: X-Key,", to: "header: X-Key, query: k,", line: 17, col: 37, msg: `"header" and "query" cannot be given together`},
		{name: "oauth2 without secret", from: "client_id: a, client_secret: b,", to: "client_id: a,", line: 18, col: 6, msg: `missing key "client_secret"`},
		{name: "unknown channel key", from: "dl: {type: file, path: dl.jsonl}", to: "dl: {type: file, paht: dl.jsonl}", line: 21, col: 20, msg: `unknown key "paht" (did you mean "path"?)`},
		{name: "email password without username", from: "starttls: auto}", to: "starttls: auto, password: \"{{ secret('P') }}\"}", line: 23, col: 103, msg: `"password" needs "username" too`},
		{name: "end with no outcome", from: "done: {end: escalated}", to: "done: {end: \"\"}", line: 62, col: 15, msg: `"" is not one of "success"`},
		{name: "assign nothing", from: "assign: {n: 1, id: \"{{ id }}\"}", to: "assign: {}", line: 28, col: 13, msg: "needs at least 1 entry"},
		{name: "retry on a wait", from: "    next: pause2\n", to: "    next: pause2\n    retry: {}\n", line: 55, col: 5, msg: `unknown key "retry"`},
		{name: "data_action without on_failure", from: "    on_failure: tell\n    on_timeout", to: "    on_timeout", line: 31, col: 5, msg: `missing key "on_failure"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := goodFlow
			if tc.from != "" {
				if !strings.Contains(src, tc.from) {
					t.Fatalf("%q not in the flow", tc.from)
				}
				src = strings.Replace(src, tc.from, tc.to, 1)
			}
			_, cerr := nodes.Builtins().Load("t.yaml", []byte(src))
			errs := validateYAML(t, schema.KindFlow, "t.yaml", []byte(src))
			if tc.line == 0 {
				if cerr != nil {
					t.Errorf("compiler: %v", cerr)
				}
				for _, e := range errs {
					t.Errorf("schema: %v", e)
				}
				return
			}
			if cerr == nil {
				t.Errorf("the compiler accepts what the schema should reject")
			}
			if len(errs) == 0 {
				t.Fatalf("schema: no error, want %d:%d: %s", tc.line, tc.col, tc.msg)
			}
			for _, e := range errs {
				if e.Pos.Line == tc.line && e.Pos.Col == tc.col && strings.Contains(e.Msg, tc.msg) {
					return
				}
			}
			t.Errorf("schema: want t.yaml:%d:%d: ...%s..., got\n%v", tc.line, tc.col, tc.msg, errs)
		})
	}
}

const goodTest = `flow: t.yaml
cases:
  - name: recovers
    inputs: {id: A-1}
    env: {K: v}
    clock: {start: 2000-01-01T00:00:00Z}
    tags: [smoke]
    snapshot: true
    http:
      push:
        - {status: 503, headers: {Retry-After: "7"}, body: {success: false}, times: 2, delay: 1s}
        - {error: timeout}
        - {status: 200, body: {success: true}}
      auth.o:
        responses: [{status: 200, body: {access_token: x}}]
        on_exhausted: repeat_last
    expect:
      outcome: success
      path: [a, call, done]
      not_visited: [tell]
      variables: {n: 1, code: null}
      outputs: {code: 200}
      calls: {push: 3}
      waits: [30s, 60]
      notifications: [{channel: log, contains: "id"}]
      requests: [{method: POST, url: "http://*", headers: {Idempotency-Key: A-1}, body: {id: A-1}}]
      error: {class: permanent, kind: http}
  - name: by match
    passthrough: false
    cassette: c.jsonl
    http:
      - match: {action: push, method: POST, url: "http://127.0.0.1:*/x", node: call}
        responses: [{status: 500}]
        on_exhausted: fail
    expect: {path_contains: [call], notifications: [], error: "boom"}
`

func TestTestSchema(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		from, to string
		line     int
		col      int
		msg      string
	}{
		{name: "good"},
		{name: "unknown case key", from: "    tags: [smoke]\n", to: "    tag: [smoke]\n", line: 7, col: 5, msg: `unknown key "tag" (did you mean "tags"?)`},
		{name: "bad scripted error", from: "{error: timeout}", to: "{error: refused}", line: 12, col: 19, msg: `"refused" is not one of "timeout", "connection_reset", "dns"`},
		{name: "bad status", from: "{status: 500}", to: "{status: \"500\"}", line: 33, col: 30, msg: "expected an integer, got a string"},
		{name: "bad on_exhausted", from: "on_exhausted: repeat_last", to: "on_exhausted: repeat", line: 16, col: 23, msg: `"repeat" is not one of "fail", "repeat_last"`},
		{name: "bad match key", from: "node: call}", to: "nod: call}", line: 32, col: 74, msg: `unknown key "nod" (did you mean "node"?)`},
		{name: "path and path_contains", from: "expect: {path_contains: [call],", to: "expect: {path: [a], path_contains: [call],", line: 35, col: 13, msg: `"path" and "path_contains" cannot be given together`},
		{name: "bad clock", from: "2000-01-01T00:00:00Z", to: "yesterday", line: 6, col: 20, msg: `"yesterday" does not match`},
		{name: "unknown expect key", from: "      outcome: success\n", to: "      outcomes: success\n", line: 18, col: 7, msg: `unknown key "outcomes" (did you mean "outcome"?)`},
		{name: "negative calls", from: "calls: {push: 3}", to: "calls: {push: -1}", line: 23, col: 21, msg: "-1 is less than the minimum, 0"},
		{name: "case without name", from: "  - name: by match\n    passthrough: false\n", to: "  - passthrough: true\n", line: 28, col: 5, msg: `missing key "name"`},
		{name: "error with a status", from: "{error: timeout}", to: "{error: timeout, status: 200}", line: 12, col: 28, msg: `"status" is not allowed here`},
		{name: "no responses", from: "responses: [{status: 500}]", to: "responses: []", line: 33, col: 20, msg: "needs at least 1 item(s), got 0"},
		{name: "response times zero", from: "times: 2", to: "times: 0", line: 11, col: 85, msg: "0 is less than the minimum, 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := goodTest
			if tc.from != "" {
				if !strings.Contains(src, tc.from) {
					t.Fatalf("%q not in the test", tc.from)
				}
				src = strings.Replace(src, tc.from, tc.to, 1)
			}
			errs := validateYAML(t, schema.KindTest, "t.test.yaml", []byte(src))
			if tc.line == 0 {
				for _, e := range errs {
					t.Errorf("schema: %v", e)
				}
				return
			}
			for _, e := range errs {
				if e.Pos.Line == tc.line && e.Pos.Col == tc.col && strings.Contains(e.Msg, tc.msg) {
					return
				}
			}
			t.Errorf("want t.test.yaml:%d:%d: ...%s..., got\n%v", tc.line, tc.col, tc.msg, errs)
		})
	}
}

func TestValidateYAMLErrors(t *testing.T) {
	t.Parallel()
	errs := validateYAML(t, schema.KindFlow, "f.yaml", []byte("flow: [\n"))
	if len(errs) != 1 || errs[0].Pos.File != "f.yaml" || !strings.Contains(errs[0].Msg, "invalid YAML") {
		t.Errorf("syntax error: got %v", errs)
	}
	errs = validateYAML(t, "nope", "f.yaml", []byte("flow: x\n"))
	if len(errs) != 1 || !strings.Contains(errs[0].Msg, `unknown schema "nope"`) {
		t.Errorf("unknown kind: got %v", errs)
	}
	errs = validateYAML(t, schema.KindFlow, "f.yaml", []byte("flow: x\nflow: y\nstart: a\nnodes: {a: {end: success}}\n"))
	if len(errs) != 1 || errs[0].Error() != `f.yaml:2:1: error: duplicate key "flow"` {
		t.Errorf("duplicate key: got %v", errs)
	}
	// the rest of a file with a duplicate key is still checked, errors in line order
	errs = validateYAML(t, schema.KindFlow, "f.yaml", []byte("flow: x\nflow: y\nstart: a\nnodes: {a: {ned: success}}\n"))
	if len(errs) != 2 || errs[0].Pos.Line != 2 || !strings.Contains(errs[1].Msg, `needs one of "assign"`) {
		t.Errorf("duplicate key and more: got %v", errs)
	}
	// anchors and aliases are followed
	src := "flow: x\nstart: a\nnodes:\n  a: &e {end: success}\n  b: *e\n"
	if errs := validateYAML(t, schema.KindFlow, "f.yaml", []byte(src)); len(errs) != 0 {
		t.Errorf("aliases: got %v", errs)
	}
}

// TestSchemaKeysKnownToCompiler checks every key the flow schema allows against the compiler:
// none may be an unknown key there, and the node kinds, channel types and auth types are the
// ones registered. It catches a key renamed or dropped in the compiler but not in the schema.
func TestSchemaKeysKnownToCompiler(t *testing.T) {
	t.Parallel()
	var raw map[string]any
	if err := json.Unmarshal(schema.FlowFile, &raw); err != nil {
		t.Fatal(err)
	}
	defs := raw["$defs"].(map[string]any)
	props := func(v any) []string {
		m, _ := v.(map[string]any)["properties"].(map[string]any)
		var keys []string
		for k := range m {
			keys = append(keys, k)
		}
		return keys
	}
	const head = "flow: t\nvariables: {v: {type: integer}}\nactions: {act: {url: x}}\nstart: a\nnodes:\n  z: {end: success}\n"
	// each snippet holds KEY where the key goes, with the value x
	checks := []struct {
		where   string
		keys    []string
		snippet string
	}{
		{"top level", props(raw), "flow: t\nstart: z\nnodes: {z: {end: success}}\nKEY: x\n"},
		{"variable", props(defs["variable"]), "flow: t\nvariables: {w: {type: string, KEY: x}}\nstart: z\nnodes: {z: {end: success}}\n"},
		{"action", props(defs["action"]), "flow: t\nactions: {b: {url: x, KEY: x}}\nstart: z\nnodes: {z: {end: success}}\n"},
		{"retry", props(defs["retry"]), head + "  a: {data_action: act, next: z, on_failure: z, retry: {KEY: x}}\n"},
		{"backoff", props(defs["retry"].(map[string]any)["properties"].(map[string]any)["backoff"].(map[string]any)["anyOf"].([]any)[0]), head + "  a: {data_action: act, next: z, on_failure: z, retry: {backoff: {KEY: x}}}\n"},
		{"retry_after", props(defs["retry"].(map[string]any)["properties"].(map[string]any)["retry_after"]), head + "  a: {data_action: act, next: z, on_failure: z, retry: {retry_after: {KEY: x}}}\n"},
		{"decision case", []string{"when", "next"}, head + "  a: {decision: [{when: \"true\", next: z, KEY: x}], default: z}\n"},
		{"structured", props(defs["structured"]), head + "  a: {decision: [{when: {operator: AND, operands: [{field: v, op: \"==\", value: 1}], KEY: x}, next: z}], default: z}\n"},
		{"operand", props(defs["operand"]), head + "  a: {decision: [{when: {field: v, op: \"==\", value: 1, KEY: x}, next: z}], default: z}\n"},
		{"notify", props(defs["notifyNode"].(map[string]any)["properties"].(map[string]any)["notify"]), "flow: t\nchannels: {c: {type: log}}\nstart: a\nnodes:\n  z: {end: success}\n  a: {notify: {channel: c, body: x, KEY: x}, next: z}\n"},
		{"wait", props(defs["waitNode"].(map[string]any)["properties"].(map[string]any)["wait"].(map[string]any)["anyOf"].([]any)[2]), head + "  a: {wait: {for: 1, KEY: x}, next: z}\n"},
	}
	for _, kind := range nodes.Builtins().KindNames() {
		def := map[string]string{"assign": "assignNode", "data_action": "dataActionNode", "decision": "decisionNode", "wait": "waitNode", "notify": "notifyNode", "end": "endNode"}[kind]
		if def == "" {
			t.Errorf("node kind %s is registered but not in the schema", kind)
			continue
		}
		for _, k := range props(defs[def]) {
			if k == kind {
				continue
			}
			checks = append(checks, struct {
				where   string
				keys    []string
				snippet string
			}{kind + " node", []string{k}, head + "  a: {" + kind + ": x, KEY: x}\n"})
		}
	}
	for name, def := range map[string]string{"email": "channelEmail", "webhook": "channelWebhook", "file": "channelFile", "log": "channelLog"} {
		checks = append(checks, struct {
			where   string
			keys    []string
			snippet string
		}{name + " channel", props(defs[def]), "flow: t\nchannels: {c: {type: " + name + ", KEY: x}}\nstart: z\nnodes: {z: {end: success}}\n"})
	}
	for name, def := range map[string]string{"oauth2_client_credentials": "authOauth2ClientCredentials", "bearer": "authBearer", "basic": "authBasic", "api_key": "authApiKey"} {
		checks = append(checks, struct {
			where   string
			keys    []string
			snippet string
		}{name + " auth", props(defs[def]), "flow: t\nauth: {c: {type: " + name + ", KEY: x}}\nstart: z\nnodes: {z: {end: success}}\n"})
	}
	for _, c := range checks {
		if len(c.keys) == 0 {
			t.Errorf("%s: no keys in the schema", c.where)
		}
		for _, k := range c.keys {
			if k == "type" && strings.HasSuffix(c.where, "channel") || k == "type" && strings.HasSuffix(c.where, "auth") {
				continue
			}
			src := strings.Replace(c.snippet, "KEY", k, 1)
			_, err := nodes.Builtins().Load("t.yaml", []byte(src))
			if err != nil && strings.Contains(err.Error(), fmt.Sprintf("unknown key %q", k)) {
				t.Errorf("%s: the schema allows %q, the compiler does not:\n%s", c.where, k, err)
			}
		}
	}
	// the types the compiler knows are the schema's
	for _, tc := range []struct{ snippet, def string }{
		{"flow: t\nchannels: {c: {type: zzz}}\nstart: z\nnodes: {z: {end: success}}\n", "channel"},
		{"flow: t\nauth: {c: {type: zzz}}\nstart: z\nnodes: {z: {end: success}}\n", "auth"},
	} {
		_, err := nodes.Builtins().Load("t.yaml", []byte(tc.snippet))
		if err == nil {
			t.Fatalf("type zzz accepted")
		}
		_, list, _ := strings.Cut(err.Error(), "(one of ")
		list, _, _ = strings.Cut(list, ")")
		var want []string
		for _, v := range defs[tc.def].(map[string]any)["properties"].(map[string]any)["type"].(map[string]any)["enum"].([]any) {
			want = append(want, v.(string))
		}
		got := strings.Split(list, ", ")
		sort.Strings(got)
		sort.Strings(want)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s types: the compiler knows %v, the schema %v", tc.def, got, want)
		}
	}
}

// validateYAML checks a document against the schemas of archflow's built-in components.
func validateYAML(t *testing.T, kind, file string, data []byte) yamldoc.ErrorList {
	t.Helper()
	v, err := check.NewValidator(nodes.Builtins())
	if err != nil {
		t.Fatal(err)
	}
	return v.ValidateYAML(kind, file, data)
}
