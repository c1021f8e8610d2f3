package channel

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"strings"
	"time"

	"github.com/archflow/archflow/engine"
	"github.com/google/uuid"
	"gopkg.in/yaml.v3"
)

// Defaults of the email channel, named once.
const (
	MaxRecipients       = 50 // to and cc together, as Architect
	DefaultEmailTimeout = 30 * time.Second
	MaxEmailTimeout     = 5 * time.Minute
)

// emailChannel sends a plain-text message over SMTP. It speaks net/smtp: the standard library
// client exposes STARTTLS and EHLO extensions on one connection (so starttls: auto needs no
// second dial) and leaves the connection's deadline to us, so one deadline bounds the session.
type emailChannel struct {
	name     string
	smtp     *engine.Template
	from     *engine.Template
	to, cc   []*engine.Template // each renders to one address, a comma-separated list, or a list
	username *engine.Template
	password *engine.Template
	starttls string // auto (use it when offered), always, never
	implicit bool   // tls: true, SMTPS (port 465): TLS from the first byte
	caFile   *engine.Template
	insecure bool
	timeout  time.Duration
}

// Email declares the email channel type.
func Email() *engine.ChannelType {
	return &engine.ChannelType{
		Spec: engine.Spec{Name: "email", Doc: "Email over SMTP, with STARTTLS and AUTH when configured.",
			Fields: []engine.Field{
				{Name: "smtp", Doc: "The SMTP server as host:port, a template.", Schema: engine.Ref("template"), Required: true},
				{Name: "from", Doc: "The sender address.", Schema: engine.Ref("template"), Required: true},
				{Name: "to", Doc: "Recipient addresses.", Schema: engine.Ref("recipients"), Required: true},
				{Name: "cc", Doc: "Copy addresses.", Schema: engine.Ref("recipients")},
				{Name: "username", Doc: "The SMTP AUTH user name.", Schema: engine.Ref("template")},
				{Name: "password", Doc: "The SMTP AUTH password, e.g. \"{{ secret('SMTP_PASSWORD') }}\".", Schema: engine.Ref("template")},
				{Name: "starttls", Doc: "STARTTLS: auto (default: when the server offers it), true (always; fail without it) or false (never).", Schema: engine.SchemaJSON(`{"anyOf": [{"type": "boolean"}, {"const": "auto"}]}`)},
				{Name: "tls", Doc: "TLS from the first byte (SMTPS, port 465) instead of STARTTLS.", Schema: engine.SchemaJSON(`{"type": "boolean"}`)},
				{Name: "tls_ca_file", Doc: "A PEM file of CA certificates to trust, a template.", Schema: engine.Ref("template")},
				{Name: "tls_insecure_skip_verify", Doc: "Accept any server certificate (for test servers only).", Schema: engine.SchemaJSON(`{"type": "boolean"}`)},
				{Name: "timeout", Doc: "How long a delivery may take (default 30s).", Schema: engine.Ref("duration")},
			},
			Constraints: engine.SchemaJSON(`{"dependentRequired": {"password": ["username"]}}`),
			Defs:        map[string]engine.Schema{"recipients": engine.SchemaJSON(`{"description": "One address or a list of addresses (up to 50 recipients in all, as Architect).", "anyOf": [{"type": "string"}, {"type": "array", "minItems": 1, "maxItems": 50, "items": {"type": "string"}}]}`)},
		},
		Compile: compileEmail,
	}
}

