package datacheck

import (
	"context"
	"errors"
	"maps"
	"path"
	"slices"

	"github.com/mlci/mlci/internal/datahash"
	"github.com/mlci/mlci/internal/digest"
	"github.com/mlci/mlci/internal/exitcode"
	"github.com/mlci/mlci/internal/gitrepo"
	"github.com/mlci/mlci/internal/lockfile"
)

// Side is a dataset as one lock records it.
type Side struct {
	Digest digest.Digest `json:"digest"`
	Files  int64         `json:"files"`
	Bytes  int64         `json:"bytes"`
}

// DiffResult is one dataset of the work tree's lock compared with the
// base's.
type DiffResult struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Base   *Side  `json:"base,omitempty"`
	Head   *Side  `json:"head,omitempty"`
	// Counts are absent when a manifest is missing on either side.
	Added    *int `json:"added,omitempty"`
	Removed  *int `json:"removed,omitempty"`
	Modified *int `json:"modified,omitempty"`
}

// Diff compares head, the work tree's lock with its manifests, with the
// lock committed at rev; prefix is the project's folder in the repository.
// No lock at rev is an empty one, so every dataset shows as added.
func Diff(ctx context.Context, repo *gitrepo.Repo, rev, prefix string, head *lockfile.Lock, manifests *lockfile.Manifests) ([]DiffResult, error) {
	baseLock := lockfile.New()
	data, err := repo.Show(ctx, rev, prefix+lockfile.FileName)
	switch {
	case errors.Is(err, gitrepo.ErrNotFound):
	case err != nil:
		return nil, exitcode.With(exitcode.Usage, err)
	default:
		if baseLock, err = lockfile.Parse(lockfile.FileName+" at "+gitrepo.ShortRev(rev), data); err != nil {
			return nil, exitcode.With(exitcode.Usage, err)
		}
	}
	names := head.Names()
	for _, n := range baseLock.Names() {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	var out []DiffResult
	for _, n := range names {
		b, h := baseLock.Datasets[n], head.Datasets[n]
		r := DiffResult{Name: n, Base: side(b), Head: side(h)}
		switch {
		case b == nil:
			r.Status = StatusAdded
		case h == nil:
			r.Status = StatusRemoved
		case b.Digest == h.Digest:
			r.Status = StatusSame
		default:
			r.Status = StatusChanged
			if b.InTrees() || h.InTrees() {
				c, err := diffTreeLocked(ctx, repo, rev, prefix, n, b, h, manifests)
				if err != nil {
					return nil, err
				}
				if c != nil {
					a, rm, m := len(c.Added), len(c.Removed), len(c.Modified)
					r.Added, r.Removed, r.Modified = &a, &rm, &m
				}
				break
			}
			oldEntries, err := baseManifest(ctx, repo, rev, prefix, b)
			if err != nil {
				return nil, err
			}
			// nil when the manifest is missing: no counts then.
			newEntries, err := manifests.Get(n)
			if err != nil {
				return nil, exitcode.With(exitcode.Usage, err)
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

// baseManifest reads a dataset's manifest at rev, verified against the
// lock there; nil when it is missing. The fix for a bad one is not a data
// lock of the work tree, so the error does not suggest one.
func baseManifest(ctx context.Context, repo *gitrepo.Repo, rev, prefix string, ds *lockfile.Dataset) ([]datahash.Entry, error) {
	data, err := repo.Show(ctx, rev, path.Join(prefix, ds.Manifest))
	if errors.Is(err, gitrepo.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, exitcode.With(exitcode.Usage, err)
	}
	entries, err := lockfile.VerifyManifest(ds.Manifest, "", ds, data)
	if err != nil {
		return nil, exitcode.With(exitcode.Usage, err)
	}
	return entries, nil
}

func side(ds *lockfile.Dataset) *Side {
	if ds == nil {
		return nil
	}
	return &Side{ds.Digest, ds.Files, ds.Bytes}
}

// diffTreeLocked compares a dataset of which at least one side is locked
// in tree objects, descending only into the directories that differ. The
// tree-locked sides' trees come from the local object store; a manifest
// side's are computed from it. nil when a manifest or tree object is
// missing: no counts then, as for a missing manifest.
func diffTreeLocked(ctx context.Context, repo *gitrepo.Repo, rev, prefix, name string, b, h *lockfile.Dataset, manifests *lockfile.Manifests) (*datahash.Changes, error) {
	alg := h.Digest.Algorithm()
	if b.Digest.Algorithm() != alg {
		// Different algorithms share no subtree: nothing to descend by.
		return nil, nil
	}
	mem := memTrees{}
	add := func(entries []datahash.Entry) error {
		m, err := treesOf(alg, entries)
		maps.Copy(mem, m)
		return err
	}
	var baseFile, headFile []datahash.Entry
	if !b.InTrees() {
		entries, err := baseManifest(ctx, repo, rev, prefix, b)
		if err != nil || entries == nil {
			return nil, err
		}
		if err := add(entries); err != nil {
			return nil, err
		}
		baseFile = singleFile(entries)
	}
	if !h.InTrees() {
		entries, err := manifests.Get(name)
		if err != nil {
			return nil, exitcode.With(exitcode.Usage, err)
		}
		if entries == nil {
			return nil, nil
		}
		if err := add(entries); err != nil {
			return nil, err
		}
		headFile = singleFile(entries)
	}
	load, err := mem.loader(manifests.Dir())
	if err != nil {
		return nil, exitcode.With(exitcode.Usage, err)
	}
	c, err := diffRoots(ctx, alg, b.Digest, h.Digest, load, baseFile, headFile)
	switch {
	case errors.Is(err, lockfile.ErrNoTrees):
		return nil, nil
	case errors.Is(err, context.Canceled):
		return nil, err
	case err != nil:
		return nil, exitcode.With(exitcode.Usage, lockfile.TreesError(name, err))
	}
	return &c, nil
}
