package transport

import "crypto/tls"

// TrustTLS makes tr's connections use c (an httptest TLS server's client configuration).
func TrustTLS(tr *HTTPTransport, c *tls.Config) { tr.net.TLSClientConfig = c.Clone() }