func compileEmail(c *engine.Compiler, name string, keys map[string]*yaml.Node, at *yaml.Node) engine.Channel {
	e := &emailChannel{name: name, starttls: "auto", timeout: DefaultEmailTimeout}
	if n := keys["smtp"]; n != nil {
		e.smtp = c.Template(n)
		if e.smtp != nil && e.smtp.IsLiteral() {
			if _, _, err := splitHostPort(n.Value); err != nil {
				c.Errorf(n, "smtp: %v", err)
			}
		}
	}
	if n := keys["from"]; n != nil {
		e.from = c.Template(n)
		if e.from != nil && e.from.IsLiteral() {
			if _, err := mail.ParseAddress(n.Value); err != nil {
				c.Errorf(n, "from: %q is not an email address: %v", n.Value, addrError(err))
			}
		}
	}
	literal := 0
	e.to = compileRecipients(c, keys["to"], "to", &literal)
	e.cc = compileRecipients(c, keys["cc"], "cc", &literal)
	if literal > MaxRecipients {
		n := keys["to"]
		if keys["cc"] != nil {
			n = keys["cc"]
		}
		c.Errorf(n, "email channel %s has %d recipients: at most %d (to and cc together), as Architect", name, literal, MaxRecipients)
	}
	if n := keys["username"]; n != nil {
		e.username = c.Template(n)
	}
	if n := keys["password"]; n != nil {
		e.password = c.Template(n)
		if e.password != nil && e.password.IsLiteral() && n.Value != "" {
			c.Errorf(n, "password of channel %s is written in the flow file: use \"{{ secret('NAME') }}\" and set NAME in the environment or an --env-file", name)
		}
		if keys["username"] == nil {
			c.Errorf(n, "email channel %s has a password but no username", name)
		}
	}
	if n := keys["starttls"]; n != nil {
		switch {
		case n.Kind == yaml.ScalarNode && n.Value == "auto":
			e.starttls = "auto"
		case n.Kind == yaml.ScalarNode && n.Tag == "!!bool":
			if c.Bool(n) {
				e.starttls = "always"
			} else {
				e.starttls = "never"
			}
		default:
			c.Errorf(n, "starttls: expected true, false or auto, got %q", n.Value)
		}
	}
	if n := keys["tls"]; n != nil {
		e.implicit = c.Bool(n)
		if e.implicit && keys["starttls"] != nil && e.starttls != "never" {
			c.Errorf(n, "tls: true (TLS from the first byte, port 465) and starttls exclude each other: give one")
		}
	}
	if n := keys["tls_ca_file"]; n != nil {
		e.caFile = c.Template(n)
	}
	if n := keys["tls_insecure_skip_verify"]; n != nil {
		e.insecure = c.Bool(n)
	}
	if n := keys["timeout"]; n != nil {
		if d, ok := c.Duration(n); ok {
			if d < time.Second || d > MaxEmailTimeout {
				c.Errorf(n, "timeout %s is out of range: 1s..%s", d, MaxEmailTimeout)
			} else {
				e.timeout = d
			}
		}
	}
	return e
}

// compileRecipients compiles to: or cc:, a string or a list of strings, and checks literal
// addresses now; *literal counts them for the recipient limit.
func compileRecipients(c *engine.Compiler, n *yaml.Node, key string, literal *int) []*engine.Template {
	if n == nil {
		return nil
	}
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
		if len(items) == 0 && key == "to" {
			c.Errorf(n, "to: give at least one recipient")
		}
	}
	var out []*engine.Template
	for _, it := range items {
		t := c.Template(it)
		if t == nil {
			continue
		}
		c.Track(t.Exprs()...)
		if t.IsLiteral() {
			list, err := mail.ParseAddressList(it.Value)
			if err != nil {
				c.Errorf(it, "%s: %q is not an email address: %v", key, it.Value, addrError(err))
				continue
			}
			*literal += len(list)
		}
		out = append(out, t)
	}
	return out
}

// addrError drops net/mail's "mail: " prefix.
func addrError(err error) string { return strings.TrimPrefix(err.Error(), "mail: ") }

func splitHostPort(addr string) (string, string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" || port == "" {
		return "", "", fmt.Errorf("%q is not host:port (e.g. smtp.example.com:587)", addr)
	}
	return host, port, nil
}

// envelope is one rendered message: who sends, who receives, and the bytes.
type envelope struct {
	addr, host string
	from       *mail.Address
	to, cc     []*mail.Address
	user, pass string
	tls        *tls.Config
}

func (e *emailChannel) Deliver(ctx context.Context, in *engine.Instance, n *engine.Notification) error {
	env, err := e.render(in)
	if err != nil {
		return err
	}
	msg := buildMessage(env, n, time.Now())
	return e.send(ctx, env, msg)
}

// render fills in the channel's templates for this delivery.
func (e *emailChannel) render(in *engine.Instance) (*envelope, error) {
	env := &envelope{}
	var err error
	if env.addr, err = e.smtp.Render(in); err != nil {
		return nil, err
	}
	if env.host, _, err = splitHostPort(env.addr); err != nil {
		return nil, fmt.Errorf("smtp: %v", err)
	}
	from, err := e.from.Render(in)
	if err != nil {
		return nil, err
	}
	if env.from, err = mail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("from: %q is not an email address: %s", from, addrError(err))
	}
	if env.to, err = recipients(in, "to", e.to); err != nil {
		return nil, err
	}
	if env.cc, err = recipients(in, "cc", e.cc); err != nil {
		return nil, err
	}
	if len(env.to) == 0 {
		return nil, errors.New("to: no recipient (every address rendered empty)")
	}
	if k := len(env.to) + len(env.cc); k > MaxRecipients {
		return nil, fmt.Errorf("%d recipients: at most %d (to and cc together), as Architect", k, MaxRecipients)
	}
	if e.username != nil {
		if env.user, err = e.username.Render(in); err != nil {
			return nil, err
		}
	}
	if e.password != nil {
		if env.pass, err = e.password.Render(in); err != nil {
			return nil, err
		}
		in.Redactor().Add(env.pass)
	}
	env.tls = &tls.Config{ServerName: env.host, InsecureSkipVerify: e.insecure, MinVersion: tls.VersionTLS12}
	if e.caFile != nil {
		p, err := e.caFile.Render(in)
		if err != nil {
			return nil, err
		}
		if p != "" {
			pem, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("tls_ca_file: %v", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("tls_ca_file %s: no PEM certificate in it", p)
			}
			env.tls.RootCAs = pool
		}
	}
	return env, nil
}

