package nodes

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/failure"
	"github.com/archflow/archflow/engine/trace"
	"github.com/archflow/archflow/engine/yamldoc"
	"gopkg.in/yaml.v3"
)

// Defaults of the retry: policy, named once. The default backoff is the seed's schedule
// (30s, 60s, 120s ...), so that `retry: {}` behaves like the hand-built loop of SPEC §1.
const (
	DefaultMaxAttempts     = 3
	MaxMaxAttempts         = 100
	DefaultInitial         = 30 * time.Second
	DefaultMultiplier      = 2.0
	DefaultBackoffMax      = 10 * time.Minute
	DefaultRetryAfterMax   = 15 * time.Minute
	DefaultRetryAfterMode  = raOverride
	DefaultJitter          = jitterNone
	defaultRetryOnSelector = failure.Transient
)

// Jitter kinds.
const (
	jitterNone  = "none"
	jitterFull  = "full"  // uniform in [0, d]
	jitterEqual = "equal" // d/2 + uniform in [0, d/2]
)

// Retry-After modes.
const (
	raOverride = "override" // Retry-After replaces the backoff
	raFloor    = "floor"    // wait at least Retry-After
	raIgnore   = "ignore"   // backoff only
)

var (
	retryKeys       = []string{"max_attempts", "retry_on", "backoff", "retry_after", "max_elapsed"}
	backoffKeys     = []string{"initial", "multiplier", "max", "jitter", "schedule"}
	retryAfterKeys  = []string{"mode", "max"}
	jitterKinds     = []string{jitterNone, jitterFull, jitterEqual}
	retryAfterModes = []string{raOverride, raFloor, raIgnore}
	retryClasses    = []string{failure.Transient, failure.Permanent}
	retryKinds      = []string{failure.KindHTTP, failure.KindBusiness, failure.KindTimeout, failure.KindNetwork, failure.KindAuth}
)

// retryPolicy is a data_action node's retry: shorthand: which failures to retry, how long to
// wait between attempts, and when to give up.
type retryPolicy struct {
	maxAttempts int
	retryOn     []retryMatch
	initial     time.Duration
	multiplier  float64
	max         time.Duration
	schedule    []time.Duration // replaces initial/multiplier/max when set
	jitter      string
	raMode      string
	raMax       time.Duration
	maxElapsed  time.Duration // 0: no limit
}

// retryMatch selects failures by class, kind or status pattern ("503", "5xx").
type retryMatch struct {
	class, kind string
	status      string // three characters, digits or x
}

func (m retryMatch) matches(e *failure.ErrorInfo) bool {
	switch {
	case m.class != "":
		return e.Class == m.class
	case m.kind != "":
		return e.Kind == m.kind
	}
	if e.Status == 0 {
		return false
	}
	s := strconv.Itoa(e.Status)
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if m.status[i] != 'x' && m.status[i] != s[i] {
			return false
		}
	}
	return true
}

func compileRetry(c *engine.Compiler, n *yaml.Node) *retryPolicy {
	p := &retryPolicy{
		maxAttempts: DefaultMaxAttempts,
		retryOn:     []retryMatch{{class: defaultRetryOnSelector}},
		initial:     DefaultInitial,
		multiplier:  DefaultMultiplier,
		max:         DefaultBackoffMax,
		jitter:      DefaultJitter,
		raMode:      DefaultRetryAfterMode,
		raMax:       DefaultRetryAfterMax,
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return p // retry: with no settings takes every default
	}
	m := c.Mapping(n, retryKeys...)
	if m == nil {
		return p
	}
	if x := m["max_attempts"]; x != nil {
		if i, ok := c.Int(x); ok {
			if i < 1 || i > MaxMaxAttempts {
				c.Errorf(x, "max_attempts must be between 1 and %d (it counts the first attempt); got %d", MaxMaxAttempts, i)
			} else {
				p.maxAttempts = i
			}
		}
	}
	if x := m["retry_on"]; x != nil {
		p.retryOn = compileRetryOn(c, x)
	}
	if x := m["backoff"]; x != nil {
		p.compileBackoff(c, x)
	}
	if x := m["retry_after"]; x != nil {
		if rm := c.Mapping(x, retryAfterKeys...); rm != nil {
			if y := rm["mode"]; y != nil {
				if s, ok := c.String(y); ok {
					if !oneOf(s, retryAfterModes) {
						c.Errorf(y, "unknown retry_after mode %q (one of %s)", s, strings.Join(retryAfterModes, ", "))
					} else {
						p.raMode = s
					}
				}
			}
			if y := rm["max"]; y != nil {
				if d, ok := c.Duration(y); ok {
					if d <= 0 {
						c.Errorf(y, "retry_after max must be positive; got %s", d)
					} else {
						p.raMax = d
					}
				}
			}
		}
	}
	if x := m["max_elapsed"]; x != nil {
		if d, ok := c.Duration(x); ok {
			if d <= 0 {
				c.Errorf(x, "max_elapsed must be positive; got %s", d)
			} else {
				p.maxElapsed = d
			}
		}
	}
	return p
}

