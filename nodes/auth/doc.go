// Package auth holds archflow's auth types, one file each: bearer, basic, api_key and
// oauth2_client_credentials. Each declares its settings once (an engine.AuthType); Types lists
// them for a registry. A data action or webhook names an entry of the flow's auth: section and
// Apply runs before every request it sends.
//
// Settings are templates rendered per instance (so env() and secret() resolve in the instance's
// environment), and every credential value is registered with the instance's redactor before it
// touches a request, so it never reaches a trace, a result or an error message.
package auth

import (
	"fmt"
	"time"

	"github.com/archflow/archflow/engine"
	"gopkg.in/yaml.v3"
)

// setting is one compiled auth setting.
type setting struct {
	name string
	tpl  *engine.Template
}

// required compiles the setting key of keys (its absence is reported from the declaration).
func required(c *engine.Compiler, entry string, keys map[string]*yaml.Node, at *yaml.Node, key string) setting {
	n := keys[key]
	if n == nil {
		return setting{name: key}
	}
	return setting{name: key, tpl: c.Template(n)}
}

// RuleSecretInFlow is the lint rule of a credential written in the flow file.
const RuleSecretInFlow = "secret-in-flow"

// credential compiles a setting that holds a credential. SPEC §3: secrets come from the
// environment or --env-file, never from the flow file, so a literal value is warned of.
func credential(c *engine.Compiler, entry string, keys map[string]*yaml.Node, at *yaml.Node, key string) setting {
	s := required(c, entry, keys, at, key)
	if s.tpl != nil && s.tpl.IsLiteral() {
		c.Warnf(keys[key], RuleSecretInFlow, "take it from the environment or an --env-file: \"{{ secret('NAME') }}\"",
			"auth %s: %s is written in the flow file, where anyone who reads the flow can see it", entry, key)
	}
	return s
}

// render renders a setting; secret marks a credential, which is registered for redaction.
func (s setting) render(in *engine.Instance, entry string, secret bool) (string, error) {
	if s.tpl == nil {
		return "", fmt.Errorf("auth %s: %s is not set", entry, s.name)
	}
	v, err := s.tpl.Render(in)
	if err != nil {
		return "", fmt.Errorf("auth %s: %s: %w", entry, s.name, err)
	}
	if secret {
		in.Redactor().Add(v)
	}
	if v == "" {
		return "", fmt.Errorf("auth %s: %s is empty", entry, s.name)
	}
	return v, nil
}

// Types returns the built-in auth types. now is the wall clock that OAuth token expiry is
// measured by (time.Now; tests pass their own).
func Types(now func() time.Time) []*engine.AuthType {
	return []*engine.AuthType{ClientCredentials(now), Bearer(), Basic(), APIKey()}
}
