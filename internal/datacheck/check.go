// Package datacheck holds a project's datasets to mlci.lock: Check hashes
// them again and names the files that changed, Diff compares the lock with
// the one committed at a base revision.
package datacheck

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/mlci/mlci/internal/datahash"
	"github.com/mlci/mlci/internal/digest"
	"github.com/mlci/mlci/internal/exitcode"
	"github.com/mlci/mlci/internal/lockfile"
	"github.com/mlci/mlci/internal/project"
)

// Statuses of a dataset in check and diff output.
const (
	StatusOK        = "ok"
	StatusChanged   = "changed"
	StatusNotLocked = "not-locked"
	StatusStale     = "config-changed"
	StatusAdded     = "added"
	StatusRemoved   = "removed"
	StatusSame      = "unchanged"
)

// Result is one dataset checked against the lock.
type Result struct {
	Name     string            `json:"name"`
	Path     string            `json:"path"`
	Status   string            `json:"status"`
	Expected digest.Digest     `json:"expected,omitempty"`
	Actual   digest.Digest     `json:"actual,omitempty"`
	Files    int64             `json:"files"`
	Bytes    int64             `json:"bytes"`
	Changes  *datahash.Changes `json:"changes,omitempty"`
	Message  string            `json:"message,omitempty"`
}

// Load reads mlci.lock and its manifests, which are verified in the
// background (Manifests.Get waits), turning each failure into one
// actionable line. waiting, when set, is called while another mlci holds
// the lock for writing.
func Load(ctx context.Context, p *project.Project, waiting func()) (*lockfile.Lock, *lockfile.Manifests, error) {
	if waiting == nil {
		waiting = func() {}
	}
	l, manifests, err := lockfile.Load(ctx, p.Root, waiting)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, nil, exitcode.With(exitcode.Usage, fmt.Errorf("no %s in %s: run mlci data lock first, then commit it", lockfile.FileName, p.Root))
	case errors.Is(err, context.Canceled):
		return nil, nil, err
	case err != nil:
		return nil, nil, exitcode.With(exitcode.Usage, err)
	}
	return l, manifests, nil
}

// Check checks the named datasets (all, locked or configured, when names
// is empty) against a loaded lock and counts those that do not match it.
// A caller that goes on to Diff passes it the same lock and manifests.
func Check(ctx context.Context, p *project.Project, l *lockfile.Lock, manifests *lockfile.Manifests, names []string, opts project.HashOptions) ([]Result, int, error) {
	all := l.Names()
	if p.Config != nil {
		for _, d := range p.Config.Data {
			if _, ok := l.Datasets[d.Name]; !ok {
				all = append(all, d.Name)
			}
		}
	}
	if len(names) > 0 {
		for _, a := range names {
			if !slices.Contains(all, a) {
				return nil, 0, exitcode.With(exitcode.Usage, fmt.Errorf("no dataset %q in mlci.lock or mlci.yaml (have: %v)", a, all))
			}
		}
		all = names
	}
	var results []Result
	failed := 0
	for _, name := range all {
		r, err := checkOne(ctx, p, l, manifests, name, opts)
		if err != nil {
			return nil, 0, err
		}
		if r.Status != StatusOK {
			failed++
		}
		results = append(results, r)
	}
	// Every manifest is checked against the lock, those of datasets not
	// checked now too: the two are committed together.
	if err := manifests.Err(); err != nil {
		return nil, 0, exitcode.With(exitcode.Usage, err)
	}
	return results, failed, nil
}

// FailureText says how many datasets failed and what to do: the exit
// message of data check, and the last line of mlci ci's data section.
func FailureText(failed, total int) string {
	return fmt.Sprintf("data check failed: %d of %d datasets differ from %s; if the change is intended, run mlci data lock and commit %s and %s/",
		failed, total, lockfile.FileName, lockfile.FileName, lockfile.ManifestDir)
}

// checkOne checks one dataset. Its manifest is verified while it is
// hashed: a manifest that fails stops the hashing, and its error is the
// one reported.
func checkOne(ctx context.Context, p *project.Project, l *lockfile.Lock, manifests *lockfile.Manifests, name string, opts project.HashOptions) (Result, error) {
	locked, ok := l.Datasets[name]
	if !ok {
		d, _ := p.Config.Dataset(name)
		return Result{Name: name, Path: d.Path, Status: StatusNotLocked,
			Message: fmt.Sprintf("in mlci.yaml but not in mlci.lock; run mlci data lock %s", name)}, nil
	}
	r := Result{Name: name, Path: locked.Path, Expected: locked.Digest}
	d := project.Dataset{Name: name, Path: locked.Path, Exclude: locked.Exclude, Follow: locked.FollowSymlinks, Alg: locked.Digest.Algorithm()}
	if p.Config != nil {
		if c, ok := p.Config.Dataset(name); ok && (c.Path != d.Path || !slices.Equal(c.Exclude, d.Exclude) || c.FollowSymlinks != d.Follow) {
			r.Status = StatusStale
			r.Message = fmt.Sprintf("mlci.yaml changed this dataset's path, exclude or follow_symlinks since it was locked; run mlci data lock %s", name)
			return r, nil
		}
	}
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var manifest []datahash.Entry
	var merr error
	verified := make(chan struct{})
	go func() {
		defer close(verified)
		if locked.InTrees() {
			// Its trees are read only if the digest differs, and then
			// only those along the changed paths.
			return
		}
		if manifest, merr = manifests.Get(name); merr != nil {
			cancel()
		}
	}()
	var trees memTrees
	if locked.InTrees() {
		// A tree-locked dataset is compared by its trees, not a list of
		// its files: keep no entries (but a single file's, which has no
		// tree), and only those tree objects the store does not hold,
		// which are the directories that changed.
		store, err := lockfile.OpenStore(p.Root)
		if err != nil {
			return r, exitcode.With(exitcode.Usage, err)
		}
		trees = memTrees{}
		opts.MaxEntries = 1
		opts.Trees = trees.keepMissing(ctx, store)
	}
	res, err := p.Hash(hctx, d, opts)
	<-verified
	switch {
	case merr != nil:
		return r, exitcode.With(exitcode.Usage, merr)
	case err != nil:
		return r, err
	}
	r.Actual, r.Files, r.Bytes = res.Root, res.Files, res.Bytes
	if res.Root == locked.Digest {
		r.Status = StatusOK
		return r, nil
	}
	r.Status = StatusChanged
	if locked.InTrees() {
		changes, err := treeChanges(ctx, p.Root, locked, res.Root, trees, res.Entries, fileSize(p.Abs(d.Path), d.Follow))
		switch {
		case errors.Is(err, lockfile.ErrNoTrees):
			r.Message = treesMissing(name)
			return r, nil
		case errors.Is(err, context.Canceled):
			return r, err
		case err != nil:
			return r, exitcode.With(exitcode.Usage, lockfile.TreesError(name, err))
		}
		r.Changes = &changes
		return r, nil
	}
	if manifest == nil {
		r.Message = fmt.Sprintf("%s is missing, so the changed files cannot be named; run mlci data lock %s", locked.Manifest, name)
		return r, nil
	}
	changes := datahash.Diff(manifest, res.Entries)
	r.Changes = &changes
	return r, nil
}
