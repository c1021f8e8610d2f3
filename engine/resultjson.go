package engine

import (
	"errors"
	"slices"
	"strconv"

	"github.com/archflow/archflow/engine/trace"
)

// errNotFast sends a result the hand-written encoding does not cover to encoding/json.
var errNotFast = errors.New("not encoded by hand")

// appendJSON writes r as MarshalJSON's encoding/json path writes it, byte for byte, without
// reflection: a batch prints one result per instance. Results with notifications, or with a
// value JSON cannot hold, return an error and take the encoding/json path, which also knows
// how to show what cannot be encoded.
func (r *Result) appendJSON(b []byte) ([]byte, error) {
	if len(r.Notifications) > 0 {
		return nil, errNotFast
	}
	var err error
	b = append(b, `{"instance":`...)
	b = trace.AppendString(b, r.Instance, true)
	b = append(b, `,"flow":`...)
	b = trace.AppendString(b, r.Flow, true)
	b = append(b, `,"outcome":`...)
	b = trace.AppendString(b, r.Outcome, true)
	b = append(b, `,"outputs":`...)
	if b, err = trace.AppendValue(b, r.Outputs, true); err != nil {
		return nil, err
	}
	b = append(b, `,"variables":`...)
	if b, err = trace.AppendValue(b, r.Variables, true); err != nil {
		return nil, err
	}
	b = append(b, `,"path":`...)
	if r.Path == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, p := range r.Path {
			if i > 0 {
				b = append(b, ',')
			}
			b = trace.AppendString(b, p, true)
		}
		b = append(b, ']')
	}
	b = append(b, `,"calls":`...)
	if r.Calls == nil {
		b = append(b, "null"...)
	} else {
		var arr [8]string
		keys := arr[:0]
		for k := range r.Calls {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = trace.AppendString(b, k, true)
			b = append(b, ':')
			b = strconv.AppendInt(b, int64(r.Calls[k]), 10)
		}
		b = append(b, '}')
	}
	b = append(b, `,"waits":`...)
	if r.Waits == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, w := range r.Waits {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = trace.AppendFloat(b, w); err != nil {
				return nil, err
			}
		}
		b = append(b, ']')
	}
	if r.Started.IsZero() {
		b = append(b, `,"started":null,"ended":null`...)
	} else {
		b = append(b, `,"started":`...)
		if b, err = trace.AppendTime(b, r.Started); err != nil {
			return nil, err
		}
		b = append(b, `,"ended":`...)
		if b, err = trace.AppendTime(b, r.Ended); err != nil {
			return nil, err
		}
	}
	if r.StoppedAt != "" {
		b = append(b, `,"stopped_at":`...)
		b = trace.AppendString(b, r.StoppedAt, true)
	} else if r.Started.IsZero() && r.Outcome == OutcomeInterrupted {
		b = append(b, `,"stopped_at":null`...)
	}
	if r.Input != nil {
		b = append(b, `,"input":{"line":`...)
		b = strconv.AppendInt(b, int64(r.Input.Line), 10)
		b = append(b, '}')
	}
	if r.Error != nil {
		b = append(b, `,"error":`...)
		b = trace.AppendError(b, r.Error, true)
	}
	return append(b, '}'), nil
}

// AppendJSON appends what MarshalJSON gives to b, so that a batch printing a result per
// instance reuses one buffer.
func (r *Result) AppendJSON(b []byte) ([]byte, error) {
	if out, err := r.appendJSON(b); err == nil {
		return out, nil
	}
	j, err := r.marshalJSONReflect()
	if err != nil {
		return b, err
	}
	return append(b, j...), nil
}
