package engine

import (
	"encoding/json"
	"math"
	"time"

	"github.com/archflow/archflow/engine/failure"
	"github.com/archflow/archflow/engine/trace"
)

// InputRef is where a batch instance's inputs came from: its line in the inputs file.
type InputRef struct {
	Line int `json:"line"`
}

// NotStarted is the result of a batch input that never started (the batch was interrupted
// first): inputs in = results out (SPEC §4).
func (f *Flow) NotStarted(line int) *Result {
	return &Result{Flow: f.Name, Outcome: OutcomeInterrupted, Input: &InputRef{Line: line},
		Outputs: map[string]any{}, Variables: map[string]any{}, Path: []string{}, Calls: map[string]int{}, Waits: []float64{}}
}

// resultJSON is a Result as JSON shows it: times are null for an instance that never started,
// and so is stopped_at.
type resultJSON struct {
	Instance      string             `json:"instance"`
	Flow          string             `json:"flow"`
	Outcome       string             `json:"outcome"`
	Outputs       map[string]any     `json:"outputs"`
	Variables     map[string]any     `json:"variables"`
	Path          []string           `json:"path"`
	Calls         map[string]int     `json:"calls"`
	Waits         []float64          `json:"waits"`
	Started       *time.Time         `json:"started"`
	Ended         *time.Time         `json:"ended"`
	StoppedAt     json.RawMessage    `json:"stopped_at,omitempty"`
	Input         *InputRef          `json:"input,omitempty"`
	Error         *failure.ErrorInfo `json:"error,omitempty"`
	Notifications []*Notification    `json:"notifications,omitempty"`
	// EncodeError says which values could not be encoded as they were (SPEC §11: a result
	// always encodes).
	EncodeError string `json:"encode_error,omitempty"`
}

// MarshalJSON encodes a result, always: a value JSON cannot hold (NaN, ±Inf, anything not
// data) is written as a string naming it, so the outcome, variables and kept notifications are
// never lost to one bad value.
func (r *Result) MarshalJSON() ([]byte, error) {
	if b, err := r.appendJSON(make([]byte, 0, 512)); err == nil {
		return b, nil
	}
	return r.marshalJSONReflect()
}

// marshalJSONReflect is MarshalJSON through encoding/json, for what appendJSON does not cover.
func (r *Result) marshalJSONReflect() ([]byte, error) {
	j := resultJSON{Instance: r.Instance, Flow: r.Flow, Outcome: r.Outcome, Outputs: r.Outputs, Variables: r.Variables,
		Path: r.Path, Calls: r.Calls, Waits: r.Waits, Input: r.Input, Error: r.Error, Notifications: r.Notifications}
	if !r.Started.IsZero() {
		j.Started, j.Ended = &r.Started, &r.Ended
	}
	if r.StoppedAt != "" {
		j.StoppedAt, _ = json.Marshal(r.StoppedAt)
	} else if r.Started.IsZero() && r.Outcome == OutcomeInterrupted {
		j.StoppedAt = json.RawMessage("null")
	}
	b, err := json.Marshal(j)
	if err != nil {
		j.Outputs, _ = trace.Encodable(r.Outputs).(map[string]any)
		j.Variables, _ = trace.Encodable(r.Variables).(map[string]any)
		j.Waits = make([]float64, len(r.Waits))
		for i, w := range r.Waits {
			if math.IsNaN(w) || math.IsInf(w, 0) {
				w = 0
			}
			j.Waits[i] = w
		}
		j.Notifications = make([]*Notification, len(r.Notifications))
		for i, n := range r.Notifications {
			cp := *n
			cp.Payload = trace.Encodable(n.Payload)
			cp.Outputs, _ = trace.Encodable(n.Outputs).(map[string]any)
			j.Notifications[i] = &cp
		}
		j.EncodeError = "some values could not be encoded as JSON and are shown as strings: " + err.Error()
		if b, err = json.Marshal(j); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// Recycle hands back a result of f that its caller is done with: its maps and slices serve a
// later instance of f run on its caller's goroutine with no hooks (Options.Started, Checkpoint,
// Attempt), emptied first. A batch hands back each result once it is reported. Nothing may use
// r, or a map or slice r holds, afterwards.
func (f *Flow) Recycle(r *Result) {
	if r != nil && r.Flow == f.Name {
		f.results.Put(r)
	}
}
