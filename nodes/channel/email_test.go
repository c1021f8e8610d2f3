package channel_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/nodes"
)

// parsed is a received message as a mail reader shows it.
type parsed struct {
	Header  mail.Header
	Subject string
	Body    string
}

func parseMail(t *testing.T, data []byte) parsed {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("message does not parse: %v\n%s", err, data)
	}
	subj, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("subject %q does not decode: %v", m.Header.Get("Subject"), err)
	}
	if cte := m.Header.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
		t.Fatalf("Content-Transfer-Encoding = %q", cte)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	if err != nil {
		t.Fatalf("body does not decode: %v", err)
	}
	// the message ends with a line break, as every SMTP message does
	return parsed{Header: m.Header, Subject: subj, Body: strings.TrimSuffix(strings.ReplaceAll(string(body), "\r\n", "\n"), "\n")}
}

// The seed's escalation, sent by email: 4 calls against an ERP answering 503, waits of 30, 60
// and 120 s on the virtual clock, then one email with the correlation id and error fields.
func TestEscalationEmailArrives(t *testing.T) {
	t.Parallel()
	api := erp(t)
	box := startSMTP(t, mailOpts{})
	res := run(t, context.Background(), "escalation-email.yaml",
		map[string]string{"ERP_URL": api.URL, "SMTP_ADDR": box.Addr}, map[string]any{"order_id": "A-1001", "amount": 42}, nil)

	if res.Outcome != "escalated" {
		t.Fatalf("outcome = %q, want escalated\n%s", res.Outcome, asJSON(res))
	}
	if res.Calls["push_order"] != 4 || len(res.Waits) != 3 || res.Waits[0] != 30 || res.Waits[1] != 60 || res.Waits[2] != 120 {
		t.Errorf("calls %v waits %v, want 4 calls and waits [30 60 120]", res.Calls, res.Waits)
	}
	if res.Ended.Sub(res.Started) < 210*time.Second {
		t.Errorf("virtual time passed = %s, want at least 210s", res.Ended.Sub(res.Started))
	}
	msgs := box.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages arrived, want 1", len(msgs))
	}
	got := msgs[0]
	if got.From != "archflow@example.com" || strings.Join(got.To, ",") != "oncall@example.com,lead@example.com" {
		t.Errorf("envelope from %q to %v", got.From, got.To)
	}
	t.Logf("received:\n%s", got.Data)
	m := parseMail(t, got.Data)
	reqID, _ := res.Variables["request_id"].(string)
	if len(reqID) != 36 {
		t.Fatalf("request_id = %q, want a UUID", res.Variables["request_id"])
	}
	if want := "CRITICAL: Data Action Retry Exhausted for " + reqID; m.Subject != want {
		t.Errorf("subject = %q\nwant      %q", m.Subject, want)
	}
	wantBody := "The integration failed after 4 attempts.\nError Code: SERVICE_UNAVAILABLE\nMessage: ERP is down for maintenance"
	if m.Body != wantBody {
		t.Errorf("body =\n%s\nwant\n%s", m.Body, wantBody)
	}
	h := m.Header
	if h.Get("From") != `"archflow" <archflow@example.com>` || h.Get("To") != "<oncall@example.com>" || h.Get("Cc") != "<lead@example.com>" {
		t.Errorf("From %q To %q Cc %q", h.Get("From"), h.Get("To"), h.Get("Cc"))
	}
	if d, err := h.Date(); err != nil || time.Since(d) > time.Minute || time.Since(d) < -time.Minute {
		t.Errorf("Date %q (%v): want the wall-clock time of sending", h.Get("Date"), err)
	}
	if !regexp.MustCompile(`^<[0-9a-f-]{36}@example\.com>$`).MatchString(h.Get("Message-ID")) {
		t.Errorf("Message-ID = %q", h.Get("Message-ID"))
	}
	if h.Get("MIME-Version") != "1.0" || h.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("MIME-Version %q Content-Type %q", h.Get("MIME-Version"), h.Get("Content-Type"))
	}
	if h.Get("X-Archflow-Instance") != res.Instance || h.Get("X-Archflow-Node") != "escalate" {
		t.Errorf("X-Archflow-Instance %q (instance %s), X-Archflow-Node %q", h.Get("X-Archflow-Instance"), res.Instance, h.Get("X-Archflow-Node"))
	}
	if len(res.Notifications) != 0 {
		t.Errorf("a delivered notification is not kept as undelivered: %s", asJSON(res.Notifications))
	}
}

