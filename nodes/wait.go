package nodes

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/trace"
	"github.com/archflow/archflow/engine/yamldoc"
	"gopkg.in/yaml.v3"
)

// DefaultMaxWait is Architect's longest wait.
const DefaultMaxWait = 72 * time.Hour

// wait pauses the instance: wait: V or wait: {for: V | until: T, max, trim}.
type wait struct {
	dur   *engine.Template // for
	until *engine.Template
	max   time.Duration
	trim  bool
	next  *engine.Edge
}

// Wait declares the wait kind.
func Wait() *engine.Kind {
	return &engine.Kind{
		Spec: engine.Spec{Name: "wait", Doc: "pauses the instance (on a virtual clock, at once). Routes: next.",
			Fields:  []engine.Field{nextField("The node after the wait.")},
			Example: "backoff:\n  wait: \"{{ [30, 60, 120][retry_count - 1] }}\"\n  next: call",
		},
		Value: engine.Field{Doc: "Seconds (fractions allowed), a Go duration string (90s, 1m30s), a template giving either, or {for | until, max, trim}.",
			Schema: engine.SchemaJSON(`{"anyOf": [{"type": "number"}, {"type": "string"}, {"type": "object", "additionalProperties": false, "oneOf": [{"required": ["for"]}, {"required": ["until"]}], "properties": {"for": {"description": "How long: seconds, a duration or a template giving either.", "type": ["number", "string"]}, "until": {"description": "Until when: a datetime (RFC 3339) or a template giving one.", "type": "string"}, "max": {"description": "The longest wait (default 72h, as Architect); longer is an error unless trim: true.", "$ref": "#/$defs/duration"}, "trim": {"description": "Cut a longer wait to max instead of failing.", "type": "boolean"}}}]}`)},
		Shape:    engine.ShapeWait,
		Describe: describeWait,
		Compile:  compileWait,
	}
}

// WaitsOnClock: a wait node waits.
func (w *wait) WaitsOnClock() bool { return true }

// describeWait reads a wait event (also a retry policy's wait between attempts).
func describeWait(e *trace.Event) (trace.Line, bool) {
	if e.Event != "wait" || e.Seconds == nil {
		return trace.Line{}, false
	}
	return trace.Line{Text: "wait " + trace.FormatSeconds(*e.Seconds)}, true
}

func compileWait(c *engine.Compiler, n *engine.Node, spec *yaml.Node, keys map[string]*yaml.Node) engine.Step {
	w := &wait{max: DefaultMaxWait}
	var forN *yaml.Node
	if spec.Kind == yaml.MappingNode {
		m := c.Mapping(spec, "for", "until", "max", "trim")
		if m != nil {
			forN = m["for"]
			if (m["for"] == nil) == (m["until"] == nil) {
				c.Errorf(spec, "wait needs exactly one of for: and until:")
			}
			if u := m["until"]; u != nil {
				w.until = c.Template(u)
			}
			if x := m["max"]; x != nil {
				if d, ok := c.Duration(x); ok {
					if d <= 0 {
						c.Errorf(x, "wait max must be positive; got %s", d)
					}
					w.max = d
				}
			}
			w.trim = c.Bool(m["trim"])
		}
	} else {
		forN = spec
	}
	if forN != nil {
		t := forN
		if forN.Kind == yaml.ScalarNode && forN.Tag != "!!str" {
			t = literalTemplate(forN)
		}
		w.dur = c.Template(t)
		literal, isLiteral := "", false
		switch {
		case forN.Kind == yaml.ScalarNode && (forN.Tag == "!!int" || forN.Tag == "!!float"):
			literal, isLiteral = forN.Value, true // a number of seconds, compiled as an expression
			var f float64
			if forN.Decode(&f) == nil {
				literal = strconv.FormatFloat(f, 'g', -1, 64)
			}
		case w.dur != nil && w.dur.IsLiteral():
			literal, isLiteral = w.dur.Src, true
		}
		if isLiteral {
			if d, err := yamldoc.ParseDuration(literal); err != nil {
				c.Errorf(forN, "wait: %v", err)
			} else if d < 0 {
				c.Errorf(forN, "wait of %s is negative", d)
			} else if d > w.max && !w.trim {
				c.Errorf(forN, "wait of %s is longer than its max %s (add trim: true to cut it to max)", d, w.max)
			}
		}
		if w.dur != nil {
			c.Track(w.dur.Exprs()...)
		}
	}
	if w.until != nil {
		c.Track(w.until.Exprs()...)
	}
	w.next = requireNext(c, n, keys)
	return w
}

// waitDuration converts a wait value: a number of seconds, a duration string or a duration.
func waitDuration(v any) (time.Duration, error) {
	switch x := v.(type) {
	case time.Duration:
		return x, nil
	case string:
		d, err := yamldoc.ParseDuration(x)
		if errors.Is(err, yamldoc.ErrDurationRange) {
			return d, nil // saturated: above max (an error unless trim), or a zero wait
		}
		return d, err
	case nil:
		return 0, fmt.Errorf("wait value is NOT_SET")
	}
	d, err := engine.Seconds(v)
	if err != nil {
		return 0, fmt.Errorf("wait value %v is neither seconds nor a duration", v)
	}
	return yamldoc.DurationOfSeconds(d)
}

func (w *wait) Exec(ctx context.Context, in *engine.Instance) (*engine.Edge, error) {
	d, err := w.start(in)
	if err != nil {
		return nil, err
	}
	return in.WaitThen(ctx, d, w.next)
}

// start computes, records and traces the wait. It is not inlined into Exec so that the frame an
// instance is parked under stays small: the runtime halves a parked goroutine's stack only when
// under a quarter of it is in use, and 100,000 waiting instances are 100,000 stacks.
//
//go:noinline
func (w *wait) start(in *engine.Instance) (time.Duration, error) {
	var d time.Duration
	var until *time.Time
	now := in.Clock().Now()
	if w.until != nil {
		v, err := w.until.Eval(in)
		if err != nil {
			return 0, err
		}
		var t time.Time
		switch x := v.(type) {
		case time.Time:
			t = x
		case string:
			t, err = time.Parse(time.RFC3339Nano, x)
			if err != nil {
				return 0, fmt.Errorf("%s: wait until %q: not an RFC 3339 time", w.until.Pos, x)
			}
		default:
			return 0, fmt.Errorf("%s: wait until: %v is not a datetime", w.until.Pos, v)
		}
		until = &t
		d = t.Sub(now)
	} else {
		v, err := w.dur.Eval(in)
		if err != nil {
			return 0, err
		}
		d, err = waitDuration(v)
		if errors.Is(err, yamldoc.ErrDurationRange) {
			err = nil // saturated: above max (an error unless trim), or a zero wait
		}
		if err != nil {
			return 0, fmt.Errorf("%s: %v", w.dur.Pos, err)
		}
	}
	if d > w.max {
		if !w.trim {
			return 0, fmt.Errorf("wait of %s is longer than its max %s", d, w.max)
		}
		d = w.max
	}
	if d < 0 {
		d = 0
	}
	secs := d.Seconds()
	in.RecordWait(secs)
	if in.Tracing() {
		u := now.Add(d)
		if until != nil {
			u = *until
		}
		in.Emit(&trace.Event{Node: w.next.From.Name, Kind: "wait", Event: "wait", Seconds: &secs, Until: &u})
	}
	return d, nil
}
