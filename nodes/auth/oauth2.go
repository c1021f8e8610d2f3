package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/failure"
	"github.com/archflow/archflow/engine/transport"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"gopkg.in/yaml.v3"
)

// Defaults of oauth2_client_credentials, named once.
const (
	// RefreshBefore is how long before its expiry a cached token is replaced (half the token's
	// lifetime for tokens that live less than twice as long).
	RefreshBefore = 30 * time.Second
	// TokenTimeout bounds a token request.
	TokenTimeout = 30 * time.Second
)

// authStyles say how the client authenticates to the token endpoint: HTTP Basic (the default),
// client_id/client_secret form parameters, or auto (Basic, then parameters after a refusal:
// two token requests when the client is refused).
var authStyles = map[string]oauth2.AuthStyle{
	"auto":   oauth2.AuthStyleAutoDetect,
	"header": oauth2.AuthStyleInHeader,
	"params": oauth2.AuthStyleInParams,
}

// clientCredentials is oauth2_client_credentials: a token from token_url, cached and shared by
// every instance of the flow, sent as Authorization: Bearer <token>.
type clientCredentials struct {
	name         string
	tokenURL     setting
	clientID     setting
	clientSecret setting
	scopes       []setting
	params       []setting
	style        oauth2.AuthStyle

	now func() time.Time // the wall clock token expiry is measured by

	mu     sync.Mutex
	caches map[cacheKey]*tokenCache // the one state instances share
}

// cacheKey tells apart token caches of one entry whose settings render differently (test cases
// with their own env:) or whose token requests go through different transports (each test
// case's scripted transport answers its own token requests).
type cacheKey struct {
	transport transport.Transport
	config    [sha256.Size]byte
}

// ClientCredentials declares the oauth2_client_credentials auth type; token expiry is measured
// by now, the wall clock.
func ClientCredentials(now func() time.Time) *engine.AuthType {
	return &engine.AuthType{
		Spec: engine.Spec{Name: "oauth2_client_credentials", Doc: "OAuth 2 client credentials: one cached token per entry, refreshed before expiry; on a 401 a new token and one re-send.",
			Fields: []engine.Field{
				{Name: "token_url", Doc: "The token endpoint, a template.", Schema: engine.Ref("template"), Required: true},
				{Name: "client_id", Doc: "The client id, a template.", Schema: engine.Ref("template"), Required: true},
				{Name: "client_secret", Doc: "The client secret, e.g. \"{{ secret('ERP_CLIENT_SECRET') }}\".", Schema: engine.Ref("template"), Required: true},
				{Name: "scopes", Doc: "Scopes asked for, e.g. [read, write].", Schema: engine.SchemaJSON(`{"type": "array", "items": {"$ref": "#/$defs/template"}}`)},
				{Name: "params", Doc: "Extra form parameters of the token request (an audience, a resource): name to template.", Schema: engine.Ref("headers")},
				{Name: "auth_style", Doc: "How the client credentials reach the token endpoint: header (default: HTTP basic), params (form fields) or auto (try the header, then the form).", Schema: engine.SchemaJSON(`{"enum": ["auto", "header", "params"]}`)},
			},
		},
		Compile: func(c *engine.Compiler, name string, keys map[string]*yaml.Node, at *yaml.Node) engine.Auth {
			return compileClientCredentials(c, name, keys, at, now)
		},
	}
}

func compileClientCredentials(c *engine.Compiler, name string, keys map[string]*yaml.Node, at *yaml.Node, now func() time.Time) engine.Auth {
	a := &clientCredentials{
		name:         name,
		now:          now,
		tokenURL:     required(c, name, keys, at, "token_url"),
		clientID:     required(c, name, keys, at, "client_id"),
		clientSecret: credential(c, name, keys, at, "client_secret"),
		style:        oauth2.AuthStyleInHeader, // RFC 6749 §2.3.1: every server must take Basic
		caches:       map[cacheKey]*tokenCache{},
	}
	if n := keys["scopes"]; n != nil {
		if n.Kind != yaml.SequenceNode {
			c.Errorf(n, "scopes expects a list, like [read, write]")
		} else {
			for _, it := range n.Content {
				a.scopes = append(a.scopes, setting{name: "scopes", tpl: c.Template(it)})
			}
		}
	}
	for _, p := range c.Pairs(keys["params"]) {
		a.params = append(a.params, setting{name: p[0].Value, tpl: c.Template(p[1])})
	}
	if n := keys["auth_style"]; n != nil {
		if s, ok := c.String(n); ok {
			st, known := authStyles[s]
			if !known {
				c.Errorf(n, "unknown auth_style %q (one of auto, header, params)", s)
			}
			a.style = st
		}
	}
	return a
}

