package runnercli

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/mlci/mlci/internal/atomicfile"
	"github.com/mlci/mlci/internal/exitcode"
	"github.com/mlci/mlci/runner/glexec"
)

// GitLab Runner reads these from the stage's environment; the defaults are
// the values it sets.
func (g *globals) exitCodeEnv(name string, def int) int {
	if n, err := strconv.Atoi(g.io.Getenv(name)); err == nil {
		return n
	}
	return def
}

// gitlabErr maps a stage's error to what GitLab expects: a script failure
// is BUILD_FAILURE_EXIT_CODE with the script's own code in
// BUILD_EXIT_CODE_FILE (so allow_failure:exit_codes works); anything of
// ours is SYSTEM_FAILURE_EXIT_CODE, which GitLab may retry.
func (g *globals) gitlabErr(err error) error {
	if err == nil {
		return nil
	}
	var be *glexec.BuildError
	if errors.As(err, &be) {
		if f := g.io.Getenv("BUILD_EXIT_CODE_FILE"); f != "" {
			if werr := atomicfile.Write(f, []byte(strconv.Itoa(be.Code)+"\n"), 0o644); werr != nil {
				fmt.Fprintf(g.io.Stderr, "mlci-runner: writing BUILD_EXIT_CODE_FILE: %v\n", werr)
			}
		}
		return exitCode(g.exitCodeEnv("BUILD_FAILURE_EXIT_CODE", 1))
	}
	fmt.Fprintf(g.io.Stderr, "mlci-runner: %s\n", exitcode.OneLine(err.Error()))
	return exitCode(g.exitCodeEnv("SYSTEM_FAILURE_EXIT_CODE", 2))
}

func newGitLabCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "gitlab",
		Short: "GitLab Runner custom executor stages (see deploy/gitlab/config.toml)",
		Long: `The four stages of GitLab Runner's custom executor. A job asks for GPUs with
the CI variable GPU_COUNT (optionally GPU_MEMORY such as 80g and GPU_MODEL
such as h100); it runs in its own container with exactly those GPUs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	// gpus: prepare and cleanup need NVML; a run stage only execs.
	executor := func(cmd *cobra.Command, gpus bool) (*glexec.Executor, func(), error) {
		ctx := cmd.Context()
		h, done, err := g.host(ctx, true, gpus)
		if err != nil {
			return nil, nil, err
		}
		d, err := g.docker(ctx)
		if err != nil {
			done()
			return nil, nil, err
		}
		e := &glexec.Executor{
			Host: h, Engine: d, Config: h.Config, Version: g.version(),
			Getenv: g.io.Getenv, Stdout: g.io.Stdout, Stderr: g.io.Stderr,
			StartMonitor: g.monitorStarter(h),
		}
		return e, done, nil
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "config",
		Short: "config_exec: print the executor's settings as JSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e := &glexec.Executor{Version: g.version(), Getenv: g.io.Getenv, Stdout: g.io.Stdout, Stderr: g.io.Stderr}
			return g.gitlabErr(e.WriteConfig(g.io.Stdout))
		},
	}, &cobra.Command{
		Use:   "prepare",
		Short: "prepare_exec: check policy, lease GPUs, start the job container",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, done, err := executor(cmd, true)
			if err != nil {
				return g.gitlabErr(err)
			}
			defer done()
			return g.gitlabErr(e.Prepare(cmd.Context()))
		},
	}, &cobra.Command{
		Use:   "run SCRIPT STAGE",
		Short: "run_exec: run one stage's script in the job container",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, done, err := executor(cmd, false)
			if err != nil {
				return g.gitlabErr(err)
			}
			defer done()
			return g.gitlabErr(e.Run(cmd.Context(), args[0], args[1]))
		},
	}, &cobra.Command{
		Use:   "cleanup",
		Short: "cleanup_exec: remove the container, clean and release the GPUs (never fails)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, done, err := executor(cmd, true)
			if err != nil {
				fmt.Fprintf(g.io.Stderr, "mlci-runner: cleanup: %s\n", exitcode.OneLine(err.Error()))
				return nil
			}
			defer done()
			e.Cleanup(cmd.Context())
			return nil
		},
	})
	return cmd
}

func (g *globals) version() string {
	if g.io.Version.Version == "" {
		return "dev"
	}
	return g.io.Version.Version
}
