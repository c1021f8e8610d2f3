package engine

import (
	"strings"
	"time"

	"github.com/archflow/archflow/engine/transport"
	"github.com/archflow/archflow/engine/yamldoc"
	"gopkg.in/yaml.v3"
)

// Defaults of data actions, named once.
const (
	DefaultTimeout     = transport.DefaultTimeout
	MinTimeout         = 1 * time.Second
	MaxTimeout         = 60 * time.Second
	DefaultMaxBodySize = transport.DefaultMaxBodySize
)

// Action is a compiled data action: how to build the request and read the response.
type Action struct {
	Name              string
	Pos               yamldoc.Pos
	Method            string
	URL               *Template
	Headers           []Header
	Query             []Header
	Body              *Value
	IdempotencyKey    *Template
	Timeout           time.Duration
	Success           *Expr // nil: a 2xx status
	Outputs           []Output
	TransientStatuses []int // nil: DefaultTransientStatuses
	Classify          *Expr
	AuthName          string
	Auth              Auth
	MaxBodySize       int64
	// FollowRedirects follows redirects to other origins too (SPEC §11 Redirects).
	FollowRedirects bool
}

// Header is a named template (a request header or query parameter).
type Header struct {
	Name  string
	Value *Template
}

// Output maps an expression over the response into a variable.
type Output struct {
	Var  *Variable
	Expr *Expr
	Pos  yamldoc.Pos
}

var actionKeys = []string{"method", "url", "headers", "query", "body", "idempotency_key", "timeout", "success", "outputs", "transient_statuses", "classify", "auth", "max_body_size", "follow_redirects", "description"}

var methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

func (c *Compiler) compileActions(n *yaml.Node) {
	for _, p := range c.Pairs(n) {
		k, v := p[0], p[1]
		if !c.CheckName(k, "action") {
			continue
		}
		if _, dup := c.flow.Actions[k.Value]; dup {
			c.Errs.Add(yamldoc.PosOf(c.File, k), "action %s is defined twice", k.Value)
			continue
		}
		m := c.Mapping(v, actionKeys...)
		if m == nil {
			continue
		}
		a := &Action{Name: k.Value, Pos: yamldoc.PosOf(c.File, k), Method: "GET", Timeout: DefaultTimeout, MaxBodySize: DefaultMaxBodySize}
		if x := m["method"]; x != nil {
			a.Method = strings.ToUpper(x.Value)
			ok := false
			for _, mm := range methods {
				ok = ok || mm == a.Method
			}
			if !ok {
				c.Errs.Add(yamldoc.PosOf(c.File, x), "unknown method %q (one of %s)", x.Value, joinNames(methods))
			}
		}
		if x := m["url"]; x == nil {
			c.Errs.Add(yamldoc.PosOf(c.File, v), "action %s needs a url", k.Value)
		} else {
			a.URL = c.Template(x)
		}
		a.Headers = c.headers(m["headers"])
		a.Query = c.headers(m["query"])
		if x := m["body"]; x != nil {
			a.Body = c.Value(x)
		}
		if x := m["idempotency_key"]; x != nil {
			a.IdempotencyKey = c.Template(x)
		}
		if x := m["timeout"]; x != nil {
			if d, ok := c.Duration(x); ok {
				if d < MinTimeout || d > MaxTimeout {
					c.Errs.Add(yamldoc.PosOf(c.File, x), "timeout must be between 1s and 60s, as in Architect; got %s", d)
				}
				a.Timeout = d
			}
		}
		if x := m["success"]; x != nil {
			a.Success = c.Cond(x)
		}
		if x := m["classify"]; x != nil {
			a.Classify = c.Expr(x)
		}
		if x := m["follow_redirects"]; x != nil {
			a.FollowRedirects = c.Bool(x)
		}
		if x := m["max_body_size"]; x != nil {
			if i, ok := c.Int(x); ok {
				if i <= 0 {
					c.Errs.Add(yamldoc.PosOf(c.File, x), "max_body_size must be positive")
				}
				a.MaxBodySize = int64(i)
			}
		}
		if x := m["transient_statuses"]; x != nil {
			if x.Kind != yaml.SequenceNode {
				c.Errs.Add(yamldoc.PosOf(c.File, x), "transient_statuses expects a list of status codes")
			} else {
				a.TransientStatuses = []int{}
				for _, it := range x.Content {
					if s, ok := c.Int(it); ok {
						if s < 100 || s > 599 {
							c.Errs.Add(yamldoc.PosOf(c.File, it), "%d is not an HTTP status", s)
						}
						a.TransientStatuses = append(a.TransientStatuses, s)
					}
				}
			}
		}
		if x := m["auth"]; x != nil {
			if name, ok := c.String(x); ok {
				a.AuthName = name
				a.Auth = c.flow.Auth[name]
				if a.Auth == nil {
					c.Errs.Add(yamldoc.PosOf(c.File, x), "undefined auth %q%s", name, yamldoc.DidYouMean(name, sortedKeys(c.flow.Auth)))
				}
			}
		}
		for _, op := range c.Pairs(m["outputs"]) {
			vr := c.VarRef(op[0])
			e := c.Expr(op[1])
			if vr != nil && e != nil && !vr.Type.accepts(e.Type) {
				c.Errs.Add(yamldoc.PosOf(c.File, op[1]), "cannot map %s to %s (type %s)", staticTypeName(e.Type), vr.Name, vr.Type)
			}
			if vr != nil && e != nil {
				a.Outputs = append(a.Outputs, Output{Var: vr, Expr: e, Pos: yamldoc.PosOf(c.File, op[0])})
			}
		}
		c.Track(a.Success, a.Classify)
		for _, o := range a.Outputs {
			c.Track(o.Expr)
		}
		c.flow.Actions[a.Name] = a
	}
}

func (c *Compiler) headers(n *yaml.Node) []Header {
	var out []Header
	for _, p := range c.Pairs(n) {
		t := c.Template(p[1])
		if t != nil {
			out = append(out, Header{Name: p[0].Value, Value: t})
		}
	}
	return out
}

// ActionRef resolves an action name.
func (c *Compiler) ActionRef(n *yaml.Node) *Action {
	name, ok := c.String(n)
	if !ok {
		return nil
	}
	a := c.flow.Actions[name]
	if a == nil {
		c.Errs.Add(yamldoc.PosOf(c.File, n), "undefined action %q%s", name, yamldoc.DidYouMean(name, sortedKeys(c.flow.Actions)))
	}
	return a
}