func compileRetryOn(c *engine.Compiler, n *yaml.Node) []retryMatch {
	if n.Kind != yaml.SequenceNode {
		c.Errorf(n, "retry_on expects a list of classes (transient, permanent), kinds (%s) or statuses (429, 5xx)", strings.Join(retryKinds, ", "))
		return nil
	}
	if len(n.Content) == 0 {
		c.Errorf(n, "retry_on is empty: nothing would be retried (set max_attempts: 1 instead)")
	}
	var out []retryMatch
	for _, it := range n.Content {
		if it.Kind != yaml.ScalarNode || it.Tag == "!!null" {
			c.Errorf(it, "retry_on entries are classes, kinds or statuses, got a %s", yamldoc.ValueType(it))
			continue
		}
		s := strings.ToLower(it.Value)
		switch {
		case oneOf(s, retryClasses):
			out = append(out, retryMatch{class: s})
		case oneOf(s, retryKinds):
			out = append(out, retryMatch{kind: s})
		case isStatusPattern(s):
			out = append(out, retryMatch{status: s})
		default:
			all := append(append(append([]string{}, retryClasses...), retryKinds...), "5xx", "4xx")
			c.Errorf(it, "unknown retry_on entry %q: expected a class (transient, permanent), a kind (%s) or a status like 429 or 5xx%s",
				it.Value, strings.Join(retryKinds, ", "), suggest(s, all))
		}
	}
	return out
}

// isStatusPattern accepts 100..599 with any digit after the first replaced by x (503, 5xx, 50x).
func isStatusPattern(s string) bool {
	if len(s) != 3 || s[0] < '1' || s[0] > '5' {
		return false
	}
	for i := 1; i < 3; i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != 'x' {
			return false
		}
	}
	return true
}

func (p *retryPolicy) compileBackoff(c *engine.Compiler, n *yaml.Node) {
	m := c.Mapping(n, backoffKeys...)
	if m == nil {
		return
	}
	if s := m["schedule"]; s != nil {
		for _, k := range []string{"initial", "multiplier", "max"} {
			if m[k] != nil {
				c.Errorf(m[k], "backoff: schedule replaces initial, multiplier and max; give one or the other")
			}
		}
		if s.Kind != yaml.SequenceNode || len(s.Content) == 0 {
			c.Errorf(s, "backoff schedule expects a non-empty list of durations like [30s, 60s, 120s]")
		} else {
			for _, it := range s.Content {
				if d, ok := c.Duration(it); ok {
					if d < 0 {
						c.Errorf(it, "a backoff wait cannot be negative; got %s", d)
					}
					p.schedule = append(p.schedule, d)
				}
			}
		}
	}
	if x := m["initial"]; x != nil {
		if d, ok := c.Duration(x); ok {
			if d < 0 {
				c.Errorf(x, "backoff initial cannot be negative; got %s", d)
			}
			p.initial = d
		}
	}
	if x := m["multiplier"]; x != nil {
		if f, ok := c.Number(x); ok {
			if f < 1 {
				c.Errorf(x, "backoff multiplier must be at least 1; got %v", f)
			} else if math.IsInf(f, 0) || math.IsNaN(f) {
				c.Errorf(x, "backoff multiplier must be a finite number; got %v", f)
			}
			p.multiplier = f
		}
	}
	if x := m["max"]; x != nil {
		if d, ok := c.Duration(x); ok {
			if d <= 0 {
				c.Errorf(x, "backoff max must be positive; got %s", d)
			}
			p.max = d
		}
	}
	if m["schedule"] == nil && m["max"] != nil && m["initial"] != nil && p.max < p.initial {
		c.Errorf(m["max"], "backoff max %s is shorter than initial %s", p.max, p.initial)
	}
	if x := m["jitter"]; x != nil {
		if s, ok := c.String(x); ok {
			if !oneOf(s, jitterKinds) {
				c.Errorf(x, "unknown jitter %q (one of %s)", s, strings.Join(jitterKinds, ", "))
			} else {
				p.jitter = s
			}
		}
	}
}

