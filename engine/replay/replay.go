// Package replay re-runs a recorded instance on a (possibly edited) flow and compares what it
// does with the recording (SPEC §7): path, requests (method, URL, body), waits, notifications,
// outcome and outputs, step by step, stopping at the first difference.
package replay

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/cassette"
	"github.com/archflow/archflow/engine/clock"
	"github.com/archflow/archflow/engine/trace"
	"github.com/archflow/archflow/engine/transport"
)

// DefaultStart is where the clock starts for a recording that does not say when it started.
var DefaultStart = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// What a difference is about.
const (
	WhatPath    = "path"
	WhatRequest = "request"
	WhatWait    = "wait"
	WhatOutcome = "outcome"
	WhatOutput  = "outputs"
	// WhatNotification: a notification to another channel, or one more or fewer (SPEC §7: record
	// → replay gives the same notifications).
	WhatNotification = "notification"
)

// Difference is the first place where the re-run departs from the recording.
type Difference struct {
	What     string `json:"what"`
	Step     int    `json:"step"` // 1-based node execution; 0 when it is about the whole instance
	Node     string `json:"node,omitempty"`
	Recorded string `json:"recorded"`
	Now      string `json:"now"`
}

// Report is the comparison of one recorded instance.
type Report struct {
	File       string         `json:"file"`
	Instance   string         `json:"instance"`
	Flow       string         `json:"flow"`
	Same       bool           `json:"same"`
	Steps      int            `json:"steps"`
	Difference *Difference    `json:"difference,omitempty"`
	Result     *engine.Result `json:"-"`
}

// Options of a replay.
type Options struct {
	// Env looks up env()/secret() names; names the flow needs that it lacks read placeholders.
	Env      func(string) (string, bool)
	MaxSteps int
	// Tracer, when set, receives the re-run's events too.
	Tracer trace.Tracer
}

// step is what one node execution of the re-run did.
type step struct {
	node     string
	requests []*trace.Event
	waits    []float64
	notes    []string // channels notified
}

