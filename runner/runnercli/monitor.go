package runnercli

import (
	"errors"

	"github.com/spf13/cobra"
)

func newMonitorCmd(g *globals) *cobra.Command {
	var job string
	cmd := &cobra.Command{
		Use:    "monitor --job JOB",
		Short:  "Sample a job's GPUs until its lease ends (started by prepare)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if job == "" {
				return usageError(errors.New("--job is required"))
			}
			h, done, err := g.host(cmd.Context(), false, true)
			if err != nil {
				return err
			}
			defer done()
			return h.Monitor(cmd.Context(), job)
		},
	}
	cmd.Flags().StringVar(&job, "job", "", "job key")
	return cmd
}