// recipients renders to: or cc:. An entry may give one address, a comma-separated list or a
// list value; NOT_SET and "" give none.
func recipients(in *engine.Instance, key string, ts []*engine.Template) ([]*mail.Address, error) {
	var out []*mail.Address
	add := func(s string) error {
		if strings.TrimSpace(s) == "" {
			return nil
		}
		list, err := mail.ParseAddressList(s)
		if err != nil {
			return fmt.Errorf("%s: %q is not an email address: %s", key, s, addrError(err))
		}
		out = append(out, list...)
		return nil
	}
	for _, t := range ts {
		v, err := t.Eval(in)
		if err != nil {
			return nil, err
		}
		switch x := v.(type) {
		case nil:
		case string:
			err = add(x)
		case []any:
			for _, it := range x {
				if s, ok := it.(string); ok {
					err = add(s)
				} else if it != nil {
					err = fmt.Errorf("%s: %v is not an email address", key, it)
				}
				if err != nil {
					break
				}
			}
		default:
			err = fmt.Errorf("%s: %v is not an email address", key, v)
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// buildMessage writes an RFC 5322 message: plain text, UTF-8, quoted-printable, so that any
// subject or body survives 7-bit relays; headers are folded, the subject encoded when needed.
func buildMessage(env *envelope, n *engine.Notification, now time.Time) []byte {
	var b bytes.Buffer
	header := func(name, value string) {
		b.WriteString(fold(name + ": " + value))
		b.WriteString("\r\n")
	}
	header("From", env.from.String())
	header("To", joinAddrs(env.to))
	if len(env.cc) > 0 {
		header("Cc", joinAddrs(env.cc))
	}
	header("Subject", mime.QEncoding.Encode("utf-8", oneLine(n.Subject)))
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", fmt.Sprintf("<%s@%s>", uuid.NewString(), domainOf(env.from.Address)))
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	header("X-Archflow-Flow", n.Flow)
	header("X-Archflow-Instance", n.Instance)
	header("X-Archflow-Node", n.Node)
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(messageText(n)))
	qp.Close()
	return b.Bytes()
}

// messageText is the body, or the payload as JSON when a notify gives only a payload.
func messageText(n *engine.Notification) string {
	if n.Body == "" && n.Payload != nil {
		return engine.ToString(n.Payload)
	}
	return n.Body
}

func joinAddrs(as []*mail.Address) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)), " ")
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 && i+1 < len(addr) {
		return addr[i+1:]
	}
	return "archflow.invalid"
}

// fold breaks a header line at spaces so that no line passes 76 characters where a space
// allows; unfolding (dropping the CRLF) gives the line back unchanged.
func fold(line string) string {
	const limit = 76
	if len(line) <= limit {
		return line
	}
	var b strings.Builder
	cur := 0
	for len(line) > 0 {
		i := strings.IndexByte(line[1:], ' ')
		word := line
		if i >= 0 {
			word = line[:i+1]
		}
		if cur > 0 && cur+len(word) > limit && word[0] == ' ' {
			b.WriteString("\r\n")
			cur = 0
		}
		b.WriteString(word)
		cur += len(word)
		line = line[len(word):]
	}
	return b.String()
}

