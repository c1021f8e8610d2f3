package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/archflow/archflow/engine/temporal"
)

func newCancelCmd() *cobra.Command {
	var tf temporalFlags
	cmd := &cobra.Command{
		Use:   "cancel ID...",
		Short: "Cancel instances running on Temporal (they end with outcome interrupted)",
		Long: `Cancel the workflows of the given ids (<flow>/<instance id> or <flow>/<--id-from value>):
each instance stops where it is, waits and calls in flight cancelled, and ends with outcome
interrupted; a run waiting on it prints that result and exits 3.

Exit codes: 0 all cancelled; 1 an id is unknown; 3 the server cannot be reached.`,
		Example: `  archflow cancel self-healing/A-1 self-healing/A-2`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := context.Background()
			c, err := temporal.Dial(ctx, tf.address, tf.namespace)
			if err != nil {
				return exitWith(exitInternal, "cannot reach Temporal at %s: %v", temporal.Address(tf.address), err)
			}
			defer c.Close()
			unknown, err := temporal.Cancel(ctx, c, args)
			for _, id := range unknown {
				fmt.Fprintf(cmd.ErrOrStderr(), "archflow: no running instance %s\n", id)
			}
			if err != nil {
				return exitWith(exitInternal, "cancel: %v", err)
			}
			if len(unknown) > 0 {
				return &exitError{code: exitFailed}
			}
			return nil
		},
	}
	addConnectFlags(cmd, &tf, false)
	return cmd
}
