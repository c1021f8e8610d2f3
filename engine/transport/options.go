package transport

import (
	"net"
	"net/http"
	"time"
)

// Defaults of the connection pool, named once. A batch of N concurrent instances against one
// API needs N idle connections to that host, or every request beyond the pool's size opens a
// new TCP connection and leaves the old one in TIME_WAIT (resty's default keeps GOMAXPROCS+1).
const (
	DefaultMaxIdlePerHost = 64
	DefaultIdleTimeout    = 90 * time.Second
)

// Option tunes an HTTPTransport.
type Option func(*poolConfig)

type poolConfig struct {
	maxIdlePerHost int
	idleTimeout    time.Duration
}

// WithMaxIdlePerHost keeps up to n idle keep-alive connections per host: `run` passes its
// --concurrency, so a batch reuses one connection per worker. n < 1 keeps the default.
func WithMaxIdlePerHost(n int) Option {
	return func(c *poolConfig) {
		if n >= 1 {
			c.maxIdlePerHost = n
		}
	}
}

// newNetTransport is net/http's transport as http.DefaultTransport configures it (proxy from
// the environment, HTTP/2 when the server offers it), with the pool sized by c.
func newNetTransport(c poolConfig) *http.Transport {
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          max(100, c.maxIdlePerHost),
		MaxIdleConnsPerHost:   c.maxIdlePerHost,
		IdleConnTimeout:       c.idleTimeout,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
	}
}
