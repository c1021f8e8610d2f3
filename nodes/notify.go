package nodes

import (
	"context"
	"fmt"

	"github.com/archflow/archflow/engine"
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

func init() {
	engine.RegisterKind(&engine.Kind{Name: "notify", Keys: []string{"next", "on_failure"}, Compile: compileNotify})
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
	ev := &engine.Event{Node: s.name, Kind: "notify", Event: "notify", Channel: nt.Channel, Subject: nt.Subject}
	if in.Capturing() {
		in.AddNotification(nt)
		in.Emit(ev)
		return s.next, nil
	}
	err = in.Deliver(ctx, s.channel, nt)
	if err != nil && ctx.Err() != nil {
		in.AddNotification(withError(in, nt, err))
		return nil, ctx.Err()
	}
	if err != nil {
		nt = withError(in, nt, err)
		ev.Outcome = "failure"
		ev.Message = nt.Error
		in.Emit(ev)
		in.AddNotification(nt)
		info := &engine.ErrorInfo{Class: engine.Permanent, Kind: "notify", Node: s.name,
			Message: fmt.Sprintf("delivery to channel %s failed: %s", nt.Channel, nt.Error)}
		if s.onFailure != nil {
			in.SetError(info)
			return s.onFailure, nil
		}
		// Not a runtime error: on_error would re-enter the escalation that just failed.
		in.EndWithError(info)
		return nil, nil
	}
	ev.Outcome = "delivered"
	in.Emit(ev)
	return s.next, nil
}

func withError(in *engine.Instance, nt *engine.Notification, err error) *engine.Notification {
	nt.Error = in.Redactor().String(err.Error())
	return nt
}
