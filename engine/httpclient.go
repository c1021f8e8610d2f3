package engine

import (
	"errors"
	"net/http"
	"net/url"
	"time"
)

// NewHTTPClient is the client for archflow's requests outside data actions (webhook deliveries,
// token requests) until they too go through the Transport: like the data-action transport it
// never re-sends on its own and keeps no cookies; it follows same-origin redirects (at most
// MaxSameOriginRedirects) and never another origin's, whose 3xx is the answer (SPEC §11): a
// Location could otherwise carry a webhook's headers or a client secret anywhere.
func NewHTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout:   timeout,
		Transport: noReplay{rt: http.DefaultTransport.(*http.Transport).Clone()},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > MaxSameOriginRedirects {
				return errors.New("more than 5 redirects")
			}
			if !SameOrigin(via[0].URL, req.URL) {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
}

// MaxSameOriginRedirects is how many same-origin redirects one request follows.
const MaxSameOriginRedirects = 5

// SameOrigin compares scheme, host and port, the port defaulting by scheme.
func SameOrigin(a, b *url.URL) bool {
	port := func(u *url.URL) string {
		if p := u.Port(); p != "" {
			return p
		}
		if u.Scheme == "https" {
			return "443"
		}
		return "80"
	}
	return a.Scheme == b.Scheme && a.Hostname() == b.Hostname() && port(a) == port(b)
}
