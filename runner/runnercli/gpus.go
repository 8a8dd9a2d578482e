package runnercli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/spf13/cobra"

	"github.com/mlci/mlci/runner/gpu"
	"github.com/mlci/mlci/runner/jobrun"
	"github.com/mlci/mlci/runner/lease"
)

// openGPUs opens NVML, or what IO.NVML gives (tests inject go-nvml mocks).
func (g *globals) openGPUs() (*gpu.Host, error) {
	var lib nvml.Interface
	if g.io.NVML != nil {
		lib = g.io.NVML()
	} else {
		lib = nvml.New()
	}
	return gpu.Open(lib)
}

// inventory reads the host's GPUs once; a missing driver is a failed
// check, not a crash.
func (g *globals) inventory(ctx context.Context) (gpu.Inventory, error) {
	h, err := g.openGPUs()
	if err != nil {
		return gpu.Inventory{}, checkFailed(err)
	}
	defer h.Close()
	inv, err := h.Inventory(ctx)
	if err != nil {
		return gpu.Inventory{}, checkFailed(err)
	}
	return inv, nil
}

func printJSON(g *globals, v any) error {
	enc := json.NewEncoder(g.io.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newGPUsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "gpus",
		Short: "Show the host's GPUs, their health and who holds them",
		Long: `Shows the driver and CUDA version and, per GPU, its UUID, bus id, memory,
utilization, temperature, power, ECC and row-remapping state, MIG devices and
running processes, with a health verdict and its reasons. Exits 1 when a GPU
is unhealthy, so it can serve as a health check.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			inv, err := g.inventory(cmd.Context())
			if err != nil {
				return err
			}
			if g.json {
				if err := printJSON(g, inv); err != nil {
					return err
				}
			} else if err := gpu.Render(g.io.Stdout, inv); err != nil {
				return err
			}
			var bad []string
			for _, d := range inv.GPUs {
				if !d.Health.Healthy {
					bad = append(bad, fmt.Sprintf("GPU %d (%s): %s", d.Index, d.UUID, strings.Join(d.Health.Reasons, "; ")))
				}
			}
			if len(bad) > 0 {
				return checkFailed(fmt.Errorf("%d unhealthy GPU(s): %s", len(bad), strings.Join(bad, "; ")))
			}
			return nil
		},
	}
	cmd.AddCommand(newFingerprintCmd(g), newQuarantineCmd(g), newUnquarantineCmd(g), newLabelsCmd(g))
	return cmd
}

func newFingerprintCmd(g *globals) *cobra.Command {
	var out string
	var uuids []string
	cmd := &cobra.Command{
		Use:   "fingerprint [--uuid UUID]... [-o FILE]",
		Short: "Print (or write) the hardware fingerprint that run records cite",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			inv, err := g.inventory(cmd.Context())
			if err != nil {
				return err
			}
			fp := gpu.NewFingerprint(inv, uuids)
			if out != "" {
				return gpu.WriteHardwareFile(out, fp)
			}
			_, err = g.io.Stdout.Write(fp.Text())
			return err
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to `FILE` (atomically) instead of stdout")
	cmd.Flags().StringSliceVar(&uuids, "uuid", nil, "only these GPU or MIG `UUID`s (default: all)")
	return cmd
}

func newLabelsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "labels",
		Short: "Print the runner labels this host's hardware gives",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			inv, err := g.inventory(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintln(g.io.Stdout, strings.Join(gpu.Labels(inv), ","))
			return nil
		},
	}
}

func (g *globals) store() (*lease.Store, error) {
	c, err := g.config()
	if err != nil {
		return nil, err
	}
	s, err := lease.Open(c.StateDir)
	if err != nil {
		return nil, checkFailed(fmt.Errorf("%w (the state directory belongs to the user the runner runs as)", err))
	}
	return s, nil
}

func newQuarantineCmd(g *globals) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "quarantine UUID --reason TEXT",
		Short: "Stop handing a GPU (or MIG device) out",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if reason == "" {
				return usageError(errors.New("say why with --reason, so the next operator knows"))
			}
			s, err := g.store()
			if err != nil {
				return err
			}
			return s.Quarantine(args[0], reason)
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why")
	return cmd
}

func newUnquarantineCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "unquarantine UUID",
		Short: "Hand a quarantined GPU out again",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.store()
			if err != nil {
				return err
			}
			return s.Unquarantine(args[0])
		},
	}
}

func newLeasesCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "leases",
		Short: "List GPU leases and quarantined GPUs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.store()
			if err != nil {
				return err
			}
			ls, err := s.List()
			if err != nil {
				return checkFailed(err)
			}
			q, err := s.Quarantined()
			if err != nil {
				return checkFailed(err)
			}
			if g.json {
				return printJSON(g, struct {
					Leases      []lease.Lease     `json:"leases"`
					Quarantined map[string]string `json:"quarantined"`
				}{ls, q})
			}
			if len(ls) == 0 {
				fmt.Fprintln(g.io.Stdout, "no leases")
			}
			for _, l := range ls {
				state := "owner alive"
				if !l.Owner.Alive() {
					state = "owner gone: reclaimed at the next allocation"
				}
				fmt.Fprintf(g.io.Stdout, "%s\t%s\tpid %d\tsince %s\t%s\n", l.Job, strings.Join(l.IDs, ","), l.Owner.PID, l.Acquired.Format("2006-01-02 15:04:05"), state)
			}
			ids := make([]string, 0, len(q))
			for id := range q {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			for _, id := range ids {
				fmt.Fprintf(g.io.Stdout, "quarantined\t%s\t%s\n", id, q[id])
			}
			return nil
		},
	}
	var try struct {
		gpus          int
		memory, model string
	}
	tryCmd := &cobra.Command{
		Use:   "try --gpus N",
		Short: "Lease N GPUs as a job would, print what was given, then clean and release them",
		Long: `Runs the allocation and cleanup path of a job without a container: leases
the GPUs (health, quarantine, topology and waiting rules included), writes
and prints the hardware fingerprint, then kills anything on them, checks
their memory and releases them. A smoke test for a new host or driver.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ask, err := jobrun.ParseAsk(strconv.Itoa(try.gpus), try.memory, try.model)
			if err != nil {
				return usageError(err)
			}
			h, done, err := g.host(cmd.Context(), false, true)
			if err != nil {
				return err
			}
			defer done()
			job := fmt.Sprintf("try:%d", os.Getpid())
			a, err := h.Allocate(cmd.Context(), job, ask, lease.Self())
			if err != nil {
				return checkFailed(err)
			}
			fmt.Fprintf(g.io.Stdout, "leased %s\n", strings.Join(a.GPUs, ","))
			_, _ = g.io.Stdout.Write(a.Fingerprint.Text())
			out, err := h.Release(cmd.Context(), job)
			if err != nil {
				return checkFailed(err)
			}
			if len(out.Quarantined) > 0 {
				return checkFailed(fmt.Errorf("%d GPU(s) quarantined after the trial; see mlci-runner leases", len(out.Quarantined)))
			}
			fmt.Fprintf(g.io.Stdout, "released %s clean\n", strings.Join(out.GPUs, ","))
			return nil
		},
	}
	tryCmd.Flags().IntVar(&try.gpus, "gpus", 1, "how many GPUs")
	tryCmd.Flags().StringVar(&try.memory, "memory", "", "minimum memory per GPU, e.g. 80g")
	tryCmd.Flags().StringVar(&try.model, "model", "", "part of the product name, e.g. h100")
	cmd.AddCommand(tryCmd)
	cmd.AddCommand(&cobra.Command{
		Use:   "release JOB",
		Short: "Release a job's lease by hand, cleaning its GPUs first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			h, done, err := g.host(cmd.Context(), false, true)
			if err != nil {
				return err
			}
			defer done()
			out, err := h.Release(cmd.Context(), args[0])
			if err != nil {
				return checkFailed(err)
			}
			if len(out.GPUs) == 0 {
				fmt.Fprintf(g.io.Stdout, "job %s holds no lease\n", args[0])
			}
			return nil
		},
	})
	return cmd
}
