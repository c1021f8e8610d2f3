package auth

import (
	"context"
	"encoding/base64"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/transport"
	"gopkg.in/yaml.v3"
)

// basic sends HTTP Basic credentials (RFC 7617).
type basic struct {
	name     string
	username setting
	password setting
}

// Basic declares the basic auth type.
func Basic() *engine.AuthType {
	return &engine.AuthType{
		Spec: engine.Spec{Name: "basic", Doc: "HTTP basic authentication.",
			Fields: []engine.Field{
				{Name: "username", Doc: "The user name, a template.", Schema: engine.Ref("template"), Required: true},
				{Name: "password", Doc: "The password, e.g. \"{{ secret('API_PASSWORD') }}\".", Schema: engine.Ref("template"), Required: true},
			},
		},
		Compile: compileBasic,
	}
}

func compileBasic(c *engine.Compiler, name string, keys map[string]*yaml.Node, at *yaml.Node) engine.Auth {
	return &basic{name: name, username: required(c, name, keys, at, "username"), password: credential(c, name, keys, at, "password")}
}

func (b *basic) Apply(ctx context.Context, in *engine.Instance, req *transport.Request, refresh bool) (bool, error) {
	if refresh {
		return false, nil
	}
	user, err := b.username.render(in, b.name, false)
	if err != nil {
		return false, err
	}
	pass, err := b.password.render(in, b.name, true)
	if err != nil {
		return false, err
	}
	cred := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	in.Redactor().Add(cred)
	req.Header.Set("Authorization", "Basic "+cred)
	return false, nil
}
