package cli

import (
	"github.com/spf13/cobra"
)

// completeFlagValues gives shell completion the fixed values of the flags that have them.
// The completion command itself is cobra's (`archflow completion bash|zsh|fish|powershell`).
func completeFlagValues(root *cobra.Command) {
	values := map[string][]string{
		"output": {"text", "json", "github"},
		"clock":  {"real", "virtual"},
		"format": {"mermaid", "dot", "svg"},
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for name, vs := range values {
			if c.Flags().Lookup(name) == nil {
				continue
			}
			if name == "output" && (c.Name() == "run" || c.Name() == "replay") {
				vs = []string{"text", "json"}
			}
			_ = c.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(vs, cobra.ShellCompDirectiveNoFileComp))
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}