// Apply sets a cached token, fetching one when there is none or it is about to expire. With
// refresh (after a 401) it replaces the token the request carried, unless another instance
// already has, and reports true: the request is to be re-sent.
func (a *clientCredentials) Apply(ctx context.Context, in *engine.Instance, req *transport.Request, refresh bool) (bool, error) {
	cfg, key, err := a.config(in)
	if err != nil {
		return false, err
	}
	cache := a.cache(key)
	stale := ""
	if refresh {
		stale = strings.TrimSpace(strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer"))
	}
	// The token request goes through the instance's transport like every other request.
	client := transport.HTTPClient(in.Transport(), transport.AuthPrefix+a.name, "", TokenTimeout)
	octx := context.WithValue(ctx, oauth2.HTTPClient, client)
	tok, err := cache.get(octx, stale, func(ctx context.Context) (*oauth2.Token, error) {
		tok, err := cfg.Token(ctx)
		if err != nil {
			return nil, a.tokenError(ctx, err)
		}
		return tok, nil
	})
	if err != nil {
		return false, err
	}
	in.Redactor().Add(tok.AccessToken)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	// After a 401 the request is re-sent once with the token now cached, even when the endpoint
	// handed out the same one again: a second 401 then makes it an auth failure.
	return refresh, nil
}

// config renders the entry's settings for this instance and names the cache they select.
func (a *clientCredentials) config(in *engine.Instance) (*clientcredentials.Config, cacheKey, error) {
	cfg := &clientcredentials.Config{AuthStyle: a.style}
	var err error
	if cfg.TokenURL, err = a.tokenURL.render(in, a.name, false); err != nil {
		return nil, cacheKey{}, err
	}
	if cfg.ClientID, err = a.clientID.render(in, a.name, false); err != nil {
		return nil, cacheKey{}, err
	}
	if cfg.ClientSecret, err = a.clientSecret.render(in, a.name, true); err != nil {
		return nil, cacheKey{}, err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%q %q %q %d", cfg.TokenURL, cfg.ClientID, cfg.ClientSecret, a.style)
	for _, s := range a.scopes {
		v, err := s.render(in, a.name, false)
		if err != nil {
			return nil, cacheKey{}, err
		}
		cfg.Scopes = append(cfg.Scopes, v)
		fmt.Fprintf(h, " scope %q", v)
	}
	for _, p := range a.params {
		v, err := p.render(in, a.name, false)
		if err != nil {
			return nil, cacheKey{}, err
		}
		if cfg.EndpointParams == nil {
			cfg.EndpointParams = map[string][]string{}
		}
		cfg.EndpointParams[p.name] = []string{v}
		fmt.Fprintf(h, " param %q=%q", p.name, v)
	}
	key := cacheKey{transport: transport.Base(in.Transport())} // a recorder around it shares the token
	copy(key.config[:], h.Sum(nil))
	return cfg, key, nil
}

func (a *clientCredentials) cache(key cacheKey) *tokenCache {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.caches[key]
	if c == nil {
		c = &tokenCache{lock: make(chan struct{}, 1), now: a.now}
		a.caches[key] = c
	}
	return c
}

// tokenError describes a failed token request: the endpoint refusing the client is permanent;
// an endpoint that is down or overloaded may answer later, so that is transient.
func (a *clientCredentials) tokenError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	info := &failure.ErrorInfo{Class: failure.Permanent, Kind: failure.KindAuth}
	var re *oauth2.RetrieveError
	var ne net.Error
	var te *transport.TransportError
	switch {
	case errors.As(err, &te) && !te.Transient:
		info.Message = fmt.Sprintf("auth %s: no token: %v", a.name, err)
	case errors.As(err, &re) && re.Response != nil:
		// error.status stays 0: it is the API's status, and the API was not asked
		code := re.Response.StatusCode
		if failure.ClassifyStatus(code, nil) == failure.Transient {
			info.Class = failure.Transient
			info.Message = fmt.Sprintf("auth %s: token endpoint answered HTTP %d", a.name, code)
		} else {
			info.Message = fmt.Sprintf("auth %s: token endpoint refused the client: HTTP %d", a.name, code)
		}
		if re.ErrorCode != "" {
			info.Message += " " + re.ErrorCode
			if re.ErrorDescription != "" {
				info.Message += ": " + re.ErrorDescription
			}
		}
	case errors.As(err, &te), errors.As(err, &ne):
		info.Class = failure.Transient
		info.Message = fmt.Sprintf("auth %s: token endpoint unreachable: %v", a.name, err)
	default:
		info.Message = fmt.Sprintf("auth %s: no token: %v", a.name, err)
	}
	return info
}

// tokenCache holds one token. Its lock is a channel so that an instance whose context ends
// stops waiting for another instance's token request.
type tokenCache struct {
	lock    chan struct{}
	now     func() time.Time
	tok     *oauth2.Token
	fetched time.Time
}

// get returns the cached token, fetching a new one when there is none, it is due for refresh,
// or it is the stale one a 401 was answered to. One fetch serves every waiting instance.
func (c *tokenCache) get(ctx context.Context, stale string, fetch func(context.Context) (*oauth2.Token, error)) (*oauth2.Token, error) {
	select {
	case c.lock <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-c.lock }()
	if c.tok != nil && c.fresh() && (stale == "" || c.tok.AccessToken != stale) {
		return c.tok, nil
	}
	c.tok = nil
	tok, err := fetch(ctx)
	if err != nil {
		return nil, err
	}
	c.tok, c.fetched = tok, c.now()
	return tok, nil
}

// fresh reports whether the token may still be sent: it has no expiry, or the expiry is more
// than RefreshBefore away (half its lifetime for short-lived tokens).
func (c *tokenCache) fresh() bool {
	if c.tok.Expiry.IsZero() {
		return true
	}
	margin := RefreshBefore
	if life := c.tok.Expiry.Sub(c.fetched); life < 2*RefreshBefore {
		margin = life / 2
	}
	return c.now().Add(margin).Before(c.tok.Expiry)
}
