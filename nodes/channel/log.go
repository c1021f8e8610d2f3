package channel

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/archflow/archflow/engine"
	"gopkg.in/yaml.v3"
)

// Stderr is where the log channel writes; tests may swap it.
var Stderr io.Writer = os.Stderr

var logMu sync.Mutex

type logChannel struct{}

func init() {
	engine.RegisterChannel(&engine.ChannelType{Name: "log", Compile: func(c *engine.Compiler, name string, keys map[string]*yaml.Node, at *yaml.Node) engine.Channel {
		return logChannel{}
	}})
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
	logMu.Lock()
	defer logMu.Unlock()
	_, err := io.WriteString(Stderr, b.String())
	return err
}
