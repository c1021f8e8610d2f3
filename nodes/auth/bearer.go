package auth

import (
	"context"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/transport"
	"gopkg.in/yaml.v3"
)

// bearer sends a fixed token: Authorization: Bearer <token>.
type bearer struct {
	name  string
	token setting
}

// Bearer declares the bearer auth type.
func Bearer() *engine.AuthType {
	return &engine.AuthType{
		Spec: engine.Spec{Name: "bearer", Doc: "A fixed bearer token sent as Authorization: Bearer <token>.",
			Fields: []engine.Field{
				{Name: "token", Doc: "The token, e.g. \"{{ secret('API_TOKEN') }}\".", Schema: engine.Ref("template"), Required: true},
			},
		},
		Compile: compileBearer,
	}
}

func compileBearer(c *engine.Compiler, name string, keys map[string]*yaml.Node, at *yaml.Node) engine.Auth {
	return &bearer{name: name, token: credential(c, name, keys, at, "token")}
}

// Apply sets the header; a fixed token cannot be refreshed, so a 401 stays a 401.
func (b *bearer) Apply(ctx context.Context, in *engine.Instance, req *transport.Request, refresh bool) (bool, error) {
	if refresh {
		return false, nil
	}
	tok, err := b.token.render(in, b.name, true)
	if err != nil {
		return false, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return false, nil
}
