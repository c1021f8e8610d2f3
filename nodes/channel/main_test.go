package channel_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/clock"
	"github.com/archflow/archflow/engine/transport"
	"github.com/archflow/archflow/nodes"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

var clockStart = time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)

// run loads a flow file and runs one instance on the virtual clock with env as its environment.
func run(t *testing.T, ctx context.Context, file string, env map[string]string, inputs map[string]any, opts *engine.Options) *engine.Result {
	t.Helper()
	f := load(t, file)
	if opts == nil {
		opts = &engine.Options{}
	}
	opts.Clock = func() clock.Clock { return clock.NewVirtualClock(clockStart) }
	opts.Env = func(name string) (string, bool) { v, ok := env[name]; return v, ok }
	in, err := f.Inputs(inputs)
	if err != nil {
		t.Fatalf("inputs: %v", err)
	}
	return f.Run(ctx, in, opts)
}

func load(t *testing.T, file string) *engine.Flow {
	t.Helper()
	f, err := nodes.Builtins().LoadFile(filepath.Join("..", "..", "testdata", "notify", file))
	if err != nil {
		t.Fatalf("load %s:\n%v", file, err)
	}
	return f
}

// erp is the ERP API of the seed flow, answering 503 forever.
func erp(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"success": false, "error_code": "SERVICE_UNAVAILABLE", "message": "ERP is down for maintenance"}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// down503 is the same ERP as a Transport, for runs too many for loopback HTTP.
type down503 struct{}

func (down503) Do(ctx context.Context, req *transport.Request) (*transport.Response, error) {
	return &transport.Response{Status: 503, Header: http.Header{"Content-Type": {"application/json"}},
		Body: []byte(`{"success": false, "error_code": "SERVICE_UNAVAILABLE", "message": "ERP is down for maintenance"}`)}, nil
}

// ---- an SMTP server on 127.0.0.1 ----

type message struct {
	From     string
	To       []string
	Data     []byte
	TLS      bool
	AuthUser string
}

type mailServer struct {
	Addr     string
	User     string // AUTH PLAIN required when set
	Pass     string
	Login    bool            // AUTH LOGIN instead of PLAIN
	RejectTo map[string]bool // RCPT answered 550 5.1.1

	mu   sync.Mutex
	msgs []message
}

func (m *mailServer) Messages() []message {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]message(nil), m.msgs...)
}

type mailOpts struct {
	user, pass string
	cert       *tls.Certificate // offers STARTTLS when set
	implicit   bool             // TLS from the first byte (SMTPS) with cert
	login      bool             // offers AUTH LOGIN only, not PLAIN
	rejectTo   []string
}

func startSMTP(t *testing.T, o mailOpts) *mailServer {
	t.Helper()
	m := &mailServer{User: o.user, Pass: o.pass, Login: o.login, RejectTo: map[string]bool{}}
	for _, r := range o.rejectTo {
		m.RejectTo[r] = true
	}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{srv: m, conn: c}, nil
	}))
	s.Domain = "localhost"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	s.MaxRecipients = 100
	if o.cert != nil {
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*o.cert}}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m.Addr = ln.Addr().String()
	if o.implicit {
		ln = tls.NewListener(ln, s.TLSConfig)
		s.TLSConfig = nil // no STARTTLS inside TLS
	}
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return m
}

type session struct {
	srv  *mailServer
	conn *smtp.Conn
	user string
	cur  message
}

func (s *session) AuthMechanisms() []string {
	switch {
	case s.srv.User == "":
		return nil
	case s.srv.Login:
		return []string{sasl.Login}
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	check := func(identity, user, pass string) error {
		if user != s.srv.User || pass != s.srv.Pass {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
		}
		s.user = user
		return nil
	}
	if mech == sasl.Login {
		return &loginServer{check: check}, nil
	}
	return sasl.NewPlainServer(check), nil
}

// loginServer is the server side of AUTH LOGIN, which go-sasl has only as a client.
type loginServer struct {
	check      func(identity, user, pass string) error
	step       int
	user, pass string
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step = 1
		if resp == nil {
			return []byte("Username:"), false, nil
		}
		fallthrough
	case 1:
		l.user, l.step = string(resp), 2
		return []byte("Password:"), false, nil
	}
	return nil, true, l.check("", l.user, string(resp))
}

func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	if s.srv.User != "" && s.user == "" {
		return smtp.ErrAuthRequired
	}
	_, tlsOn := s.conn.TLSConnectionState()
	s.cur = message{From: from, TLS: tlsOn, AuthUser: s.user}
	return nil
}

func (s *session) Rcpt(to string, opts *smtp.RcptOptions) error {
	if s.srv.RejectTo[to] {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}
	}
	s.cur.To = append(s.cur.To, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.Data = b
	s.srv.mu.Lock()
	s.srv.msgs = append(s.srv.msgs, s.cur)
	s.srv.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.cur = message{} }
func (s *session) Logout() error { return nil }

// selfSigned makes a certificate for 127.0.0.1 and writes it as PEM, for tls_ca_file.
func selfSigned(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "archflow test SMTP"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, ca
}

// closedPort is an address on 127.0.0.1 where nothing listens.
func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func asJSON(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}
