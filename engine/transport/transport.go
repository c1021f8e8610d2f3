// Package transport owns the one HTTP seam: every request archflow makes (data actions, OAuth
// token requests, webhook deliveries) is a Request sent through a Transport. The real one is
// resty over net/http; scripted mocks and cassettes are other implementations.
package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"time"

	"github.com/archflow/archflow/engine/failure"
	"github.com/go-resty/resty/v2"
)

// Defaults of a request, named once.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultMaxBodySize = 1 << 20
)

// Request is a rendered request.
type Request struct {
	Action  string
	Node    string
	Attempt int
	Visit   int // which entry into the node sent it (a hand-built loop re-enters a node), for traces
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

// Request.Action of requests that are not data-action calls: an OAuth token request of auth
// entry <name> is "auth.<name>", a notification delivery to channel <name> "notify.<name>".
const (
	AuthPrefix   = "auth."
	NotifyPrefix = "notify."
)

// Transport sends every request archflow makes (data actions, token requests, webhook
// deliveries): real HTTP, scripted responses or a cassette.
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
	net    *http.Transport
	direct *http.Client // the lean path of data actions (direct.go), on the same pool
	// lastURL is the URL the lean path parsed last (direct.go): a batch's instances usually
	// send to one URL
	lastURL atomic.Pointer[parsedURL]
}

// NewHTTPTransport returns a transport that sends real requests, one on the wire per Do: it
// follows no redirect (the data action decides, so that every hop is traced and counted), keeps
// no cookies, and neither resty nor net/http re-sends on its own (see noReplay). Its idle pool
// keeps DefaultMaxIdlePerHost connections per host unless an Option says otherwise.
func NewHTTPTransport(opts ...Option) *HTTPTransport {
	cfg := poolConfig{maxIdlePerHost: DefaultMaxIdlePerHost, idleTimeout: DefaultIdleTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	nt := newNetTransport(cfg)
	// no Jar: resty.New would make one, shared by every instance (SPEC §11)
	hc := &http.Client{
		Transport:     noReplay{rt: nt},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	c := resty.NewWithClient(hc).SetRetryCount(0).SetDoNotParseResponse(true)
	c.SetLogger(quietLogger{})
	// the lean path prepares its requests itself (preventReplay), so it needs no wrapper
	dc := &http.Client{Transport: nt, CheckRedirect: hc.CheckRedirect}
	return &HTTPTransport{client: c, net: nt, direct: dc}
}

// CloseIdleConnections closes the pool's idle keep-alive connections.
func (t *HTTPTransport) CloseIdleConnections() { t.net.CloseIdleConnections() }

func (t *HTTPTransport) Do(ctx context.Context, req *Request) (*Response, error) {
	if direct(req) {
		return t.doDirect(ctx, req)
	}
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
		return nil, markNotSent(netError(ctx, cctx, err), &wrote)
	}
	raw := resp.RawBody()
	defer raw.Close()
	limit := req.MaxBody
	if limit <= 0 {
		limit = DefaultMaxBodySize
	}
	body, err := io.ReadAll(io.LimitReader(raw, limit+1))
	if err != nil {
		return nil, netError(ctx, cctx, err)
	}
	out := &Response{Status: resp.StatusCode(), Header: resp.Header(), Body: body, Elapsed: time.Since(start)}
	if int64(len(body)) > limit {
		return out, &TransportError{Kind: "too_large", Err: fmt.Errorf("response body larger than %d bytes", limit)}
	}
	return out, nil
}

type quietLogger struct{}

func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Warnf(string, ...any)  {}
func (quietLogger) Debugf(string, ...any) {}

// HTTPClient is an *http.Client whose requests go through t as requests of action (for example
// auth.<name> for an OAuth token endpoint): libraries that take an *http.Client stay behind
// the one Transport seam, so mocks, cassettes, redirect rules and tracing see their requests.
func HTTPClient(t Transport, action, node string, timeout time.Duration) *http.Client {
	return &http.Client{Transport: roundTripper{t: t, action: action, node: node, timeout: timeout},
		// the round tripper has followed what may be followed (FollowSameOrigin): a 3xx left is the answer
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type roundTripper struct {
	t       Transport
	action  string
	node    string
	timeout time.Duration
}

func (rt roundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	resp, err := FollowSameOrigin(r.Context(), rt.t, &Request{Action: rt.action, Node: rt.node, Attempt: 1, Method: r.Method,
		URL: r.URL.String(), Header: r.Header.Clone(), Body: body, Timeout: rt.timeout})
	if err != nil {
		return nil, err
	}
	return &http.Response{StatusCode: resp.Status, Status: fmt.Sprintf("%d %s", resp.Status, http.StatusText(resp.Status)),
		Header: resp.Header, Body: io.NopCloser(bytes.NewReader(resp.Body)), ContentLength: int64(len(resp.Body)),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Request: r}, nil
}

// markNotSent marks a failed exchange whose request never reached the wire (wrote is false):
// calls counts requests on the wire only (SPEC §5).
func markNotSent(err error, wrote *atomic.Bool) error {
	var te *TransportError
	if errors.As(err, &te) && !wrote.Load() {
		te.NotSent = true
		if te.Kind == failure.KindTimeout {
			te.Err = errors.New("no connection within the timeout")
		}
	}
	return err
}

// netError is a failed exchange as a TransportError, or the parent's error when the user
// cancelled (not a failure of the call).
func netError(parent, ctx context.Context, err error) error {
	if parent.Err() != nil {
		return parent.Err()
	}
	kind, transient, cleaned := failure.OfNetwork(ctx, err)
	return &TransportError{Kind: kind, Transient: transient, Err: cleaned}
}