// STARTTLS with a certificate the flow trusts through tls_ca_file, then AUTH PLAIN; a
// non-ASCII subject is sent as an encoded word and reads back the same.
func TestEmailStartTLSAndAuth(t *testing.T) {
	t.Parallel()
	cert, ca := selfSigned(t)
	box := startSMTP(t, mailOpts{user: "archflow", pass: "s3cret-pass", cert: &cert})
	env := map[string]string{"SMTP_ADDR": box.Addr, "SMTP_USER": "archflow", "SMTP_PASS": "s3cret-pass", "SMTP_CA": ca}
	res := run(t, context.Background(), "email-direct.yaml", env, nil, nil)
	if res.Outcome != "success" {
		t.Fatalf("outcome = %q, want success\n%s", res.Outcome, asJSON(res))
	}
	msgs := box.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	if !msgs[0].TLS || msgs[0].AuthUser != "archflow" {
		t.Errorf("message sent with TLS=%v as %q, want TLS as archflow", msgs[0].TLS, msgs[0].AuthUser)
	}
	raw := string(msgs[0].Data)
	if strings.Contains(raw, "Ünïcode") {
		t.Errorf("non-ASCII subject sent raw, want an encoded word:\n%s", raw)
	}
	m := parseMail(t, msgs[0].Data)
	if m.Subject != "Ünïcode ✓ escalation for ORD-7" || m.Body != "Line one\nLine two: ça marche" {
		t.Errorf("subject %q body %q", m.Subject, m.Body)
	}
	if h := m.Header.Get("From"); h != `"Archflow Bot" <archflow@example.com>` {
		t.Errorf("From = %q", h)
	}
}

// Failures of the TLS and AUTH path: each ends the instance with outcome error (no
// on_failure), keeps the notification with the reason, and never shows the password.
func TestEmailTLSAndAuthFailures(t *testing.T) {
	t.Parallel()
	cert, ca := selfSigned(t)
	secure := startSMTP(t, mailOpts{user: "archflow", pass: "s3cret-pass", cert: &cert})
	plain := startSMTP(t, mailOpts{})
	many := strings.Repeat("x@example.com, ", 50) + "y@example.com"
	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"wrong password", map[string]string{"SMTP_ADDR": secure.Addr, "SMTP_USER": "archflow", "SMTP_PASS": "wrong-pass", "SMTP_CA": ca},
			"AUTH: 535 5.7.8 Authentication credentials invalid"},
		{"untrusted certificate", map[string]string{"SMTP_ADDR": secure.Addr, "SMTP_USER": "archflow", "SMTP_PASS": "s3cret-pass"},
			"STARTTLS: tls: failed to verify certificate: x509: certificate signed by unknown authority"},
		{"server without STARTTLS", map[string]string{"SMTP_ADDR": plain.Addr, "SMTP_USER": "archflow", "SMTP_PASS": "s3cret-pass"},
			"STARTTLS: the server does not offer STARTTLS (starttls: true)"},
		{"51 recipients from a template", map[string]string{"SMTP_ADDR": secure.Addr, "SMTP_USER": "archflow", "SMTP_PASS": "s3cret-pass", "SMTP_CA": ca, "ONCALL": many},
			"51 recipients: at most 50 (to and cc together), as Architect"},
		{"recipient that is no address", map[string]string{"SMTP_ADDR": secure.Addr, "SMTP_USER": "archflow", "SMTP_PASS": "s3cret-pass", "SMTP_CA": ca, "ONCALL": "on call"},
			`to: "on call" is not an email address`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, context.Background(), "email-direct.yaml", tc.env, nil, nil)
			if res.Outcome != engine.OutcomeError || res.Error == nil || res.Error.Kind != "notify" {
				t.Fatalf("outcome %q error %+v, want outcome error of kind notify", res.Outcome, res.Error)
			}
			if len(res.Notifications) != 1 {
				t.Fatalf("%d notifications in the result, want the undelivered one", len(res.Notifications))
			}
			n := res.Notifications[0]
			if !strings.Contains(n.Error, tc.want) || !strings.Contains(res.Error.Message, tc.want) {
				t.Errorf("notification error %q\nresult error %q\nwant them to contain %q", n.Error, res.Error.Message, tc.want)
			}
			if n.Subject != "Ünïcode ✓ escalation for ORD-7" || n.Channel != "oncall" || n.Node != "send" {
				t.Errorf("kept notification: %s", asJSON(n))
			}
			if all := asJSON(res); strings.Contains(all, "s3cret-pass") || strings.Contains(all, "wrong-pass") {
				t.Errorf("the password shows in the result:\n%s", all)
			}
		})
	}
	if n := len(secure.Messages()) + len(plain.Messages()); n != 0 {
		t.Errorf("%d messages were delivered by failing cases", n)
	}
}

