package runnercli

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlci/mlci/runner/gpu"
	"github.com/mlci/mlci/runner/lease"
)

// checkResult is one line of `mlci-runner check`.
type checkResult struct {
	Level string `json:"level"` // ok, warn, fail
	What  string `json:"what"`
	Say   string `json:"say"`
}

func newCheckCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Check this host is ready for GPU jobs: config, state, driver, GPUs, Docker, hook",
		Long: `Checks what a GPU job on this host depends on and says what to fix: the
runner config, the state directory's permissions, the NVIDIA driver and each
GPU's health, quarantined GPUs and stale leases, the Docker Engine (reachable,
init binary, NVIDIA runtime or CDI) and the GitHub hook shim. Exits 1 when
something would make jobs fail.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var rs []checkResult
			add := func(level, what, format string, a ...any) {
				rs = append(rs, checkResult{level, what, fmt.Sprintf(format, a...)})
			}
			cfg, err := g.config()
			if err != nil {
				return err
			}
			add("ok", "config", "state_dir %s, gpu_wait %s, forks allowed: %t", cfg.StateDir, durationString(cfg.GPUWait), cfg.AllowForkJobs)

			// check only looks: run as another user (sudo), creating or
			// opening the directory would make it that user's.
			stateOK := false
			if _, err := os.Stat(cfg.StateDir); errors.Is(err, os.ErrNotExist) {
				add("ok", "state", "%s will be created (mode 0700) by the first job", cfg.StateDir)
			} else if err := lease.CheckDir(cfg.StateDir); err != nil {
				add("fail", "state", "%v", err)
			} else {
				stateOK = true
				add("ok", "state", "%s mode 0700, owned by this user", cfg.StateDir)
			}

			gh, err := g.openGPUs()
			switch {
			case errors.Is(err, gpu.ErrNoDriver):
				add("warn", "gpus", "%v", err)
			case err != nil:
				add("fail", "gpus", "%v", err)
			default:
				inv, err := gh.Inventory(cmd.Context())
				_ = gh.Close()
				if err != nil {
					add("fail", "gpus", "%v", err)
					break
				}
				add("ok", "gpus", "driver %s, CUDA %s, %d GPU(s); labels %s", inv.Driver, inv.CUDA, len(inv.GPUs), strings.Join(gpu.Labels(inv), ","))
				for _, d := range inv.GPUs {
					if !d.Health.Healthy {
						add("fail", "gpu", "GPU %d %s: %s", d.Index, d.UUID, strings.Join(d.Health.Reasons, "; "))
					} else if len(d.Processes) > 0 {
						add("warn", "gpu", "GPU %d %s runs %d process(es) no job owns; it is not handed out until they end", d.Index, d.UUID, len(d.Processes))
					}
				}
			}
			// An unsafe directory's leases and quarantine cannot be trusted,
			// and opening one would repair it.
			if stateOK {
				if s, err := lease.Open(cfg.StateDir); err == nil {
					if q, err := s.Quarantined(); err == nil {
						for _, id := range slices.Sorted(maps.Keys(q)) {
							add("warn", "quarantine", "%s: %s (mlci-runner gpus unquarantine %s)", id, q[id], id)
						}
					}
					if ls, err := s.List(); err == nil {
						for _, l := range ls {
							if !l.Owner.Alive() {
								add("warn", "lease", "job %s holds %s but its runner is gone; the next job reclaims it", l.Job, strings.Join(l.IDs, ","))
							}
						}
					}
				}
			}

			d, err := g.docker(cmd.Context())
			if err != nil {
				add("fail", "docker", "%v", err)
			} else if info, err := d.Info(cmd.Context()); err != nil {
				add("fail", "docker", "%v", err)
			} else {
				add("ok", "docker", "engine %s, runtimes %s (default %s)", info.Version, strings.Join(info.Runtimes, ","), info.Default)
				if !info.InitOK {
					add("fail", "docker", "the engine cannot run its init binary: install tini as docker-init or set init-path in daemon.json")
				}
				if !info.GPUCapable {
					add("warn", "docker", "no nvidia runtime and no CDI spec dirs: GPU containers may fail to start (\"could not select device driver\"); install nvidia-container-toolkit and run nvidia-ctk runtime configure --runtime=docker")
				}
			}

			if exe, err := g.executable(); err == nil {
				shim := filepath.Join(filepath.Dir(exe), "mlci-runner-hook.sh")
				if st, err := os.Stat(shim); err != nil || st.Mode()&0o111 == 0 {
					add("warn", "hook", "no executable %s: GitHub runners need it (copy deploy/github/mlci-runner-hook.sh there)", shim)
				} else {
					add("ok", "hook", "ACTIONS_RUNNER_CONTAINER_HOOKS=%s", shim)
				}
			}

			failed := 0
			for _, r := range rs {
				if r.Level == "fail" {
					failed++
				}
			}
			if g.json {
				if err := printJSON(g, rs); err != nil {
					return err
				}
			} else {
				for _, r := range rs {
					fmt.Fprintf(g.io.Stdout, "%-4s  %-10s  %s\n", r.Level, r.What, r.Say)
				}
			}
			if failed > 0 {
				return checkFailed(fmt.Errorf("%d check(s) failed; see above", failed))
			}
			return nil
		},
	}
}

func durationString[T ~int64](d T) string {
	return time.Duration(d).String()
}
