package channel_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/archflow/archflow/nodes"
)

// flowWith wraps a channels: section (starting on line 4) in a flow that notifies "c".
func flowWith(channels string) string {
	return "flow: bad\nvariables:\n  v: {type: string, default: x}\n" + channels + `start: n
nodes:
  n:
    notify: {channel: c, subject: s, body: b}
    next: e
  e: {end: success}
`
}

// Mistakes in channel settings are compile errors at file:line:col, all reported together.
func TestChannelCompileErrors(t *testing.T) {
	t.Parallel()
	var many []string
	for i := range 51 {
		many = append(many, fmt.Sprintf("u%d@example.com", i))
	}
	cases := []struct {
		name, channels string
		want           []string
	}{
		{"51 literal recipients", "channels:\n  c:\n    type: email\n    smtp: 127.0.0.1:25\n    from: a@example.com\n    to: [" + strings.Join(many[:40], ", ") + "]\n    cc: [" + strings.Join(many[40:], ", ") + "]\n",
			[]string{"bad.yaml:10:9: error: email channel c has 51 recipients: at most 50 (to and cc together), as Architect"}},
		{"email needs smtp, from, to", "channels:\n  c: {type: email}\n",
			[]string{"bad.yaml:5:6: error: email channel c needs from", "bad.yaml:5:6: error: email channel c needs smtp", "bad.yaml:5:6: error: email channel c needs to"}},
		{"bad literals", "channels:\n  c:\n    type: email\n    smtp: mail.example.com\n    from: not an address\n    to: [ok@example.com, \"bad@\"]\n    starttls: maybe\n    timeout: 10m\n",
			[]string{
				`bad.yaml:7:11: error: smtp: "mail.example.com" is not host:port (e.g. smtp.example.com:587)`,
				`bad.yaml:8:11: error: from: "not an address" is not an email address: no angle-addr`,
				`bad.yaml:9:26: error: to: "bad@" is not an email address: missing '@' or angle-addr`,
				`bad.yaml:10:15: error: starttls: expected true, false or auto, got "maybe"`,
				`bad.yaml:11:14: error: timeout 10m0s is out of range: 1s..5m0s`,
			}},
		{"password in the flow file", "channels:\n  c:\n    type: email\n    smtp: 127.0.0.1:25\n    from: a@example.com\n    to: b@example.com\n    username: u\n    password: hunter22\n",
			[]string{`bad.yaml:11:15: error: password of channel c is written in the flow file: use "{{ secret('NAME') }}" and set NAME in the environment or an --env-file`}},
		{"unknown key", "channels:\n  c: {type: email, smtp: \"127.0.0.1:25\", from: a@example.com, to: b@example.com, starttsl: true}\n",
			[]string{`bad.yaml:5:82: error: unknown key "starttsl" (did you mean "starttls"?)`}},
		{"webhook url and auth", "channels:\n  c: {type: webhook, url: \"ftp://example.com/x\", auth: chat, timeout: 0.5}\n",
			[]string{
				`bad.yaml:5:27: error: url: "ftp://example.com/x" is not an http(s) URL`,
				`bad.yaml:5:56: error: undefined auth "chat" (the flow defines no auth entries)`,
				`bad.yaml:5:71: error: timeout 500ms is out of range: 1s..1m0s`,
			}},
		{"webhook without url", "channels:\n  c: {type: webhook, headers: {X-A: \"{{ nope }}\"}}\n",
			[]string{"bad.yaml:5:6: error: webhook channel c needs url:", `bad.yaml:5:41: error: in expression " nope ": unknown variable "nope"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := nodes.Builtins().Load("bad.yaml", []byte(flowWith(tc.channels)))
			if err == nil {
				t.Fatal("loaded without error")
			}
			got := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("errors:\n%s\nwant a line:\n%s", got, w)
				}
			}
			if n := strings.Count(got, "\n") + 1; n != len(tc.want) {
				t.Errorf("%d errors, want %d:\n%s", n, len(tc.want), got)
			}
		})
	}
}

// A payload-only notify to an email channel sends the payload as the body; a literal
// recipient list at the limit compiles.
func TestChannelCompileOK(t *testing.T) {
	t.Parallel()
	var fifty []string
	for i := range 50 {
		fifty = append(fifty, fmt.Sprintf("u%d@example.com", i))
	}
	src := flowWith("channels:\n  c: {type: email, smtp: \"{{ env('SMTP', '127.0.0.1:25') }}\", from: a@example.com, to: [" + strings.Join(fifty, ", ") + "], starttls: false}\n")
	if _, err := nodes.Builtins().Load("ok.yaml", []byte(src)); err != nil {
		t.Fatal(err)
	}
}
