package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

func newCancelCmd(dur *durableSeam) *cobra.Command {
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
			eng, err := dur.get()
			if err != nil {
				return err
			}
			unknown, err := eng.Cancel(context.Background(), tf.server(), args)
			if err, ok := unreachable(err); ok {
				return err
			}
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
