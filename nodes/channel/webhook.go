package channel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/failure"
	"github.com/archflow/archflow/engine/transport"
	"gopkg.in/yaml.v3"
)

// Defaults of the webhook channel, named once.
const (
	DefaultWebhookTimeout = 10 * time.Second
	MaxWebhookTimeout     = 60 * time.Second
	webhookErrorBody      = 200     // bytes of a failed response's body quoted in the error
	webhookMaxBody        = 1 << 16 // bytes of an answer read; chat services answer briefly
)

// webhookChannel POSTs JSON: the notify's payload, or {"text": subject + "\n" + body}, which
// Slack and Teams incoming webhooks accept. Any status but 2xx is a failed delivery.
type webhookChannel struct {
	name     string
	url      *engine.Template
	headers  []engine.Header
	authName string
	auth     engine.Auth
	timeout  time.Duration
}

// Webhook declares the webhook channel type.
func Webhook() *engine.ChannelType {
	return &engine.ChannelType{
		Spec: engine.Spec{Name: "webhook", Doc: "A webhook: POSTs JSON, the notify node's rendered payload or by default {\"text\": subject + \"\\n\" + body}, which Slack and Teams accept.",
			Fields: []engine.Field{
				{Name: "url", Doc: "The webhook URL, a template.", Schema: engine.Ref("template"), Required: true},
				{Name: "headers", Doc: "Request headers: name to template.", Schema: engine.Ref("headers")},
				{Name: "auth", Doc: "The name of an entry of the auth: section.", Schema: engine.Ref("name")},
				{Name: "timeout", Doc: "How long a delivery may take (default 10s).", Schema: engine.Ref("duration")},
			},
		},
		Compile: compileWebhook,
	}
}

func compileWebhook(c *engine.Compiler, name string, keys map[string]*yaml.Node, at *yaml.Node) engine.Channel {
	w := &webhookChannel{name: name, timeout: DefaultWebhookTimeout}
	if n := keys["url"]; n != nil {
		w.url = c.Template(n)
	}
	if n := keys["url"]; n != nil && w.url != nil {
		c.Track(w.url.Exprs()...)
		if w.url.IsLiteral() {
			if _, err := webhookURL(n.Value); err != nil {
				c.Errorf(n, "url: %v", err)
			}
		}
	}
	for _, p := range c.Pairs(keys["headers"]) {
		t := c.Template(p[1])
		if t == nil {
			continue
		}
		c.Track(t.Exprs()...)
		w.headers = append(w.headers, engine.Header{Name: http.CanonicalHeaderKey(p[0].Value), Value: t})
	}
	if n := keys["auth"]; n != nil {
		if s, ok := c.String(n); ok {
			w.authName = s
			w.auth = c.Flow().Auth[s]
			if w.auth == nil {
				c.Errorf(n, "undefined auth %q%s", s, defined(c.Flow().Auth))
			}
		}
	}
	if n := keys["timeout"]; n != nil {
		if d, ok := c.Duration(n); ok {
			if d < time.Second || d > MaxWebhookTimeout {
				c.Errorf(n, "timeout %s is out of range: 1s..%s", d, MaxWebhookTimeout)
			} else {
				w.timeout = d
			}
		}
	}
	return w
}

func defined(m map[string]engine.Auth) string {
	if len(m) == 0 {
		return " (the flow defines no auth entries)"
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return " (defined: " + strings.Join(names, ", ") + ")"
}

func webhookURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an http(s) URL", s)
	}
	return u, nil
}

func (w *webhookChannel) Deliver(ctx context.Context, in *engine.Instance, n *engine.Notification) error {
	raw, err := w.url.Render(in)
	if err != nil {
		return err
	}
	u, err := webhookURL(raw)
	if err != nil {
		return fmt.Errorf("url: %v", err)
	}
	// Only scheme and host appear in errors: chat webhook URLs carry their token in the path.
	where := u.Scheme + "://" + u.Host
	body, err := json.Marshal(payload(n))
	if err != nil {
		return fmt.Errorf("webhook %s: payload is not JSON: %v", where, err)
	}
	req := &transport.Request{Action: transport.NotifyPrefix + w.name, Node: n.Node, Attempt: 1, Method: http.MethodPost, URL: raw, Header: http.Header{}, Body: body, Timeout: w.timeout}
	req.Header.Set("Content-Type", "application/json")
	for _, h := range w.headers {
		v, err := h.Value.Render(in)
		if err != nil {
			return err
		}
		req.Header.Set(h.Name, v)
	}
	if w.auth != nil {
		if _, err := w.auth.Apply(ctx, in, req, false); err != nil {
			return w.authError(where, err)
		}
	}
	status, text, err := w.post(ctx, in, req)
	if err == nil && status == http.StatusUnauthorized && w.auth != nil {
		// one fresh token and one re-send, as data actions do
		refreshed, aerr := w.auth.Apply(ctx, in, req, true)
		if aerr != nil {
			return w.authError(where, aerr)
		}
		if refreshed {
			status, text, err = w.post(ctx, in, req)
		}
	}
	if err != nil {
		return fmt.Errorf("webhook %s: %w", where, err)
	}
	if status < 200 || status > 299 {
		msg := fmt.Sprintf("webhook %s: %d %s", where, status, http.StatusText(status))
		if text != "" {
			msg += ": " + text
		}
		return errors.New(msg)
	}
	return nil
}

// authError names the auth entry unless the auth type's message already does.
func (w *webhookChannel) authError(where string, err error) error {
	if prefix := "auth " + w.authName + ":"; !strings.HasPrefix(err.Error(), prefix) {
		return fmt.Errorf("webhook %s: %s %v", where, prefix, err)
	}
	return fmt.Errorf("webhook %s: %v", where, err)
}

// payload is what is posted: the notify's payload, or Slack's and Teams' {"text": ...}.
func payload(n *engine.Notification) any {
	if n.Payload != nil {
		return n.Payload
	}
	text := n.Subject
	if n.Body != "" {
		if text != "" {
			text += "\n"
		}
		text += n.Body
	}
	return map[string]string{"text": text}
}

// post sends one request through the instance's transport (the one HTTP seam) and returns the
// status and the start of the body.
func (w *webhookChannel) post(ctx context.Context, in *engine.Instance, req *transport.Request) (int, string, error) {
	sent := *req
	sent.Header = req.Header.Clone() // a re-send after a 401 starts from the original headers
	sent.MaxBody = webhookMaxBody
	resp, err := transport.FollowSameOrigin(ctx, in.Transport(), &sent)
	if err != nil {
		var te *transport.TransportError
		switch {
		case ctx.Err() != nil:
			return 0, "", ctx.Err()
		case errors.As(err, &te) && te.Kind == failure.KindTimeout:
			return 0, "", fmt.Errorf("no response within %s", req.Timeout)
		case errors.As(err, &te) && te.Kind == "too_large" && resp != nil:
			// the answer is what matters, not its size
		default:
			return 0, "", err
		}
	}
	b := resp.Body
	cut := len(b) > webhookErrorBody
	if cut {
		b = b[:webhookErrorBody]
	}
	text := strings.TrimSpace(strings.ToValidUTF8(string(b), "")) // a rune cut in two is dropped
	if cut {
		text += "…"
	}
	return resp.Status, text, nil
}
