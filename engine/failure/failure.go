// Package failure decides what a failure is: its class (transient, worth retrying, or
// permanent) and its kind (http, business, timeout, network, auth, runtime), for HTTP statuses,
// network errors and token endpoints alike. It is the one place archflow makes that call.
package failure

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
)

// ErrorInfo describes a failure: the `error` value of expressions and the result's error.
type ErrorInfo struct {
	Class   string `json:"class"`
	Kind    string `json:"kind"`
	Message string `json:"message"`
	Status  int    `json:"status,omitempty"`
	Node    string `json:"node,omitempty"`
}

// Value is the error as expressions see it: error.class, error.kind ...
func (e *ErrorInfo) Value() map[string]any {
	return map[string]any{"class": boxed(e.Class), "kind": boxed(e.Kind), "message": e.Message, "status": e.Status, "node": e.Node}
}

// boxedWords are the classes and kinds as interface values made once: an error kept in an
// instance's scope (by each of 100,000 parked instances) does not box them again.
var boxedWords = func() map[string]any {
	m := map[string]any{}
	for _, w := range []string{KindHTTP, KindBusiness, KindTimeout, KindNetwork, KindAuth, KindRuntime, Transient, Permanent} {
		m[w] = w
	}
	return m
}()

func boxed(w string) any {
	if b, ok := boxedWords[w]; ok {
		return b
	}
	return w
}

// Error lets a node kind return an ErrorInfo as the runtime error it routes to on_error.
func (e *ErrorInfo) Error() string { return e.Message }

// ---- classification ----

// DefaultTransientStatuses are the statuses worth retrying: the server may answer differently later.
var DefaultTransientStatuses = []int{
	http.StatusRequestTimeout,      // 408
	http.StatusTooEarly,            // 425
	http.StatusTooManyRequests,     // 429
	http.StatusInternalServerError, // 500
	http.StatusBadGateway,          // 502
	http.StatusServiceUnavailable,  // 503
	http.StatusGatewayTimeout,      // 504
}

// Failure kinds and classes, as `error.kind` and `error.class` show them.
const (
	KindHTTP     = "http"
	KindBusiness = "business"
	KindTimeout  = "timeout"
	KindNetwork  = "network"
	KindAuth     = "auth"
	KindRuntime  = "runtime"

	Transient = "transient"
	Permanent = "permanent"
)

// ClassifyStatus says whether a non-2xx status is worth retrying.
func ClassifyStatus(status int, transient []int) string {
	if transient == nil {
		transient = DefaultTransientStatuses
	}
	for _, s := range transient {
		if s == status {
			return Transient
		}
	}
	return Permanent
}

// ClassifyFailure is the class of a failure of the given kind: timeouts and transient network
// errors are transient; a business failure (2xx failing success) and auth failures are permanent.
func ClassifyFailure(kind string, status int, transientNet bool, transient []int) string {
	switch kind {
	case KindTimeout:
		return Transient
	case KindNetwork:
		if transientNet {
			return Transient
		}
		return Permanent
	case KindHTTP:
		return ClassifyStatus(status, transient)
	}
	return Permanent
}

// OfNetwork classifies a request that got no response: its kind (timeout, dns, tls, network),
// whether it is transient (timeouts, refused, reset or closed connections) or permanent
// (unknown host, TLS, a malformed URL), and the error to show. ctx is the request's own.
func OfNetwork(ctx context.Context, err error) (kind string, transient bool, shown error) {
	var dns *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var recErr tls.RecordHeaderError
	switch {
	case errors.Is(context.Cause(ctx), context.DeadlineExceeded), isTimeout(err):
		return KindTimeout, true, errors.New("no response within the timeout")
	case errors.As(err, &dns):
		if dns.IsNotFound {
			return "dns", false, fmt.Errorf("unknown host %s", dns.Name)
		}
		return "dns", dns.IsTemporary || dns.IsTimeout, err
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr), errors.As(err, &recErr),
		strings.Contains(err.Error(), "tls: "), strings.Contains(err.Error(), "x509: "):
		return "tls", false, err
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		strings.Contains(err.Error(), "connection reset"), strings.Contains(err.Error(), "server closed"):
		return KindNetwork, true, cleanNetError(err)
	}
	return KindNetwork, false, cleanNetError(err)
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
