package channel

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/archflow/archflow/engine"
	"gopkg.in/yaml.v3"
)

// fileChannel appends one JSON line per notification and fsyncs, so that a dead letter
// survives a crash. Writers of one path share a lock: instances run concurrently.
type fileChannel struct {
	path  *engine.Template
	locks *sync.Map // absolute path -> *sync.Mutex, shared by the file channels of one registry
}

// File declares the file channel type. Its channels share one lock per path, so that the
// instances of every flow compiled with one registry append whole lines.
func File() *engine.ChannelType {
	locks := &sync.Map{}
	return &engine.ChannelType{
		Spec: engine.Spec{Name: "file", Doc: "Appends one JSON line per notification and fsyncs: a dead-letter sink.",
			Fields: []engine.Field{
				{Name: "path", Doc: "The file appended to, a template.", Schema: engine.Ref("template"), Required: true},
			},
		},
		Compile: func(c *engine.Compiler, name string, keys map[string]*yaml.Node, at *yaml.Node) engine.Channel {
			if keys["path"] == nil {
				return nil
			}
			return &fileChannel{path: c.Template(keys["path"]), locks: locks}
		},
	}
}

// line is the dead-letter record.
type line struct {
	Time     string         `json:"time"`
	Flow     string         `json:"flow"`
	Instance string         `json:"instance"`
	Node     string         `json:"node"`
	Channel  string         `json:"channel"`
	Subject  string         `json:"subject"`
	Body     string         `json:"body"`
	Payload  any            `json:"payload,omitempty"`
	Outputs  map[string]any `json:"outputs"`
}

func (f *fileChannel) Deliver(ctx context.Context, in *engine.Instance, n *engine.Notification) error {
	p, err := f.path.Render(in)
	if err != nil {
		return err
	}
	if p == "" {
		return fmt.Errorf("path rendered empty")
	}
	b, err := json.Marshal(line{Time: n.Time.Format("2006-01-02T15:04:05.000Z07:00"), Flow: n.Flow, Instance: n.Instance, Node: n.Node,
		Channel: n.Channel, Subject: n.Subject, Body: n.Body, Payload: n.Payload, Outputs: n.Outputs})
	if err != nil {
		return err
	}
	b = append(b, '\n')
	abs, err := filepath.Abs(p)
	if err != nil {
		return err
	}
	mu, _ := f.locks.LoadOrStore(abs, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	return appendLine(abs, b)
}

// appendLine writes b at the end of the file in one write and fsyncs. A write that fails half
// way is cut off again, so that the next line does not follow a torn one.
func appendLine(path string, b []byte) error {
	// 0600: dead letters hold run data (SPEC §11)
	fh, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	var size int64 = -1
	if st, err := fh.Stat(); err == nil {
		size = st.Size()
	}
	if _, err := fh.Write(b); err != nil {
		if size >= 0 {
			fh.Truncate(size)
		}
		fh.Close()
		return err
	}
	if err := fh.Sync(); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}
