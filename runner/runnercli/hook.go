package runnercli

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/mlci/mlci/runner/ghhook"
)

func newHookCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "hook",
		Short: "GitHub Actions runner container hook (reads the runner's JSON on stdin)",
		Long: `Point the official runner at the shim deploy/github/mlci-runner-hook.sh with
ACTIONS_RUNNER_CONTAINER_HOOKS; the runner then calls it for prepare_job,
run_script_step, run_container_step and cleanup_job. A job asks for GPUs
with MLCI_GPUS in container.env (or the runner's own environment gives a
default), and optionally MLCI_GPU_MEMORY and MLCI_GPU_MODEL.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			// Malformed input is a usage error whatever state Docker is in.
			in, err := ghhook.ReadInput(g.io.Stdin)
			if err != nil {
				return usageError(err)
			}
			// Only prepare (allocation) and cleanup (cleaning the GPUs)
			// need NVML; a step runs in the job's container.
			gpus := in.Command == ghhook.PrepareJob || in.Command == ghhook.CleanupJob
			h, done, err := g.host(ctx, true, gpus)
			if err != nil {
				return err
			}
			defer done()
			d, err := g.docker(ctx)
			if err != nil {
				return err
			}
			hook := &ghhook.Hook{
				Host:         h,
				Engine:       d,
				Config:       h.Config,
				Stdout:       g.io.Stdout,
				Stderr:       g.io.Stderr,
				Getenv:       g.io.Getenv,
				StartMonitor: g.monitorStarter(h),
			}
			err = hook.Do(ctx, in)
			var ee *ghhook.ExitError
			if errors.As(err, &ee) {
				return exitCode(ee.Code)
			}
			return jobErr(err)
		},
	}
}
