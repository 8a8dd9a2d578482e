package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlci/mlci/internal/datahash"
	"github.com/mlci/mlci/internal/digest"
	"github.com/mlci/mlci/internal/gitrepo"
	"github.com/mlci/mlci/internal/lockfile"
	"github.com/mlci/mlci/internal/project"
	"github.com/mlci/mlci/internal/remote"
)

// defaultGCAge is how long an unreferenced tree object is kept after it
// was written: longer than a data lock of a very large dataset runs, so
// the objects such a run has written but not yet named in mlci.lock
// survive a gc that starts meanwhile (see runDataGC).
const defaultGCAge = time.Hour

// gcTempAge is the least age of a temporary file gc removes, the local
// store's own rule for a killed writer's leftovers: a live writer touches
// its file far more often.
const gcTempAge = 10 * time.Minute

func newDataGCCmd(g *globals) *cobra.Command {
	opts := &dataGCOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "Remove tree objects no kept lock needs from .mlci/objects",
		Long: `Remove from the local object store, .mlci/objects/, the tree objects that no
kept lock reaches. Every data lock of a changed dataset of more than
manifest_max_files files adds tree objects there; nothing else removes them.

Kept are the trees of the datasets in the working tree's mlci.lock and in
HEAD's; --all-branches, --all-tags and --all-commits keep those of every
local branch, tag or commit too (a lock of format 1 names no trees). A
kept tree missing from the store is a warning: what lies below it cannot be
seen, so it is not kept. A lock that cannot be read stops gc before it
removes anything.

Only objects written (or written again, which marks them used) more than
--older-than before gc started are removed, so a data lock running meanwhile
keeps the trees it has written but not yet recorded in mlci.lock. Temporary files that interrupted writes left are
removed too. --dry-run prints what would be removed and removes nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDataGC(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.allBranches, "all-branches", "a", false, "keep the trees of every local branch's lock")
	f.BoolVarP(&opts.allTags, "all-tags", "T", false, "keep the trees of every tag's lock")
	f.BoolVarP(&opts.allCommits, "all-commits", "A", false, "keep the trees of every commit's lock")
	f.BoolVarP(&opts.dryRun, "dry-run", "n", false, "print what would be removed; remove nothing")
	f.DurationVar(&opts.olderThan, "older-than", defaultGCAge, "remove only objects written at least `DURATION` before gc started (0: all; only when no data lock runs)")
	return cmd
}

// dataGCOptions are data gc's flags.
type dataGCOptions struct {
	*globals
	allBranches, allTags, allCommits bool
	dryRun                           bool
	// olderThan protects the objects of a data lock still running: see
	// runDataGC.
	olderThan time.Duration
}

// gcOutput is data gc's result.
type gcOutput struct {
	DryRun       bool  `json:"dry_run"`
	Locks        int   `json:"locks"` // locks read, the working tree's included
	Removed      int   `json:"removed"`
	RemovedBytes int64 `json:"removed_bytes"`
	Kept         int   `json:"kept"`
	// Recent counts the kept objects no lock reaches, written too
	// recently to be removed.
	Recent    int   `json:"recent"`
	Missing   int   `json:"missing"` // trees kept locks name that the store lacks
	Temporary int   `json:"temporary_removed"`
	TempBytes int64 `json:"temporary_removed_bytes"`
}

// keptLock is a lock whose trees gc keeps, and where it was read.
type keptLock struct {
	where string
	lock  *lockfile.Lock
}

// runDataGC marks every tree reachable from the kept locks, then removes
// the unmarked objects older than the cutoff.
//
// Why a cutoff rather than the writers' lock (lockfile.Acquire): data lock
// writes a big dataset's tree objects while it hashes, and takes that lock
// only afterwards, to merge and save mlci.lock. Holding it here would not
// stop a lock that is hashing, whose objects no lock on disk names yet;
// their age does: every object a data lock writes is newer than the start
// of that run, so a cutoff further back than any run lasts keeps them all,
// and a run that saves its lock after gc read mlci.lock loses nothing.
// mlci.lock itself is replaced by a rename, so it is read whole without
// the writers' lock.
func runDataGC(ctx context.Context, opts *dataGCOptions) error {
	if opts.olderThan < 0 {
		return usageError(fmt.Errorf("--older-than %s: want a duration of 0 or more", opts.olderThan))
	}
	start := time.Now()
	cutoff := start.Add(-opts.olderThan)
	tempCutoff := start.Add(-max(opts.olderThan, gcTempAge))
	p, err := opts.loadProject()
	if err != nil {
		return err
	}
	locks, err := gcLocks(ctx, opts, p)
	if err != nil {
		return err
	}
	out := gcOutput{DryRun: opts.dryRun, Locks: len(locks)}
	objects := filepath.Join(p.Root, lockfile.StoreDir, "objects")
	// A repository can commit .mlci or .mlci/objects as a link to another
	// project's store, whose trees no lock here names: gc removes only
	// from a store that is the project's own.
	for _, d := range []string{filepath.Dir(objects), objects} {
		if fi, err := os.Lstat(d); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			rel, _ := filepath.Rel(p.Root, d)
			return usageError(fmt.Errorf("%s is a link: data gc removes objects only from a store inside the project; remove the link (a fresh data lock makes the store)", filepath.ToSlash(rel)))
		}
	}
	if _, err := os.Stat(objects); errors.Is(err, fs.ErrNotExist) {
		return printGC(opts, out) // no tree-locked dataset was ever locked here
	}
	store, err := remote.OpenLocal(filepath.Join(p.Root, lockfile.StoreDir))
	if err != nil {
		return usageError(err)
	}
	live, err := markLive(ctx, opts, store, locks, &out)
	if err != nil {
		return err
	}
	err = store.List(ctx, func(o remote.StoredObject) error {
		switch {
		case o.Temp && o.ModTime.Before(tempCutoff):
			out.Temporary++
			out.TempBytes += o.Size
		case o.Temp:
			return nil
		case live[o.Digest]:
			out.Kept++
			return nil
		case !o.ModTime.Before(cutoff):
			out.Kept++
			out.Recent++
			return nil
		default:
			out.Removed++
			out.RemovedBytes += o.Size
		}
		if opts.dryRun {
			return nil
		}
		// Empty HH folders stay: a writer may be about to create a file
		// in one, and they cost nothing.
		return store.Remove(o)
	})
	if err != nil {
		return usageError(err)
	}
	return printGC(opts, out)
}

// markLive marks the trees of every tree-locked dataset of locks. A tree
// the store lacks is counted and warned about once, not an error: a clone
// rarely holds the trees of every commit's lock.
func markLive(ctx context.Context, opts *dataGCOptions, store remote.Store, locks []keptLock, out *gcOutput) (map[digest.Digest]bool, error) {
	live := map[digest.Digest]bool{}
	load := lockfile.StoreLoader(store)
	first := "" // the first missing tree, for the warning
	for _, l := range locks {
		for _, name := range l.lock.Names() {
			ds := l.lock.Datasets[name]
			if !ds.InTrees() {
				continue // a manifest lists its files: it names no tree object
			}
			err := datahash.MarkTrees(ctx, ds.Digest.Algorithm(), ds.Digest, load, live, func(d digest.Digest, err error) error {
				if errors.Is(err, lockfile.ErrNoTrees) {
					if out.Missing == 0 {
						first = fmt.Sprintf("%s of dataset %q in %s", d.Short(), name, l.where)
					}
					out.Missing++
					return nil
				}
				// A damaged object is kept: removing it is a repair, not
				// garbage collection.
				opts.warn(fmt.Sprintf("dataset %q in %s: %v; kept", name, l.where, err))
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
	}
	if out.Missing > 0 {
		opts.warn(fmt.Sprintf("%d tree objects that kept locks name are not in %s/objects (the first: %s); the trees below them could not be marked as kept",
			out.Missing, lockfile.StoreDir, first))
	}
	return live, nil
}

func printGC(opts *dataGCOptions, out gcOutput) error {
	if opts.json {
		return opts.printJSON(out)
	}
	verb, kept := "removed", "kept"
	if out.DryRun {
		verb, kept = "would remove", "would keep"
	}
	line := fmt.Sprintf("%s %d tree objects (%.1f MiB)", verb, out.Removed, float64(out.RemovedBytes)/(1<<20))
	if out.Temporary > 0 {
		line += fmt.Sprintf(" and %d temporary files of interrupted writes", out.Temporary)
	}
	line += fmt.Sprintf("; %s %d", kept, out.Kept)
	if out.Recent > 0 {
		line += fmt.Sprintf(" (%d unreferenced but written less than %s ago)", out.Recent, opts.olderThan)
	}
	_, err := fmt.Fprintln(opts.io.Stdout, line)
	return err
}

// gcLocks reads the locks whose trees are kept: the working tree's, HEAD's,
// and those the flags add. A lock that cannot be read is an error, as what
// it keeps is then unknown; a commit without a lock keeps nothing.
func gcLocks(ctx context.Context, opts *dataGCOptions, p *project.Project) ([]keptLock, error) {
	work, err := p.ReadLockOrNew()
	if err != nil {
		return nil, err
	}
	locks := []keptLock{{"the working tree", work}}
	widen := opts.allBranches || opts.allTags || opts.allCommits
	repo, err := gitrepo.Open(ctx, p.Root)
	if err != nil {
		if widen {
			return nil, usageError(fmt.Errorf("--all-branches, --all-tags and --all-commits read locks from git: %w", err))
		}
		opts.warn(fmt.Sprintf("%v: only the working tree's %s is kept", err, lockfile.FileName))
		return locks, nil
	}
	prefix, err := repo.Prefix(ctx, p.Root)
	if err != nil {
		return nil, usageError(err)
	}
	revs, err := gcRevs(ctx, opts, repo, prefix)
	if err != nil {
		return nil, err
	}
	for _, r := range revs {
		data, err := repo.File(ctx, r.commit, prefix+lockfile.FileName, lockfile.MaxLockSize)
		if errors.Is(err, gitrepo.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, usageError(fmt.Errorf("%s: %w; removed nothing", r.where, err))
		}
		l, err := lockfile.Parse(lockfile.FileName+" at "+r.where, data)
		if err != nil {
			return nil, usageError(fmt.Errorf("%w; removed nothing, as what that lock keeps is unknown", err))
		}
		locks = append(locks, keptLock{r.where, l})
	}
	return locks, nil
}

// gcRev is a commit whose lock is kept.
type gcRev struct {
	commit string
	where  string // for messages: "HEAD", "branch main", "commit 1a2b3c4d5e6f"
}

// gcRevs lists the commits whose locks are kept, each once: HEAD, then
// the branches, tags and other commits the flags ask for.
func gcRevs(ctx context.Context, opts *dataGCOptions, repo *gitrepo.Repo, prefix string) ([]gcRev, error) {
	var revs []gcRev
	seen := map[string]bool{}
	add := func(rev, where string) {
		commit, ok := repo.Verify(ctx, rev)
		if !ok || seen[commit] {
			return // an unborn HEAD, or a tag of something not a commit
		}
		seen[commit] = true
		revs = append(revs, gcRev{commit, where})
	}
	add("HEAD", "HEAD")
	for _, scope := range []struct {
		on     bool
		prefix string
		kind   string
	}{{opts.allBranches, "refs/heads/", "branch "}, {opts.allTags, "refs/tags/", "tag "}} {
		if !scope.on {
			continue
		}
		refs, err := repo.Refs(ctx, scope.prefix)
		if err != nil {
			return nil, usageError(err)
		}
		for _, ref := range refs {
			add(ref, scope.kind+strings.TrimPrefix(ref, scope.prefix))
		}
	}
	if opts.allCommits {
		// Only the commits that changed the lock: any other commit holds
		// the lock of one of its parents.
		commits, err := repo.AllChanges(ctx, prefix+lockfile.FileName)
		if err != nil {
			return nil, usageError(err)
		}
		for _, c := range commits {
			if !seen[c] {
				seen[c] = true
				revs = append(revs, gcRev{c, "commit " + gitrepo.ShortRev(c)})
			}
		}
	}
	return revs, nil
}
