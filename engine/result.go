package engine

import (
	"encoding/json"
	"math"
	"time"
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
	Instance      string          `json:"instance"`
	Flow          string          `json:"flow"`
	Outcome       string          `json:"outcome"`
	Outputs       map[string]any  `json:"outputs"`
	Variables     map[string]any  `json:"variables"`
	Path          []string        `json:"path"`
	Calls         map[string]int  `json:"calls"`
	Waits         []float64       `json:"waits"`
	Started       *time.Time      `json:"started"`
	Ended         *time.Time      `json:"ended"`
	StoppedAt     json.RawMessage `json:"stopped_at,omitempty"`
	Input         *InputRef       `json:"input,omitempty"`
	Error         *ErrorInfo      `json:"error,omitempty"`
	Notifications []*Notification `json:"notifications,omitempty"`
	// EncodeError says which values could not be encoded as they were (SPEC §11: a result
	// always encodes).
	EncodeError string `json:"encode_error,omitempty"`
}

// MarshalJSON encodes a result, always: a value JSON cannot hold (NaN, ±Inf, anything not
// data) is written as a string naming it, so the outcome, variables and kept notifications are
// never lost to one bad value.
func (r *Result) MarshalJSON() ([]byte, error) {
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
		j.Outputs, _ = encodable(r.Outputs).(map[string]any)
		j.Variables, _ = encodable(r.Variables).(map[string]any)
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
			cp.Payload = encodable(n.Payload)
			cp.Outputs, _ = encodable(n.Outputs).(map[string]any)
			j.Notifications[i] = &cp
		}
		j.EncodeError = "some values could not be encoded as JSON and are shown as strings: " + err.Error()
		if b, err = json.Marshal(j); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// encodable copies v with every value JSON cannot encode replaced by a string.
func encodable(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return formatFloat(x)
		}
		return x
	case float32:
		return encodable(float64(x))
	case map[string]any:
		if x == nil {
			return map[string]any(nil)
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = encodable(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = encodable(e)
		}
		return out
	}
	if _, err := json.Marshal(v); err != nil {
		return "unencodable value: " + err.Error()
	}
	return v
}

func formatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "+Inf"
	}
	return "-Inf"
}
