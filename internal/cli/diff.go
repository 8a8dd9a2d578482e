package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mlci/mlci/internal/baseline"
	"github.com/mlci/mlci/internal/datacheck"
	"github.com/mlci/mlci/internal/gitrepo"
	"github.com/mlci/mlci/internal/lockfile"
	"github.com/mlci/mlci/internal/progress"
)

// baseInfo is the base of data diff's --json output.
type baseInfo struct {
	Rev  string `json:"rev"`
	Name string `json:"name"`
	Note string `json:"note,omitempty"`
}

func newDataDiffCmd(g *globals) *cobra.Command {
	opts := &dataDiffOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "diff",
		Short: "Compare mlci.lock with the lock at a base revision",
		Long: `Compare the work tree's mlci.lock with the one at --base (default: the merge
base with the default branch, or with the pull/merge request's target in CI;
on a push to the default branch, the commit mlci ci compares with):
which datasets changed, files added/removed/modified and bytes before/after.
In a shallow clone the base is fetched with depth 1.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDataDiff(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.base, "base", "", "compare with `REF` (default: merge base with the default branch)")
	return cmd
}

// dataDiffOptions are data diff's flags.
type dataDiffOptions struct {
	*globals
	base string // a git ref; "": the default for the event
}

func runDataDiff(ctx context.Context, opts *dataDiffOptions) error {
	p, err := opts.loadProject()
	if err != nil {
		return err
	}
	head, manifests, err := datacheck.Load(ctx, p, opts.waitForWriter)
	if err != nil {
		return err
	}
	if err := manifests.Err(); err != nil {
		return usageError(err)
	}
	repo, err := gitrepo.Open(ctx, p.Root)
	if err != nil {
		return usageError(fmt.Errorf("data diff reads the base lock from git: %w", err))
	}
	repo.TargetBranch = opts.ci.TargetBranch()
	b, kind, err := baseline.GitBase(ctx, p, repo, opts.base, opts.baselineOptions(p))
	if err != nil {
		return err
	}
	prefix, err := repo.Prefix(ctx, p.Root)
	if err != nil {
		return usageError(err)
	}
	results, err := datacheck.Diff(ctx, repo, b.Rev, prefix, head, manifests)
	if err != nil {
		return err
	}
	info := baseInfo{Rev: b.Rev, Name: b.Name, Note: b.Note}
	if kind == baseline.None {
		info.Rev = ""
	}
	if opts.json {
		return opts.printJSON(struct {
			Base     baseInfo               `json:"base"`
			Datasets []datacheck.DiffResult `json:"datasets"`
		}{info, results})
	}
	printDiff(opts.globals, info, results)
	return nil
}

func printDiff(g *globals, b baseInfo, results []datacheck.DiffResult) {
	if b.Rev != "" {
		fmt.Fprintf(g.io.Stdout, "comparing %s with %s (%s)\n", lockfile.FileName, b.Name, gitrepo.ShortRev(b.Rev))
	} else {
		fmt.Fprintf(g.io.Stdout, "comparing %s with %s\n", lockfile.FileName, b.Name)
	}
	t := newTable(g.io.Stdout)
	t.row("DATASET", "STATUS", "FILES", "CHANGES", "BYTES")
	for _, r := range results {
		files, bytes, changes := "", "", ""
		switch {
		case r.Base != nil && r.Head != nil:
			files = progress.Count(r.Base.Files)
			bytes = progress.Bytes(r.Base.Bytes)
			if r.Status == datacheck.StatusChanged {
				files += " -> " + progress.Count(r.Head.Files)
				bytes += " -> " + progress.Bytes(r.Head.Bytes)
			}
		case r.Head != nil:
			files, bytes = progress.Count(r.Head.Files), progress.Bytes(r.Head.Bytes)
		case r.Base != nil:
			files, bytes = progress.Count(r.Base.Files), progress.Bytes(r.Base.Bytes)
		}
		if r.Added != nil {
			changes = fmt.Sprintf("+%d -%d ~%d", *r.Added, *r.Removed, *r.Modified)
		}
		t.row(r.Name, r.Status, files, changes, bytes)
	}
	t.flush()
}
