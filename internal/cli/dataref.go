package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlci/mlci/internal/datacheck"
	"github.com/mlci/mlci/internal/lockfile"
)

func newDataRefCmd(g *globals) *cobra.Command {
	opts := &dataRefOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "ref [NAME]...",
		Short: "Print NAME@DIGEST of locked datasets, as runner jobs ask for them",
		Long: `Print each locked dataset as NAME@DIGEST, the full digest mlci.lock pins;
with no arguments, every locked dataset. A job on mlci-runner asks for exactly
that data with MLCI_DATASETS=NAME@DIGEST, which --env prints for all of them:

  echo "$(mlci data ref --env)" >> "$GITHUB_ENV"

The digests are the lock's, not a fresh hash: run mlci data check first to
prove the work tree matches them.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.names = args
			return runDataRef(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.env, "env", false, "print one line MLCI_DATASETS=NAME@DIGEST,... for a job's environment")
	return cmd
}

// dataRefOptions are data ref's flags and arguments.
type dataRefOptions struct {
	*globals
	names []string // dataset names; none: every locked dataset
	env   bool
}

// dataRef is one line of data ref's output.
type dataRef struct {
	Name   string `json:"name"`
	Digest string `json:"digest"`
	Ref    string `json:"ref"`
}

func runDataRef(ctx context.Context, opts *dataRefOptions) error {
	p, err := opts.loadProject()
	if err != nil {
		return err
	}
	l, _, err := datacheck.Load(ctx, p, opts.waitForWriter)
	if err != nil {
		return err
	}
	names := opts.names
	if len(names) == 0 {
		names = l.Names()
	}
	if len(names) == 0 {
		return usageError(fmt.Errorf("%s locks no dataset: run mlci data lock first", lockfile.FileName))
	}
	refs := make([]dataRef, 0, len(names))
	for _, n := range names {
		ds, ok := l.Datasets[n]
		if !ok {
			return usageError(fmt.Errorf("dataset %q is not in %s: run mlci data lock %s first", n, lockfile.FileName, n))
		}
		refs = append(refs, dataRef{Name: n, Digest: string(ds.Digest), Ref: n + "@" + string(ds.Digest)})
	}
	if opts.json {
		return opts.printJSON(struct {
			Datasets []dataRef `json:"datasets"`
		}{refs})
	}
	lines := make([]string, len(refs))
	for i, r := range refs {
		lines[i] = r.Ref
	}
	if opts.env {
		_, err = fmt.Fprintf(opts.io.Stdout, "MLCI_DATASETS=%s\n", strings.Join(lines, ","))
		return err
	}
	_, err = fmt.Fprintln(opts.io.Stdout, strings.Join(lines, "\n"))
	return err
}
