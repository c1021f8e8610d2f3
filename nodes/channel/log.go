package channel

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/archflow/archflow/engine"
	"gopkg.in/yaml.v3"
)

type logChannel struct{}

// Log declares the log channel type: it writes to the instance's stderr (engine.Options.Stderr).
func Log() *engine.ChannelType {
	return &engine.ChannelType{
		Spec: engine.Spec{Name: "log", Doc: "Writes notifications to stderr."},
		Compile: func(c *engine.Compiler, name string, keys map[string]*yaml.Node, at *yaml.Node) engine.Channel {
			return logChannel{}
		},
	}
}

// Deliver writes one block per notification: a header line, then the body (and payload)
// indented, so that concurrent instances' notifications stay apart and readable.
func (logChannel) Deliver(ctx context.Context, in *engine.Instance, n *engine.Notification) error {
	var b strings.Builder
	fmt.Fprintf(&b, "[%s] %s %s/%s %s: %s\n", n.Channel, n.Time.Format("2006-01-02T15:04:05Z07:00"), n.Flow, n.Instance, n.Node, n.Subject)
	text := n.Body
	if n.Payload != nil {
		if text != "" {
			text += "\n"
		}
		text += engine.ToString(n.Payload)
	}
	if text != "" {
		for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
			b.WriteString("    " + l + "\n")
		}
	}
	// One write per block: an *os.File serialises whole writes, a SyncWriter does the same.
	_, err := io.WriteString(in.Stderr(), b.String())
	return err
}