// The seed's escalation to an SMTP server that is not there, or that refuses the recipient:
// the instance ends with outcome error (escalate has no on_failure, and on_error is not
// re-entered), and the notification with its correlation id is in the result.
func TestEscalationEmailUndelivered(t *testing.T) {
	t.Parallel()
	api := erp(t)
	refusing := startSMTP(t, mailOpts{rejectTo: []string{"oncall@example.com"}})
	cases := []struct{ name, addr, want string }{
		{"connection refused", closedPort(t), "connect: connection refused"},
		{"recipient refused", refusing.Addr, "RCPT TO: recipient refused: <oncall@example.com>: 550 5.1.1 No such user here"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, context.Background(), "escalation-email.yaml",
				map[string]string{"ERP_URL": api.URL, "SMTP_ADDR": tc.addr}, map[string]any{"order_id": "A-1002"}, nil)
			if res.Outcome != engine.OutcomeError {
				t.Fatalf("outcome = %q, want error\n%s", res.Outcome, asJSON(res))
			}
			wantPath := "init call classify bump backoff call classify bump backoff call classify bump backoff call classify escalate"
			if got := strings.Join(res.Path, " "); got != wantPath {
				t.Errorf("path = %s\nwant   %s", got, wantPath)
			}
			if len(res.Notifications) != 1 {
				t.Fatalf("%d notifications kept, want 1:\n%s", len(res.Notifications), asJSON(res.Notifications))
			}
			n := res.Notifications[0]
			reqID, _ := res.Variables["request_id"].(string)
			if n.Subject != "CRITICAL: Data Action Retry Exhausted for "+reqID || !strings.Contains(n.Body, "Error Code: SERVICE_UNAVAILABLE") {
				t.Errorf("kept notification lacks the correlation id or error fields:\n%s", asJSON(n))
			}
			if !strings.Contains(n.Error, "smtp "+tc.addr+": ") || !strings.Contains(n.Error, tc.want) {
				t.Errorf("error = %q, want it to name %s and contain %q", n.Error, tc.addr, tc.want)
			}
			if res.Error == nil || res.Error.Node != "escalate" || !strings.Contains(res.Error.Message, "delivery to channel oncall failed") {
				t.Errorf("result error = %+v", res.Error)
			}
			if n.Outputs["external_error_code"] != "SERVICE_UNAVAILABLE" {
				t.Errorf("kept notification outputs = %v", n.Outputs)
			}
		})
	}
	if len(refusing.Messages()) != 0 {
		t.Error("a message was delivered although its recipient was refused")
	}
}

// Cancelling the run (SIGINT) while the SMTP server has not answered ends the instance as
// interrupted at once, keeping the notification.
func TestEmailCancelledWhileServerStalls(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c // never greets
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan *engine.Result, 1)
	go func() {
		done <- run(t, ctx, "email-direct.yaml", map[string]string{"SMTP_ADDR": ln.Addr().String(), "SMTP_USER": "u", "SMTP_PASS": "p4ss-word"}, nil, nil)
	}()
	var conn net.Conn
	select {
	case conn = <-accepted:
	case res := <-done:
		t.Fatalf("the run ended before connecting: %s", asJSON(res))
	}
	defer conn.Close()
	start := time.Now()
	cancel()
	res := <-done
	if res.Outcome != engine.OutcomeInterrupted || res.StoppedAt != "send" {
		t.Fatalf("outcome %q stopped at %q, want interrupted at send", res.Outcome, res.StoppedAt)
	}
	if time.Since(start) > 4*time.Second { // well under the 5 s it must not wait out, even on a loaded machine
		t.Errorf("cancellation took %s; the 5s channel timeout must not be waited out", time.Since(start))
	}
	if len(res.Notifications) != 1 || res.Notifications[0].Error == "" {
		t.Errorf("notifications = %s, want the undelivered one", asJSON(res.Notifications))
	}
}

