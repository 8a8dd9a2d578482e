package cli

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"

	"github.com/spf13/cobra"

	"github.com/mlci/mlci/internal/datahash"
	"github.com/mlci/mlci/internal/digest"
	"github.com/mlci/mlci/internal/gitrepo"
	"github.com/mlci/mlci/internal/lockfile"
	"github.com/mlci/mlci/internal/progress"
)

type lockSide struct {
	Digest digest.Digest `json:"digest"`
	Files  int64         `json:"files"`
	Bytes  int64         `json:"bytes"`
}

type diffResult struct {
	Name   string    `json:"name"`
	Status string    `json:"status"`
	Base   *lockSide `json:"base,omitempty"`
	Head   *lockSide `json:"head,omitempty"`
	// Counts are absent when a manifest is missing on either side.
	Added    *int `json:"added,omitempty"`
	Removed  *int `json:"removed,omitempty"`
	Modified *int `json:"modified,omitempty"`
}

type baseInfo struct {
	Rev  string `json:"rev"`
	Name string `json:"name"`
	Note string `json:"note,omitempty"`
}

func newDataDiffCmd(g *globals) *cobra.Command {
	var base string
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
			ctx := cmd.Context()
			p, err := g.loadProject()
			if err != nil {
				return err
			}
			head, manifests, err := g.loadLock(ctx, p)
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
			repo.Getenv = g.io.Getenv
			b, kind, err := g.gitBase(ctx, p, repo, base)
			if err != nil {
				return err
			}
			prefix, err := repo.Prefix(ctx, p.Root)
			if err != nil {
				return usageError(err)
			}
			results, err := diffLocks(ctx, repo, b.Rev, prefix, head, manifests)
			if err != nil {
				return err
			}
			info := baseInfo{Rev: b.Rev, Name: b.Name, Note: b.Note}
			if kind == "none" {
				info.Rev = ""
			}
			if g.json {
				return g.printJSON(struct {
					Base     baseInfo     `json:"base"`
					Datasets []diffResult `json:"datasets"`
				}{info, results})
			}
			printDiff(g, info, results)
			return nil
		},
	}
	cmd.Flags().StringVar(&base, "base", "", "compare with `REF` (default: merge base with the default branch)")
	return cmd
}

func diffLocks(ctx context.Context, repo *gitrepo.Repo, rev, prefix string, head *lockfile.Lock, manifests *lockfile.Manifests) ([]diffResult, error) {
	baseLock := lockfile.New()
	data, err := repo.Show(ctx, rev, prefix+lockfile.FileName)
	switch {
	case errors.Is(err, gitrepo.ErrNotFound):
	case err != nil:
		return nil, usageError(err)
	default:
		if baseLock, err = lockfile.Parse(lockfile.FileName+" at "+shortRev(rev), data); err != nil {
			return nil, usageError(err)
		}
	}
	names := head.Names()
	for _, n := range baseLock.Names() {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	var out []diffResult
	for _, n := range names {
		b, h := baseLock.Datasets[n], head.Datasets[n]
		r := diffResult{Name: n, Base: side(b), Head: side(h)}
		switch {
		case b == nil:
			r.Status = statusAdded
		case h == nil:
			r.Status = statusRemoved
		case b.Digest == h.Digest:
			r.Status = statusSame
		default:
			r.Status = statusChanged
			oldEntries, err := baseManifest(ctx, repo, rev, prefix, b)
			if err != nil {
				return nil, err
			}
			// nil when the manifest is missing: no counts then.
			newEntries, err := manifests.Get(n)
			if err != nil {
				return nil, usageError(err)
			}
			if oldEntries != nil && newEntries != nil {
				c := datahash.Diff(oldEntries, newEntries)
				a, rm, m := len(c.Added), len(c.Removed), len(c.Modified)
				r.Added, r.Removed, r.Modified = &a, &rm, &m
			}
		}
		out = append(out, r)
	}
	return out, nil
}

func baseManifest(ctx context.Context, repo *gitrepo.Repo, rev, prefix string, ds *lockfile.Dataset) ([]datahash.Entry, error) {
	data, err := repo.Show(ctx, rev, path.Join(prefix, ds.Manifest))
	if errors.Is(err, gitrepo.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, usageError(err)
	}
	return verifyManifest(ds, data)
}

func side(ds *lockfile.Dataset) *lockSide {
	if ds == nil {
		return nil
	}
	return &lockSide{ds.Digest, ds.Files, ds.Bytes}
}

func shortRev(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}

func printDiff(g *globals, b baseInfo, results []diffResult) {
	if b.Rev != "" {
		fmt.Fprintf(g.io.Stdout, "comparing %s with %s (%s)\n", lockfile.FileName, b.Name, shortRev(b.Rev))
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
			if r.Status == statusChanged {
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