// Run re-runs the instance recorded in c on flow and compares. The error is for recordings
// that cannot be re-run at all (inputs the flow rejects).
func Run(ctx context.Context, flow *engine.Flow, c *cassette.Cassette, opts *Options) (*Report, error) {
	if opts == nil {
		opts = &Options{}
	}
	raw := map[string]any{}
	for k, v := range c.Inputs {
		raw[k] = v
	}
	inputs, err := flow.Inputs(raw)
	if err != nil {
		return nil, fmt.Errorf("the recorded inputs do not fit flow %s: %v", flow.Name, err)
	}
	start := c.Started
	if start.IsZero() {
		start = DefaultStart
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	var steps []*step
	stopAt := 0 // a recording of an interrupted instance replays up to where it stopped
	if c.Result != nil && c.Result.Outcome == engine.OutcomeInterrupted {
		stopAt = len(c.Result.Path)
	}
	tracer := trace.TraceFunc(func(e *trace.Event) {
		mu.Lock()
		switch e.Event {
		case "enter":
			steps = append(steps, &step{node: e.Node})
			if stopAt > 0 && len(steps) == stopAt {
				cancel()
			}
		case "request":
			if len(steps) > 0 && !strings.HasPrefix(e.Action, transport.AuthPrefix) && !strings.HasPrefix(e.Action, transport.NotifyPrefix) {
				cp := *e
				steps[len(steps)-1].requests = append(steps[len(steps)-1].requests, &cp)
			}
		case "notify":
			if len(steps) > 0 {
				steps[len(steps)-1].notes = append(steps[len(steps)-1].notes, e.Channel)
			}
		case "wait":
			if len(steps) > 0 && e.Seconds != nil {
				steps[len(steps)-1].waits = append(steps[len(steps)-1].waits, *e.Seconds)
			}
		}
		mu.Unlock()
		if opts.Tracer != nil {
			opts.Tracer.Event(e)
		}
	})
	player := cassette.NewPlayer(c, cassette.Match{Body: true})
	base := &engine.Options{
		Clock:    func() clock.Clock { return clock.NewVirtualClock(start) },
		Env:      opts.Env,
		MaxSteps: opts.MaxSteps,
		Tracer:   tracer,
		Seed:     c.Seed,
	}
	if base.Seed == 0 {
		base.Seed = 1
	}
	res := flow.Run(ctx, inputs, player.Options(flow, base))
	mu.Lock()
	defer mu.Unlock()
	rep := &Report{File: c.File, Instance: c.Instance, Flow: flow.Name, Steps: len(res.Path), Result: res}
	rep.Difference = compare(c, res, steps)
	rep.Same = rep.Difference == nil
	return rep, nil
}

// compare walks the re-run step by step against the recording, in the order things happened.
func compare(c *cassette.Cassette, res *engine.Result, steps []*step) *Difference {
	var recReqs, recNotes []*cassette.Interaction
	for _, it := range c.Interactions {
		switch {
		case it.IsDelivery():
			recNotes = append(recNotes, it)
		case !it.IsToken():
			recReqs = append(recReqs, it)
		}
	}
	r := c.Result
	var recPath []string
	var recWaits []float64
	if r != nil {
		recPath, recWaits = r.Path, r.Waits
	}
	ri, wi, ni := 0, 0, 0
	for i, s := range steps {
		n := i + 1
		if r != nil {
			if i >= len(recPath) {
				return &Difference{What: WhatPath, Step: n, Node: s.node, Recorded: fmt.Sprintf("the end (%d steps)", len(recPath)), Now: s.node}
			}
			if recPath[i] != s.node {
				return &Difference{What: WhatPath, Step: n, Node: s.node, Recorded: recPath[i], Now: s.node}
			}
		}
		for _, q := range s.requests {
			if ri >= len(recReqs) {
				return &Difference{What: WhatRequest, Step: n, Node: s.node, Recorded: "no request", Now: describeEvent(q)}
			}
			it := recReqs[ri]
			ri++
			if d := requestDiff(it, q); d {
				return &Difference{What: WhatRequest, Step: n, Node: s.node, Recorded: describeInteraction(it), Now: describeEvent(q)}
			}
		}
		for _, ch := range s.notes {
			if ni >= len(recNotes) {
				return &Difference{What: WhatNotification, Step: n, Node: s.node, Recorded: "no notification", Now: "notify " + ch}
			}
			want := strings.TrimPrefix(recNotes[ni].Action, transport.NotifyPrefix)
			ni++
			if want != ch {
				return &Difference{What: WhatNotification, Step: n, Node: s.node, Recorded: "notify " + want, Now: "notify " + ch}
			}
		}
		if r != nil {
			for _, w := range s.waits {
				if wi >= len(recWaits) {
					return &Difference{What: WhatWait, Step: n, Node: s.node, Recorded: "no wait", Now: trace.FormatSeconds(w)}
				}
				if recWaits[wi] != w {
					return &Difference{What: WhatWait, Step: n, Node: s.node, Recorded: trace.FormatSeconds(recWaits[wi]), Now: trace.FormatSeconds(w)}
				}
				wi++
			}
		}
	}
	last, lastNode := len(steps), ""
	if last > 0 {
		lastNode = steps[last-1].node
	}
	if r != nil && len(recPath) > len(steps) {
		return &Difference{What: WhatPath, Step: last + 1, Node: recPath[last], Recorded: recPath[last], Now: fmt.Sprintf("the end (%d steps, outcome %s)", last, res.Outcome)}
	}
	if ri < len(recReqs) {
		return &Difference{What: WhatRequest, Step: last, Node: lastNode, Recorded: describeInteraction(recReqs[ri]), Now: "no request"}
	}
	if ni < len(recNotes) {
		return &Difference{What: WhatNotification, Step: last, Node: lastNode, Recorded: "notify " + strings.TrimPrefix(recNotes[ni].Action, transport.NotifyPrefix), Now: "no notification"}
	}
	if r == nil {
		return nil
	}
	if wi < len(recWaits) {
		return &Difference{What: WhatWait, Step: last, Node: lastNode, Recorded: trace.FormatSeconds(recWaits[wi]), Now: "no wait"}
	}
	if r.Outcome != "" && r.Outcome != res.Outcome {
		return &Difference{What: WhatOutcome, Step: last, Node: lastNode, Recorded: r.Outcome, Now: res.Outcome}
	}
	if r.Outputs != nil {
		want, got := normal(r.Outputs), normal(cassette.Plain(res.Outputs))
		if !reflect.DeepEqual(want, got) {
			return &Difference{What: WhatOutput, Step: last, Node: lastNode, Recorded: outputsDiff(want, got, true), Now: outputsDiff(want, got, false)}
		}
	}
	return nil
}

func requestDiff(it *cassette.Interaction, q *trace.Event) bool {
	if it.Request == nil || it.Action != q.Action {
		return true
	}
	return !strings.EqualFold(it.Request.Method, q.Method) || !cassette.SameURL(it.Request.URL, q.URL) ||
		!cassette.SameBody(it.Request.Body, eventBody(q.Body))
}

func eventBody(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func describeInteraction(it *cassette.Interaction) string {
	if it.Request == nil {
		return it.Action
	}
	s := fmt.Sprintf("%s %s %s", it.Action, it.Request.Method, it.Request.URL)
	if it.Request.Body != "" {
		s += " " + it.Request.Body
	}
	return s
}

func describeEvent(e *trace.Event) string {
	s := fmt.Sprintf("%s %s %s", e.Action, e.Method, e.URL)
	if b := eventBody(e.Body); b != "" {
		s += " " + b
	}
	return s
}

// normal is v as JSON reads it back, so that recorded and live values compare alike.
func normal(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return string(b)
	}
	return out
}

// outputsDiff names the outputs that differ, as the recording (or the re-run) has them.
func outputsDiff(want, got any, recorded bool) string {
	wm, _ := want.(map[string]any)
	gm, _ := got.(map[string]any)
	var parts []string
	names := map[string]bool{}
	for k := range wm {
		names[k] = true
	}
	for k := range gm {
		names[k] = true
	}
	for _, k := range sortedNames(names) {
		if reflect.DeepEqual(wm[k], gm[k]) {
			continue
		}
		v := gm[k]
		if recorded {
			v = wm[k]
		}
		parts = append(parts, k+"="+trace.FormatValue(v))
	}
	return strings.Join(parts, " ")
}

func sortedNames(m map[string]bool) []string { return slices.Sorted(maps.Keys(m)) }

// Text is the report as a line or three for a person.
func (r *Report) Text() string {
	if r.Same {
		return fmt.Sprintf("same path (%d steps)", r.Steps)
	}
	d := r.Difference
	where := fmt.Sprintf("step %d", d.Step)
	if d.Node != "" {
		where += " (" + d.Node + ")"
	}
	return fmt.Sprintf("diverged at %s: %s differs\n  recorded: %s\n  now:      %s", where, d.What, d.Recorded, d.Now)
}