// shouldRetry reports whether a failure is one the policy retries.
func (p *retryPolicy) shouldRetry(e *failure.ErrorInfo) bool {
	if e == nil {
		return false
	}
	for _, m := range p.retryOn {
		if m.matches(e) {
			return true
		}
	}
	return false
}

// backoff is the wait before retry n (n ≥ 1), before jitter.
func (p *retryPolicy) backoff(n int) time.Duration {
	if len(p.schedule) > 0 {
		if n > len(p.schedule) {
			n = len(p.schedule) // a short schedule repeats its last entry
		}
		return p.schedule[n-1]
	}
	secs, err := engine.Backoff(n, p.initial.Seconds(), p.multiplier, p.max.Seconds())
	if err != nil || math.IsNaN(secs) {
		return p.max
	}
	d, _ := yamldoc.DurationOfSeconds(secs) // saturated beyond range; max bounds it anyway
	return min(d, p.max)
}

// jittered applies the policy's jitter to d with the instance's seeded random source.
func (p *retryPolicy) jittered(in *engine.Instance, d time.Duration) time.Duration {
	switch p.jitter {
	case jitterFull:
		return time.Duration(in.Rand().Float64() * float64(d))
	case jitterEqual:
		return d/2 + time.Duration(in.Rand().Float64()*float64(d-d/2))
	}
	return d
}

// wait is the pause before retry n, given the Retry-After (seconds) of the failed attempt.
func (p *retryPolicy) wait(in *engine.Instance, n, retryAfter int) time.Duration {
	d := p.jittered(in, p.backoff(n))
	if retryAfter <= 0 || p.raMode == raIgnore {
		return d
	}
	ra := min(time.Duration(retryAfter)*time.Second, p.raMax)
	if p.raMode == raFloor {
		return max(d, ra)
	}
	return ra
}

// run makes up to maxAttempts attempts, waiting on the instance clock between them. The
// returned attempt is the last one made; it decides the route.
func (p *retryPolicy) run(ctx context.Context, in *engine.Instance, node string, try func(n int) (attempt, error)) (attempt, error) {
	start := in.Clock().Now()
	for n := 1; ; n++ {
		in.SetRetries(node, n-1)
		a, err := try(n)
		if err != nil || a.outcome == "success" || n >= p.maxAttempts || !p.shouldRetry(a.err) {
			return a, err
		}
		d := p.wait(in, n, a.retryAfter)
		now := in.Clock().Now()
		if p.maxElapsed > 0 && now.Add(d).Sub(start) > p.maxElapsed {
			if in.Tracing() {
				in.Emit(&trace.Event{Node: node, Kind: "data_action", Event: "decision", Attempt: n,
					Message: fmt.Sprintf("no retry: waiting %s would pass max_elapsed %s", fmtDuration(d), p.maxElapsed)})
			}
			return a, nil
		}
		secs := d.Seconds()
		in.RecordWait(secs)
		if in.Tracing() {
			until := now.Add(d)
			in.Emit(&trace.Event{Node: node, Kind: "data_action", Event: "wait", Attempt: n + 1, Seconds: &secs, Until: &until,
				Message: fmt.Sprintf("retry %d of %d after %s", n, p.maxAttempts-1, a.err.Message)})
		}
		if err := in.Clock().Sleep(ctx, d); err != nil {
			return a, err
		}
	}
}

func fmtDuration(d time.Duration) string {
	if d == d.Truncate(time.Second) {
		return d.String()
	}
	return d.Round(time.Millisecond).String()
}

func oneOf(s string, list []string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest names the closest of list to s, when one is close.
func suggest(s string, list []string) string { return yamldoc.DidYouMean(s, list) }
