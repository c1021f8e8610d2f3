package auth

import (
	"context"
	"fmt"
	"net/url"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/transport"
	"gopkg.in/yaml.v3"
)

// apiKey sends a key in a header (header: X-Api-Key) or a query parameter (query: api_key).
type apiKey struct {
	name   string
	header string
	query  string
	value  setting
}

// APIKey declares the api_key auth type.
func APIKey() *engine.AuthType {
	return &engine.AuthType{
		Spec: engine.Spec{Name: "api_key", Doc: "An API key sent in a header or a query parameter.",
			Fields: []engine.Field{
				{Name: "header", Doc: "The header that carries the key (give header or query).", Schema: engine.SchemaJSON(`{"type": "string"}`)},
				{Name: "query", Doc: "The query parameter that carries the key (give header or query).", Schema: engine.SchemaJSON(`{"type": "string"}`)},
				{Name: "value", Doc: "The key, e.g. \"{{ secret('API_KEY') }}\".", Schema: engine.Ref("template"), Required: true},
			},
			Constraints: engine.SchemaJSON(`{"oneOf": [{"required": ["header"]}, {"required": ["query"]}]}`),
		},
		Compile: compileAPIKey,
	}
}

func compileAPIKey(c *engine.Compiler, name string, keys map[string]*yaml.Node, at *yaml.Node) engine.Auth {
	a := &apiKey{name: name, value: credential(c, name, keys, at, "value")}
	h, q := keys["header"], keys["query"]
	switch {
	case h == nil && q == nil:
		c.Errorf(at, "auth %s needs header: (a header name) or query: (a query parameter name)", name)
	case h != nil && q != nil:
		c.Errorf(q, "auth %s takes header: or query:, not both", name)
	case h != nil:
		a.header, _ = c.String(h)
		if a.header == "" || !validHeaderName(a.header) {
			c.Errorf(h, "auth %s: %q is not a valid header name", name, a.header)
		}
	default:
		a.query, _ = c.String(q)
		if a.query == "" {
			c.Errorf(q, "auth %s: query: needs a parameter name", name)
		}
	}
	return a
}

func validHeaderName(s string) bool {
	for _, r := range s {
		if r <= ' ' || r >= 0x7f || r == ':' {
			return false
		}
	}
	return true
}

func (a *apiKey) Apply(ctx context.Context, in *engine.Instance, req *transport.Request, refresh bool) (bool, error) {
	if refresh {
		return false, nil
	}
	v, err := a.value.render(in, a.name, true)
	if err != nil {
		return false, err
	}
	if a.header != "" {
		req.Header.Set(a.header, v)
		return false, nil
	}
	in.Redactor().Add(url.QueryEscape(v)) // the URL in the trace carries the encoded form
	u, err := url.Parse(req.URL)
	if err != nil {
		return false, fmt.Errorf("auth %s: cannot add the key to the url: %v", a.name, err)
	}
	q := u.Query()
	q.Set(a.query, v)
	u.RawQuery = q.Encode()
	req.URL = u.String()
	return false, nil
}