// send runs the SMTP session. One deadline bounds it; cancelling ctx closes the connection.
func (e *emailChannel) send(ctx context.Context, env *envelope, msg []byte) error {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	fail := func(step string, err error) error {
		if ctx.Err() == context.DeadlineExceeded {
			err = fmt.Errorf("no reply within %s", e.timeout)
		}
		return fmt.Errorf("smtp %s: %s: %w", env.addr, step, smtpError(err))
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", env.addr)
	if err != nil {
		return fail("connect", unwrapOp(err))
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	if e.implicit {
		tc := tls.Client(conn, env.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fail("TLS", err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, env.host)
	if err != nil {
		return fail("greeting", err)
	}
	if err := c.Hello(helloName()); err != nil {
		return fail("EHLO", err)
	}
	if !e.implicit && e.starttls != "never" {
		offered, _ := c.Extension("STARTTLS")
		switch {
		case offered:
			if err := c.StartTLS(env.tls); err != nil {
				return fail("STARTTLS", err)
			}
		case e.starttls == "always":
			return fail("STARTTLS", errors.New("the server does not offer STARTTLS (starttls: true)"))
		}
	}
	if env.user != "" || env.pass != "" {
		if _, on := c.TLSConnectionState(); !on && !isLoopback(env.host) {
			return fail("AUTH", errors.New("refusing to send the password over an unencrypted connection (the server offers no STARTTLS, or starttls: false)"))
		}
		if err := c.Auth(chooseAuth(c, env)); err != nil {
			return fail("AUTH", err)
		}
	}
	if err := c.Mail(env.from.Address); err != nil {
		return fail("MAIL FROM <"+env.from.Address+">", err)
	}
	// Every recipient is tried so the error names all that were refused; then nothing is sent:
	// a notification reaches all its recipients or fails as a whole.
	var refused []string
	for _, a := range append(append([]*mail.Address{}, env.to...), env.cc...) {
		if err := c.Rcpt(a.Address); err != nil {
			var te *textproto.Error
			if !errors.As(err, &te) {
				return fail("RCPT TO <"+a.Address+">", err)
			}
			refused = append(refused, fmt.Sprintf("<%s>: %s", a.Address, smtpError(err)))
		}
	}
	if len(refused) > 0 {
		c.Reset()
		c.Quit()
		return fail("RCPT TO", fmt.Errorf("recipient refused: %s", strings.Join(refused, "; ")))
	}
	w, err := c.Data()
	if err != nil {
		return fail("DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fail("DATA", err)
	}
	if err := w.Close(); err != nil {
		return fail("end of DATA", err)
	}
	c.Quit() // the message is accepted; a failed QUIT does not undo that
	return nil
}

// chooseAuth picks PLAIN, else LOGIN (Microsoft 365 and older servers offer only that). Both
// refuse to send the password over an unencrypted connection to anything but localhost.
func chooseAuth(c *smtp.Client, env *envelope) smtp.Auth {
	_, mechs := c.Extension("AUTH")
	for _, m := range strings.Fields(mechs) {
		if strings.EqualFold(m, "PLAIN") {
			return smtp.PlainAuth("", env.user, env.pass, env.host)
		}
	}
	for _, m := range strings.Fields(mechs) {
		if strings.EqualFold(m, "LOGIN") {
			return &loginAuth{user: env.user, pass: env.pass, host: env.host}
		}
	}
	return &loginAuth{none: mechs} // Start reports what the server offered
}

// loginAuth is the LOGIN mechanism, which net/smtp lacks.
type loginAuth struct {
	user, pass, host string
	none             string
}

func (a *loginAuth) Start(s *smtp.ServerInfo) (string, []byte, error) {
	if a.host == "" {
		if a.none == "" {
			return "", nil, errors.New("the server offers no AUTH (is STARTTLS needed first?)")
		}
		return "", nil, fmt.Errorf("the server offers AUTH %s; archflow speaks PLAIN and LOGIN", a.none)
	}
	if !s.TLS && !isLoopback(s.Name) {
		return "", nil, errors.New("refusing to send the password over an unencrypted connection: use starttls or tls")
	}
	return "LOGIN", nil, nil
}

func (a *loginAuth) Next(from []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	switch strings.ToLower(strings.TrimSpace(string(from))) {
	case "username:", "user name", "username":
		return []byte(a.user), nil
	case "password:", "password":
		return []byte(a.pass), nil
	}
	return nil, fmt.Errorf("unexpected LOGIN challenge %q", from)
}

// smtpError shows a server's reply as the server wrote it ("550 5.1.1 No such user"), without
// the quotes textproto adds, but with control characters dropped.
func smtpError(err error) error {
	var te *textproto.Error
	if !errors.As(err, &te) {
		return err
	}
	msg := strings.Map(func(r rune) rune {
		if r == '\n' {
			return ' '
		}
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, te.Msg)
	return &replyError{code: te.Code, msg: msg, err: err}
}

type replyError struct {
	code int
	msg  string
	err  error
}

func (e *replyError) Error() string { return fmt.Sprintf("%d %s", e.code, e.msg) }
func (e *replyError) Unwrap() error { return e.err }

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func helloName() string {
	if h, err := os.Hostname(); err == nil && h != "" && !strings.ContainsAny(h, " \r\n") {
		return h
	}
	return "localhost"
}

// unwrapOp drops the "dial tcp 127.0.0.1:25: connect:" prefixes; the message names the address.
func unwrapOp(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		err = op.Err
	}
	var sys *os.SyscallError
	if errors.As(err, &sys) && sys.Err != nil {
		err = sys.Err
	}
	return err
}
