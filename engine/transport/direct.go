package transport

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-resty/resty/v2"
)

// Data-action requests take a lean path straight to net/http: they arrive fully rendered
// (method, URL, headers, body), so resty's per-request middleware (URL re-parsing, header
// merging, body sniffing, its request object) is work a compiled action has already done. It
// costed 13.5 µs of CPU per request in the batch benchmark (BenchmarkBatchThroughput in
// cmd/archflow), more than the 0.9× of a plain net/http client the batch goal leaves. Token
// requests and webhook deliveries keep going through resty. Both paths share one connection
// pool and put the same request on the wire: resty's User-Agent and Content-Type sniffing are
// reproduced here, and the no-re-send rule (noReplay) applies to both.

// restyUserAgent is the User-Agent resty sends when a request has none.
const restyUserAgent = "go-resty/" + resty.Version + " (https://github.com/go-resty/resty)"

// restyUserAgentValue is the User-Agent header's value, shared: header values are replaced,
// never written in place.
var restyUserAgentValue = []string{restyUserAgent}[:1:1]

// exchange is what a lean request keeps beside it, in one allocation: whether its headers went
// out on a connection (the request was sent), told by the client trace.
type exchange struct {
	wrote atomic.Bool
	trace httptrace.ClientTrace
	body  bytes.Reader // the request's body, read from req.Body
}

func (x *exchange) wroteHeaders() { x.wrote.Store(true) }

// direct reports whether req takes the lean path: a data-action call.
func direct(req *Request) bool {
	return !strings.HasPrefix(req.Action, AuthPrefix) && !strings.HasPrefix(req.Action, NotifyPrefix)
}

func (t *HTTPTransport) doDirect(ctx context.Context, req *Request) (*Response, error) {
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	start := time.Now()
	cctx, end := requestContext(ctx, timeout)
	defer end.end()
	x := &exchange{}
	x.trace.WroteHeaders = x.wroteHeaders
	cctx = httptrace.WithClientTrace(cctx, &x.trace)
	hr, err := t.newRequest(cctx, req.Method, req.URL)
	if err != nil {
		return nil, netError(ctx, cctx, err)
	}
	// the body as NewRequest would set it, without the GetBody that preventReplay drops anyway
	payload := req.Method != http.MethodGet && req.Method != http.MethodHead && req.Method != http.MethodOptions
	if payload {
		hr.Body = http.NoBody
		if len(req.Body) > 0 {
			x.body.Reset(req.Body)
			hr.Body = io.NopCloser(&x.body) // a body net/http knows is in memory: one write with the headers
			hr.ContentLength = int64(len(req.Body))
		}
	}
	// a copy: the caller's map is the request it sent (a recording, a trace); a small map
	// clones as one block, where ranging and inserting cost ~1 µs per request
	h := maps.Clone(req.Header)
	if h == nil {
		h = make(http.Header, 2)
	}
	// the keys are canonical constants: indexed, as Header.Get would after canonicalizing them
	if first(h, "User-Agent") == "" {
		h["User-Agent"] = restyUserAgentValue
	}
	if payload && req.Body != nil && first(h, "Content-Type") == "" {
		h.Set("Content-Type", http.DetectContentType(req.Body))
	}
	if ct := first(h, "Content-Type"); first(h, "Accept") == "" && (strings.Contains(ct, "json") || strings.Contains(ct, "xml")) {
		h.Set("Accept", ct) // resty asks for what it sends
	}
	hr.Header = h
	preventReplay(hr)
	var resp *http.Response
	if hr.URL.User == nil {
		// straight to the pool: http.Client would copy the headers for redirects it does not follow
		if resp, err = t.net.RoundTrip(hr); err != nil {
			err = &url.Error{Op: hr.Method[:1] + strings.ToLower(hr.Method[1:]), URL: hr.URL.Redacted(), Err: err}
		}
	} else {
		resp, err = t.direct.Do(hr) // the client turns user:password@ into Basic auth
	}
	if err != nil {
		return nil, markNotSent(netError(ctx, cctx, err), &x.wrote)
	}
	defer resp.Body.Close()
	limit := req.MaxBody
	if limit <= 0 {
		limit = DefaultMaxBodySize
	}
	b, err := readBody(resp, limit)
	if err != nil {
		return nil, netError(ctx, cctx, err)
	}
	out := &Response{Status: resp.StatusCode, Header: resp.Header, Body: b, Elapsed: time.Since(start)}
	if int64(len(b)) > limit {
		return out, &TransportError{Kind: "too_large", Err: fmt.Errorf("response body larger than %d bytes", limit)}
	}
	return out, nil
}

// parsedURL is a URL string and what url.Parse made of it.
type parsedURL struct {
	raw string
	u   *url.URL
}

// newRequest is http.NewRequestWithContext(ctx, method, rawURL, nil), reusing the URL it parsed
// last when rawURL is the same string: parsing it and the request's empty header map were
// three allocations and half a microsecond per request. net/http's client only reads a
// request's URL, so one parsed URL serves concurrent requests.
func (t *HTTPTransport) newRequest(ctx context.Context, method, rawURL string) (*http.Request, error) {
	if !plainMethod(method) {
		return http.NewRequestWithContext(ctx, method, rawURL, nil) // its check, its error
	}
	p := t.lastURL.Load()
	if p == nil || p.raw != rawURL {
		u, err := url.Parse(rawURL)
		if err != nil || strings.HasSuffix(u.Host, ":") {
			// what NewRequestWithContext checks or changes (an empty port): its errors, its request
			return http.NewRequestWithContext(ctx, method, rawURL, nil)
		}
		p = &parsedURL{raw: rawURL, u: u}
		t.lastURL.Store(p)
	}
	r := http.Request{Method: method, URL: p.u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Host: p.u.Host}
	return r.WithContext(ctx), nil
}

// plainMethod: the methods a data action sends (engine's Action methods), which
// NewRequestWithContext accepts.
func plainMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

// readBody reads up to limit+1 bytes, in one allocation when the length is announced (net/http
// never gives more than an announced length, and reports a shorter body as an error).
func readBody(resp *http.Response, limit int64) ([]byte, error) {
	// a HEAD response (or a 204/304) announces a length but has no body: net/http gives NoBody
	if n := resp.ContentLength; n >= 0 && n <= limit && resp.Body != http.NoBody {
		b := make([]byte, n)
		_, err := io.ReadFull(resp.Body, b)
		return b, err
	}
	return io.ReadAll(io.LimitReader(resp.Body, limit+1))
}

// first is h.Get(key) for a key already canonical.
func first(h http.Header, key string) string {
	if vs := h[key]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}
