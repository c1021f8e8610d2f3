package engine

import (
	"net/http"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Defaults of data actions, named once.
const (
	DefaultTimeout     = 10 * time.Second
	MinTimeout         = 1 * time.Second
	MaxTimeout         = 60 * time.Second
	DefaultMaxBodySize = 1 << 20
)

// Action is a compiled data action: how to build the request and read the response.
type Action struct {
	Name              string
	Pos               Pos
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
	Pos  Pos
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
			c.errs.Add(PosOf(c.file, k), "action %s is defined twice", k.Value)
			continue
		}
		m := c.mapping(v, actionKeys...)
		if m == nil {
			continue
		}
		a := &Action{Name: k.Value, Pos: PosOf(c.file, k), Method: "GET", Timeout: DefaultTimeout, MaxBodySize: DefaultMaxBodySize}
		if x := m["method"]; x != nil {
			a.Method = strings.ToUpper(x.Value)
			ok := false
			for _, mm := range methods {
				ok = ok || mm == a.Method
			}
			if !ok {
				c.errs.Add(PosOf(c.file, x), "unknown method %q (one of %s)", x.Value, joinNames(methods))
			}
		}
		if x := m["url"]; x == nil {
			c.errs.Add(PosOf(c.file, v), "action %s needs a url", k.Value)
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
					c.errs.Add(PosOf(c.file, x), "timeout must be between 1s and 60s, as in Architect; got %s", d)
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
					c.errs.Add(PosOf(c.file, x), "max_body_size must be positive")
				}
				a.MaxBodySize = int64(i)
			}
		}
		if x := m["transient_statuses"]; x != nil {
			if x.Kind != yaml.SequenceNode {
				c.errs.Add(PosOf(c.file, x), "transient_statuses expects a list of status codes")
			} else {
				a.TransientStatuses = []int{}
				for _, it := range x.Content {
					if s, ok := c.Int(it); ok {
						if s < 100 || s > 599 {
							c.errs.Add(PosOf(c.file, it), "%d is not an HTTP status", s)
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
					c.errs.Add(PosOf(c.file, x), "undefined auth %q%s", name, didYouMean(name, sortedKeys(c.flow.Auth)))
				}
			}
		}
		for _, op := range c.Pairs(m["outputs"]) {
			vr := c.VarRef(op[0])
			e := c.Expr(op[1])
			if vr != nil && e != nil && !vr.Type.accepts(e.Type) {
				c.errs.Add(PosOf(c.file, op[1]), "cannot map %s to %s (type %s)", staticTypeName(e.Type), vr.Name, vr.Type)
			}
			if vr != nil && e != nil {
				a.Outputs = append(a.Outputs, Output{Var: vr, Expr: e, Pos: PosOf(c.file, op[0])})
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
	if c.cur != nil {
		c.cur.Action = a
	}
	if a == nil {
		c.errs.Add(PosOf(c.file, n), "undefined action %q%s", name, didYouMean(name, sortedKeys(c.flow.Actions)))
	}
	return a
}

// ---- classification ----

// DefaultTransientStatuses are the statuses worth retrying: the server may answer differently later.
var DefaultTransientStatuses = []int{
	http.StatusRequestTimeout,      // 408
	http.StatusTooEarly,            // 425
	http.StatusTooManyRequests,     // 429
	http.StatusInternalServerError, // 500
	http.StatusBadGateway,          // 502
	http.StatusServiceUnavailable,  // 503
	http.StatusGatewayTimeout,      // 504
}

// Failure kinds and classes, as `error.kind` and `error.class` show them.
const (
	KindHTTP     = "http"
	KindBusiness = "business"
	KindTimeout  = "timeout"
	KindNetwork  = "network"
	KindAuth     = "auth"
	KindRuntime  = "runtime"

	Transient = "transient"
	Permanent = "permanent"
)

// ClassifyStatus says whether a non-2xx status is worth retrying.
func ClassifyStatus(status int, transient []int) string {
	if transient == nil {
		transient = DefaultTransientStatuses
	}
	for _, s := range transient {
		if s == status {
			return Transient
		}
	}
	return Permanent
}

// ClassifyFailure is the class of a failure of the given kind: timeouts and transient network
// errors are transient; a business failure (2xx failing success) and auth failures are permanent.
func ClassifyFailure(kind string, status int, transientNet bool, transient []int) string {
	switch kind {
	case KindTimeout:
		return Transient
	case KindNetwork:
		if transientNet {
			return Transient
		}
		return Permanent
	case KindHTTP:
		return ClassifyStatus(status, transient)
	}
	return Permanent
}
