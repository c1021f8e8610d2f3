package channel

import (
	"context"
	"fmt"
	"io"
	"os"
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

func (logChannel) Deliver(ctx context.Context, in *engine.Instance, n *engine.Notification) error {
	logMu.Lock()
	defer logMu.Unlock()
	_, err := fmt.Fprintf(Stderr, "[%s] %s %s/%s: %s\n%s\n", n.Channel, n.Time.Format("2006-01-02T15:04:05Z07:00"), n.Flow, n.Instance, n.Subject, n.Body)
	return err
}