// In tests (Options.Capture) a notification is captured and never sent.
func TestEmailCapturedNotSent(t *testing.T) {
	t.Parallel()
	api := erp(t)
	box := startSMTP(t, mailOpts{})
	res := run(t, context.Background(), "escalation-email.yaml", map[string]string{"ERP_URL": api.URL, "SMTP_ADDR": box.Addr},
		map[string]any{"order_id": "A-3"}, &engine.Options{Channels: engine.Capture{}})
	if res.Outcome != "escalated" || len(res.Notifications) != 1 || res.Notifications[0].Error != "" {
		t.Fatalf("outcome %q notifications %s", res.Outcome, asJSON(res.Notifications))
	}
	if len(box.Messages()) != 0 {
		t.Error("a captured notification was delivered")
	}
}

// SMTPS (tls: true, TLS from the first byte) to a server that offers only AUTH LOGIN, as
// Microsoft 365 and older relays do.
func TestEmailImplicitTLSAndLogin(t *testing.T) {
	t.Parallel()
	cert, ca := selfSigned(t)
	box := startSMTP(t, mailOpts{user: "bot@example.com", pass: "login-pass", cert: &cert, implicit: true, login: true})
	src := `flow: smtps
channels:
  oncall:
    type: email
    smtp: "{{ env('SMTP_ADDR') }}"
    from: bot@example.com
    to: oncall@example.com
    tls: true
    username: bot@example.com
    password: "{{ secret('SMTP_PASS') }}"
    tls_ca_file: "{{ env('SMTP_CA') }}"
start: send
nodes:
  send:
    notify: {channel: oncall, subject: "over SMTPS", body: "ok"}
    next: sent
  sent: {end: success}
`
	f, err := nodes.Builtins().Load("smtps.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SMTP_ADDR": box.Addr, "SMTP_PASS": "login-pass", "SMTP_CA": ca}
	res := f.Run(context.Background(), nil, &engine.Options{Env: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if res.Outcome != "success" {
		t.Fatalf("outcome %q\n%s", res.Outcome, asJSON(res))
	}
	msgs := box.Messages()
	if len(msgs) != 1 || !msgs[0].TLS || msgs[0].AuthUser != "bot@example.com" {
		t.Fatalf("messages: %+v", msgs)
	}
	if m := parseMail(t, msgs[0].Data); m.Subject != "over SMTPS" || m.Body != "ok" {
		t.Errorf("subject %q body %q", m.Subject, m.Body)
	}
}

// A long non-ASCII subject and 50 recipients (the limit) are folded into header lines of
// legal length and read back unchanged.
func TestEmailLongHeadersFolded(t *testing.T) {
	t.Parallel()
	cert, ca := selfSigned(t)
	box := startSMTP(t, mailOpts{user: "archflow", pass: "s3cret-pass", cert: &cert})
	var rcpts []string
	for i := range 50 {
		rcpts = append(rcpts, fmt.Sprintf("On Call %d <oncall%d@example.com>", i, i))
	}
	subject := strings.Repeat("Échec de la synchronisation ✗ ", 12) + "ORD-7"
	env := map[string]string{"SMTP_ADDR": box.Addr, "SMTP_USER": "archflow", "SMTP_PASS": "s3cret-pass", "SMTP_CA": ca, "ONCALL": strings.Join(rcpts, ", ")}
	res := run(t, context.Background(), "email-direct.yaml", env, map[string]any{"alert_subject": subject}, nil)
	if res.Outcome != "success" {
		t.Fatalf("outcome %q\n%s", res.Outcome, asJSON(res))
	}
	msgs := box.Messages()
	if len(msgs) != 1 || len(msgs[0].To) != 50 {
		t.Fatalf("messages %d, recipients %v", len(msgs), msgs)
	}
	head, _, _ := strings.Cut(string(msgs[0].Data), "\r\n\r\n")
	for _, l := range strings.Split(head, "\r\n") {
		if len(l) > 78 {
			t.Errorf("header line of %d characters: %q", len(l), l)
		}
	}
	m := parseMail(t, msgs[0].Data)
	if m.Subject != subject {
		t.Errorf("subject = %q\nwant      %q", m.Subject, subject)
	}
	to, err := m.Header.AddressList("To")
	if err != nil || len(to) != 50 || to[49].Name != "On Call 49" || to[49].Address != "oncall49@example.com" {
		t.Errorf("To: %v (%v)", to, err)
	}
}
