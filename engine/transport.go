package engine

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-resty/resty/v2"
)

// Request is a rendered data-action request.
type Request struct {
	Action  string
	Node    string
	Attempt int
	Method  string
	URL     string
	Header  http.Header
	Body    []byte
	Timeout time.Duration
	MaxBody int64
}

// Response is what came back.
type Response struct {
	Status  int
	Header  http.Header
	Body    []byte
	Elapsed time.Duration
	// Virtual is time the exchange took on a simulated transport (a scripted delay), which a
	// virtual clock must move forward by; real transports leave it zero, real time having passed.
	Virtual time.Duration
}

// Transport sends data-action requests: real HTTP, scripted responses or a cassette.
type Transport interface {
	Do(ctx context.Context, req *Request) (*Response, error)
}

// TransportError is a request that got no usable response.
type TransportError struct {
	Kind      string // timeout, network, dns, tls, too_large, script
	Transient bool
	Err       error
	Virtual   time.Duration // see Response.Virtual
	// NotSent says no byte of the request reached the wire (no connection within the timeout, a
	// refused dial): it is an attempt, but not a request to count in `calls`.
	NotSent bool
}

func (e *TransportError) Error() string { return e.Err.Error() }
func (e *TransportError) Unwrap() error { return e.Err }

// HTTPTransport is the real transport: resty over net/http with connection reuse.
type HTTPTransport struct {
	client *resty.Client
}

// NewHTTPTransport returns a transport that sends real requests, one on the wire per Do: it
// follows no redirect (the data action decides, so that every hop is traced and counted), keeps
// no cookies, and neither resty nor net/http re-sends on its own (see noReplay).
func NewHTTPTransport() *HTTPTransport {
	c := resty.New().SetRetryCount(0).SetDoNotParseResponse(true)
	c.SetLogger(quietLogger{})
	c.SetCookieJar(nil) // resty makes a jar by default; it would be shared by every instance
	hc := c.GetClient()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	hc.Transport = noReplay{rt: hc.Transport}
	return &HTTPTransport{client: c}
}

// Client exposes the resty client, for auth types that need one (token endpoints).
func (t *HTTPTransport) Client() *resty.Client { return t.client }

func (t *HTTPTransport) Do(ctx context.Context, req *Request) (*Response, error) {
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var wrote atomic.Bool // the request's headers went out on a connection
	cctx = httptrace.WithClientTrace(cctx, &httptrace.ClientTrace{WroteHeaders: func() { wrote.Store(true) }})
	r := t.client.R().SetContext(cctx)
	for k, vs := range req.Header {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	if req.Body != nil {
		r.SetBody(req.Body)
	}
	start := time.Now()
	resp, err := r.Execute(req.Method, req.URL)
	if err != nil {
		err = classifyNetError(ctx, cctx, err)
		var te *TransportError
		if errors.As(err, &te) && !wrote.Load() {
			te.NotSent = true
			if te.Kind == KindTimeout {
				te.Err = errors.New("no connection within the timeout")
			}
		}
		return nil, err
	}
	raw := resp.RawBody()
	defer raw.Close()
	limit := req.MaxBody
	if limit <= 0 {
		limit = DefaultMaxBodySize
	}
	body, err := io.ReadAll(io.LimitReader(raw, limit+1))
	if err != nil {
		return nil, classifyNetError(ctx, cctx, err)
	}
	out := &Response{Status: resp.StatusCode(), Header: resp.Header(), Body: body, Elapsed: time.Since(start)}
	if int64(len(body)) > limit {
		return out, &TransportError{Kind: "too_large", Err: fmt.Errorf("response body larger than %d bytes", limit)}
	}
	return out, nil
}

// classifyNetError tells transient transport failures (timeouts, refused, reset or closed
// connections) from permanent ones (unknown host, TLS, a malformed URL).
func classifyNetError(parent, ctx context.Context, err error) error {
	if parent.Err() != nil {
		return parent.Err() // cancelled by the user: not a failure of the call
	}
	var dns *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var recErr tls.RecordHeaderError
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded), isTimeout(err):
		return &TransportError{Kind: KindTimeout, Transient: true, Err: errors.New("no response within the timeout")}
	case errors.As(err, &dns):
		if dns.IsNotFound {
			return &TransportError{Kind: "dns", Err: fmt.Errorf("unknown host %s", dns.Name)}
		}
		return &TransportError{Kind: "dns", Transient: dns.IsTemporary || dns.IsTimeout, Err: err}
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr), errors.As(err, &recErr),
		strings.Contains(err.Error(), "tls: "), strings.Contains(err.Error(), "x509: "):
		return &TransportError{Kind: "tls", Err: err}
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		strings.Contains(err.Error(), "connection reset"), strings.Contains(err.Error(), "server closed"):
		return &TransportError{Kind: KindNetwork, Transient: true, Err: cleanNetError(err)}
	}
	return &TransportError{Kind: KindNetwork, Err: cleanNetError(err)}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// cleanNetError drops the "Post \"url\":" prefix that net/http adds; the trace has the URL.
func cleanNetError(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			if strings.HasPrefix(err.Error(), "Get ") || strings.HasPrefix(err.Error(), "Post ") || strings.Contains(err.Error(), "\": ") {
				return inner
			}
		}
	}
	return err
}

type quietLogger struct{}

func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Warnf(string, ...any)  {}
func (quietLogger) Debugf(string, ...any) {}
