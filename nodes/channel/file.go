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
	path *engine.Template
}

var fileLocks sync.Map // absolute path -> *sync.Mutex

func init() {
	engine.RegisterChannel(&engine.ChannelType{Name: "file", Keys: []string{"path"}, Compile: func(c *engine.Compiler, name string, keys map[string]*yaml.Node, at *yaml.Node) engine.Channel {
		if keys["path"] == nil {
			c.Errorf(at, "file channel %s needs a path", name)
			return nil
		}
		return &fileChannel{path: c.Template(keys["path"])}
	}})
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
	mu, _ := fileLocks.LoadOrStore(abs, &sync.Mutex{})
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
