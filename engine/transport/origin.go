package transport

import (
	"context"
	"net/http"
	"net/url"
)

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

// IsRedirect reports a status that redirects (and carries a Location to follow).
func IsRedirect(status int) bool {
	switch status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// FollowSameOrigin sends req through t and follows same-origin redirects, at most
// MaxSameOriginRedirects, as SPEC §11 allows for the requests that are not data actions (webhook
// deliveries, token requests): a redirect to another origin is not followed and its 3xx is the
// answer, so a webhook's headers or a client secret never leave their origin.
func FollowSameOrigin(ctx context.Context, t Transport, req *Request) (*Response, error) {
	for hops := 0; ; hops++ {
		resp, err := t.Do(ctx, req)
		if err != nil || !IsRedirect(resp.Status) || hops >= MaxSameOriginRedirects {
			return resp, err
		}
		from, err1 := url.Parse(req.URL)
		to, err2 := from.Parse(resp.Header.Get("Location"))
		if err1 != nil || err2 != nil || resp.Header.Get("Location") == "" || !SameOrigin(from, to) {
			return resp, nil
		}
		next := *req
		next.URL, next.Header = to.String(), req.Header.Clone()
		// 301, 302 and 303 turn a request with a body into a GET, as net/http does.
		if resp.Status != http.StatusTemporaryRedirect && resp.Status != http.StatusPermanentRedirect &&
			(resp.Status == http.StatusSeeOther || req.Method == http.MethodPost) {
			next.Method, next.Body = http.MethodGet, nil
			next.Header.Del("Content-Type")
		}
		req = &next
	}
}
