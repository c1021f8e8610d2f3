package nodes

import (
	"context"
	"fmt"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/failure"
	"github.com/archflow/archflow/engine/trace"
	"gopkg.in/yaml.v3"
)

// notify renders a message and delivers it to a channel. A failed delivery takes on_failure;
// with none the instance ends with outcome error and keeps the notification in its result.
type notify struct {
	channel   *engine.ChannelRef
	subject   *engine.Template
	body      *engine.Template
	payload   *engine.Value
	next      *engine.Edge
	onFailure *engine.Edge
	name      string
}

// Notify declares the notify kind.
func Notify() *engine.Kind {
	return &engine.Kind{
		Spec: engine.Spec{Name: "notify", Doc: "renders subject and body (or payload, for webhooks) and delivers them to a channel. A failed delivery takes on_failure; with none the instance ends with outcome error. Routes: next, on_failure.",
			Fields: []engine.Field{
				nextField("The node after a delivery."),
				{Name: "on_failure", Doc: "Where a failed delivery goes.", Schema: engine.Ref("nodeRef")},
			},
			Example: "escalate:\n  notify:\n    channel: deadletter\n    subject: \"Retry exhausted for {{ request_id }}\"\n  next: failed",
		},
		Value: engine.Field{Doc: "The message: channel, and subject, body or payload.",
			Schema: engine.SchemaJSON(`{"type": "object", "additionalProperties": false, "required": ["channel"], "anyOf": [{"required": ["subject"]}, {"required": ["body"]}, {"required": ["payload"]}], "properties": {"channel": {"description": "The name of a channel of the channels: section.", "$ref": "#/$defs/name"}, "subject": {"description": "The subject, a template.", "$ref": "#/$defs/template"}, "body": {"description": "The body, a template.", "$ref": "#/$defs/template"}, "payload": {"description": "For webhooks: the JSON sent, its strings templates."}}}`)},
		Shape:    engine.ShapeMessage,
		Describe: describeNotify,
		Compile:  compileNotify,
	}
}

// NotifiesChannel is the channel the node delivers to.
func (s *notify) NotifiesChannel() *engine.ChannelRef { return s.channel }

func describeNotify(e *trace.Event) (trace.Line, bool) {
	if e.Event != "notify" {
		return trace.Line{}, false
	}
	l := trace.Line{Text: fmt.Sprintf("notify %s: %s", e.Channel, e.Subject)}
	if e.Outcome == "failure" {
		l.Text += " — delivery failed: " + e.Message
		l.Tone = trace.ToneBad
	}
	return l, true
}

func compileNotify(c *engine.Compiler, n *engine.Node, spec *yaml.Node, keys map[string]*yaml.Node) engine.Step {
	s := &notify{name: n.Name}
	m := c.Mapping(spec, "channel", "subject", "body", "payload")
	if m != nil {
		if m["channel"] == nil {
			c.Errorf(spec, "notify needs a channel")
		} else {
			s.channel = c.ChannelRef(m["channel"])
		}
		if x := m["subject"]; x != nil {
			s.subject = c.Template(x)
		}
		if x := m["body"]; x != nil {
			s.body = c.Template(x)
		}
		if x := m["payload"]; x != nil {
			s.payload = c.Value(x)
		}
		if s.subject == nil && s.body == nil && s.payload == nil {
			c.Errorf(spec, "notify needs a subject, a body or a payload")
		}
		for _, t := range []*engine.Template{s.subject, s.body} {
			if t != nil {
				c.Track(t.Exprs()...)
			}
		}
		c.Track(s.payload.Exprs()...)
	}
	s.next = requireNext(c, n, keys)
	s.onFailure = c.Edge(n, "on_failure", keys["on_failure"])
	return s
}

// Render fills in the notification's text; exported for the test runner's captures.
func (s *notify) render(in *engine.Instance) (*engine.Notification, error) {
	nt := &engine.Notification{Channel: s.channel.Name, Type: s.channel.Type, Node: s.name,
		Time: in.Clock().Now(), Flow: in.Flow().Name, Instance: in.ID(), Outputs: in.Outputs()}
	var err error
	if s.subject != nil {
		if nt.Subject, err = s.subject.Render(in); err != nil {
			return nil, err
		}
	}
	if s.body != nil {
		if nt.Body, err = s.body.Render(in); err != nil {
			return nil, err
		}
	}
	if s.payload != nil {
		if nt.Payload, err = s.payload.Eval(in); err != nil {
			return nil, err
		}
	}
	r := in.Redactor()
	nt.Subject, nt.Body, nt.Payload = r.String(nt.Subject), r.String(nt.Body), r.Value(nt.Payload)
	return nt, nil
}

func (s *notify) Exec(ctx context.Context, in *engine.Instance) (*engine.Edge, error) {
	nt, err := s.render(in)
	if err != nil {
		return nil, err
	}
	emit := func(outcome, msg string) {
		if in.Tracing() {
			in.Emit(&trace.Event{Node: s.name, Kind: "notify", Event: "notify", Channel: nt.Channel, Subject: nt.Subject, Outcome: outcome, Message: msg})
		}
	}
	err = in.Channel(s.channel).Deliver(ctx, in, nt)
	if err != nil && ctx.Err() != nil {
		in.AddNotification(withError(in, nt, err))
		return nil, ctx.Err()
	}
	if err != nil {
		nt = withError(in, nt, err)
		emit("failure", nt.Error)
		in.AddNotification(nt)
		info := &failure.ErrorInfo{Class: failure.Permanent, Kind: "notify", Node: s.name,
			Message: fmt.Sprintf("delivery to channel %s failed: %s", nt.Channel, nt.Error)}
		if s.onFailure != nil {
			in.SetError(info)
			return s.onFailure, nil
		}
		// Not a runtime error: on_error would re-enter the escalation that just failed.
		in.EndWithError(info)
		return nil, nil
	}
	emit("delivered", "")
	return s.next, nil
}

func withError(in *engine.Instance, nt *engine.Notification, err error) *engine.Notification {
	nt.Error = in.Redactor().String(err.Error())
	return nt
}
