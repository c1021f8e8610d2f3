package transport

import (
	"context"
	"errors"
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
		next, from, to, err := Redirected(req, resp.Status, resp.Header.Get("Location"))
		if err != nil || !SameOrigin(from, to) {
			return resp, nil
		}
		req = next
	}
}

// Redirected is the request that follows a redirect of req (status, Location loc, which may be
// relative), with the URLs it goes from and to. 301, 302 and 303 turn a request with a body into
// a GET, as browsers and net/http do. A Location that is missing or not http(s) is an error.
func Redirected(req *Request, status int, loc string) (next *Request, from, to *url.URL, err error) {
	if loc == "" {
		return nil, nil, nil, errors.New("the redirect has no Location")
	}
	if from, err = url.Parse(req.URL); err != nil {
		return nil, nil, nil, errors.New("the request URL does not parse")
	}
	if to, err = from.Parse(loc); err != nil || (to.Scheme != "http" && to.Scheme != "https") {
		return nil, nil, nil, errors.New("the Location is not an http(s) URL")
	}
	n := *req
	n.URL, n.Header = to.String(), req.Header.Clone()
	if status != http.StatusTemporaryRedirect && status != http.StatusPermanentRedirect &&
		(status == http.StatusSeeOther || req.Method == http.MethodPost) {
		if req.Method != http.MethodHead {
			n.Method = http.MethodGet
		}
		n.Body = nil
		n.Header.Del("Content-Type")
	}
	return &n, from, to, nil
}
