package runnercli

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mlci/mlci/runner/jobrun"
)

// lastUsedLayout dates uses to the second, in the host's zone, as leases
// dates acquisitions.
const lastUsedLayout = "2006-01-02 15:04:05"

// datasetHost is the job manager without Docker or NVML: the dataset
// cache is folders and locks under state_dir.
func (g *globals) datasetHost() (*jobrun.Host, error) {
	cfg, err := g.config()
	if err != nil {
		return nil, err
	}
	return &jobrun.Host{Config: cfg, Log: g.io.Stderr}, nil
}

func newDatasetsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "datasets",
		Short: "List the datasets pulled from dataset_remote and kept for later jobs",
		Long: `Lists the copies of datasets that jobs asked for by digest (MLCI_DATASETS=
NAME@blake3:...) and this host pulled from its dataset_remote, kept under
state_dir/datasets/: the name the pulling job gave, the digest, the size,
when a job last used it and whether a job is reading it now. They take at
most dataset_cache_max_bytes together: a pull evicts the least recently
used copies that no job is reading.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			h, err := g.datasetHost()
			if err != nil {
				return err
			}
			ds, err := h.CachedDatasets(cmd.Context())
			if err != nil {
				return checkFailed(err)
			}
			if g.json {
				if ds == nil {
					ds = []jobrun.CachedDataset{}
				}
				return printJSON(g, struct {
					Datasets []jobrun.CachedDataset `json:"datasets"`
					MaxBytes int64                  `json:"max_bytes"`
				}{ds, int64(h.Config.DatasetCacheMaxBytes)})
			}
			if len(ds) == 0 {
				fmt.Fprintln(g.io.Stdout, "no datasets pulled")
				return nil
			}
			var total int64
			for _, d := range ds {
				total += d.Bytes
			}
			if err := renderDatasets(g.io.Stdout, ds); err != nil {
				return err
			}
			fmt.Fprintf(g.io.Stdout, "%s in %s, of %s allowed (dataset_cache_max_bytes)\n", sizeString(total), copies(len(ds)), sizeString(int64(h.Config.DatasetCacheMaxBytes)))
			return nil
		},
	}
	cmd.AddCommand(newDatasetsPruneCmd(g))
	return cmd
}

func newDatasetsPruneCmd(g *globals) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "prune [--all]",
		Short: "Evict least recently used datasets until they fit dataset_cache_max_bytes",
		Long: `Evicts the least recently used pulled datasets until the rest fit
dataset_cache_max_bytes, as a pull would; with --all, every one no job is
reading. A dataset a job is reading is never evicted. A job that asks for an
evicted dataset again pulls it again from dataset_remote.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			h, err := g.datasetHost()
			if err != nil {
				return err
			}
			res, err := h.PruneDatasets(cmd.Context(), all)
			if g.json {
				if res.Evicted == nil {
					res.Evicted = []jobrun.CachedDataset{}
				}
				if res.Busy == nil {
					res.Busy = []jobrun.CachedDataset{}
				}
				if res.Kept == nil {
					res.Kept = []jobrun.CachedDataset{}
				}
				if jerr := printJSON(g, res); jerr != nil {
					return jerr
				}
			} else {
				printPrune(g.io.Stdout, res)
			}
			if err != nil {
				return checkFailed(err)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "evict every dataset no job is reading, whatever the cap")
	return cmd
}

func renderDatasets(w io.Writer, ds []jobrun.CachedDataset) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tDIGEST\tSIZE\tLAST USED\tIN USE")
	for _, d := range ds {
		inUse := "no"
		if d.InUse {
			inUse = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", nameOrDash(d.Name), d.Digest, sizeString(d.Bytes), d.LastUsed.Format(lastUsedLayout), inUse)
	}
	return tw.Flush()
}

func printPrune(w io.Writer, res jobrun.PruneResult) {
	var freed int64
	for _, d := range res.Evicted {
		freed += d.Bytes
		fmt.Fprintf(w, "evicted %s %s (%s, last used %s)\n", nameOrDash(d.Name), d.Digest, sizeString(d.Bytes), d.LastUsed.Format(lastUsedLayout))
	}
	for _, d := range res.Busy {
		fmt.Fprintf(w, "kept %s %s (%s): a job is reading it\n", nameOrDash(d.Name), d.Digest, sizeString(d.Bytes))
	}
	fmt.Fprintf(w, "freed %s in %s; %s in %s kept, of %s allowed\n", sizeString(freed), copies(len(res.Evicted)), sizeString(res.Bytes), copies(len(res.Kept)), sizeString(res.Max))
	if res.Bytes > res.Max {
		fmt.Fprintf(w, "still over dataset_cache_max_bytes: %d in use; a job reads its datasets only while its volumes are filled, so prune again in a moment\n", len(res.Busy))
	}
}

func nameOrDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func copies(n int) string {
	if n == 1 {
		return "1 dataset"
	}
	return fmt.Sprintf("%d datasets", n)
}

// sizeString is a size to read at a glance; config sizes are exact
// (hostconfig.ByteSize), listings need not be.
func sizeString(n int64) string {
	units := []struct {
		suffix string
		n      int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}}
	for _, u := range units {
		if n >= u.n {
			if n%u.n == 0 {
				return fmt.Sprintf("%d%s", n/u.n, u.suffix)
			}
			return fmt.Sprintf("%.1f%s", float64(n)/float64(u.n), u.suffix)
		}
	}
	return fmt.Sprintf("%dB", n)
}
