package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"

	"github.com/spf13/cobra"

	"github.com/mlci/mlci/internal/datahash"
	"github.com/mlci/mlci/internal/digest"
	"github.com/mlci/mlci/internal/lockfile"
	"github.com/mlci/mlci/internal/progress"
)

// Statuses of a dataset in check and diff output.
const (
	statusOK        = "ok"
	statusChanged   = "changed"
	statusNotLocked = "not-locked"
	statusStale     = "config-changed"
	statusAdded     = "added"
	statusRemoved   = "removed"
	statusSame      = "unchanged"
)

type checkResult struct {
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

func newDataCheckCmd(g *globals) *cobra.Command {
	var h hashFlags
	var limit int
	cmd := &cobra.Command{
		Use:   "check [NAME]...",
		Short: "Fail when a dataset differs from mlci.lock, naming the files",
		Long: `Re-hash every locked dataset (or the named ones) and compare it with
mlci.lock. Exits 1 when any differs, listing the files added, removed and
modified, or when a dataset in mlci.yaml is not locked. Unchanged files are
not read again thanks to the state cache in .mlci/.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := g.loadProject()
			if err != nil {
				return err
			}
			results, failed, err := g.checkData(cmd.Context(), p, args, &h)
			if err != nil {
				return err
			}
			if g.json {
				if err := g.printJSON(struct {
					OK       bool          `json:"ok"`
					Datasets []checkResult `json:"datasets"`
				}{failed == 0, results}); err != nil {
					return err
				}
			} else {
				printCheckResults(g, results, limit)
			}
			if failed > 0 {
				return dataFailure(failed, len(results))
			}
			return nil
		},
	}
	h.register(cmd, false)
	cmd.Flags().IntVar(&limit, "limit", 20, "list at most `N` changed files per dataset (0: all); --json lists all")
	return cmd
}

// checkData checks the named datasets (all when names is empty) and counts
// those that do not match the lock.
func (g *globals) checkData(ctx context.Context, p *project, args []string, h *hashFlags) ([]checkResult, int, error) {
	l, manifests, err := g.loadLock(ctx, p)
	if err != nil {
		return nil, 0, err
	}
	return g.checkLoaded(ctx, p, l, manifests, args, h)
}

// checkLoaded is checkData on a lock already loaded, so a caller that goes
// on to diff it uses the same lock and manifests.
func (g *globals) checkLoaded(ctx context.Context, p *project, l *lockfile.Lock, manifests *lockfile.Manifests, args []string, h *hashFlags) ([]checkResult, int, error) {
	names := l.Names()
	if p.Config != nil {
		for _, d := range p.Config.Data {
			if _, ok := l.Datasets[d.Name]; !ok {
				names = append(names, d.Name)
			}
		}
	}
	if len(args) > 0 {
		for _, a := range args {
			if !slices.Contains(names, a) {
				return nil, 0, usageError(fmt.Errorf("no dataset %q in mlci.lock or mlci.yaml (have: %v)", a, names))
			}
		}
		names = args
	}
	var results []checkResult
	failed := 0
	for _, name := range names {
		r, err := g.checkOne(ctx, p, l, manifests, name, h)
		if err != nil {
			return nil, 0, err
		}
		if r.Status != statusOK {
			failed++
		}
		results = append(results, r)
	}
	// Every manifest is checked against the lock, those of datasets not
	// checked now too: the two are committed together.
	if err := manifests.Err(); err != nil {
		return nil, 0, usageError(err)
	}
	return results, failed, nil
}

// loadLock reads mlci.lock and its manifests, which are verified in the
// background (Manifests.Get waits), turning each failure into one
// actionable line.
func (g *globals) loadLock(ctx context.Context, p *project) (*lockfile.Lock, *lockfile.Manifests, error) {
	l, manifests, err := lockfile.Load(ctx, p.Root, g.waitForWriter)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, nil, usageError(fmt.Errorf("no %s in %s: run mlci data lock first, then commit it", lockfile.FileName, p.Root))
	case errors.Is(err, context.Canceled):
		return nil, nil, err
	case err != nil:
		return nil, nil, usageError(err)
	}
	return l, manifests, nil
}

func dataFailure(failed, total int) error {
	return checkFailed(errors.New(dataFailureText(failed, total)))
}

// dataFailureText says how many datasets failed and what to do: the exit
// message of data check, and the last line of mlci ci's data section.
func dataFailureText(failed, total int) string {
	return fmt.Sprintf("data check failed: %d of %d datasets differ from %s; if the change is intended, run mlci data lock and commit %s and %s/",
		failed, total, lockfile.FileName, lockfile.FileName, lockfile.ManifestDir)
}

// checkOne checks one dataset. Its manifest is verified while it is
// hashed: a manifest that fails stops the hashing, and its error is the
// one reported.
func (g *globals) checkOne(ctx context.Context, p *project, l *lockfile.Lock, manifests *lockfile.Manifests, name string, h *hashFlags) (checkResult, error) {
	locked, ok := l.Datasets[name]
	if !ok {
		d, _ := p.Config.Dataset(name)
		return checkResult{Name: name, Path: d.Path, Status: statusNotLocked,
			Message: fmt.Sprintf("in mlci.yaml but not in mlci.lock; run mlci data lock %s", name)}, nil
	}
	r := checkResult{Name: name, Path: locked.Path, Expected: locked.Digest}
	d := dataset{Name: name, Path: locked.Path, Exclude: locked.Exclude, Follow: locked.FollowSymlinks, Alg: locked.Digest.Algorithm()}
	if p.Config != nil {
		if c, ok := p.Config.Dataset(name); ok && (c.Path != d.Path || !slices.Equal(c.Exclude, d.Exclude) || c.FollowSymlinks != d.Follow) {
			r.Status = statusStale
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
		if manifest, merr = manifests.Get(name); merr != nil {
			cancel()
		}
	}()
	res, err := g.hash(hctx, p, d, h)
	<-verified
	switch {
	case merr != nil:
		return r, usageError(merr)
	case err != nil:
		return r, err
	}
	r.Actual, r.Files, r.Bytes = res.Root, res.Files, res.Bytes
	if res.Root == locked.Digest {
		r.Status = statusOK
		return r, nil
	}
	r.Status = statusChanged
	if manifest == nil {
		r.Message = fmt.Sprintf("%s is missing, so the changed files cannot be named; run mlci data lock %s", locked.Manifest, name)
		return r, nil
	}
	changes := datahash.Diff(manifest, res.Entries)
	r.Changes = &changes
	return r, nil
}

// verifyManifest checks a manifest read from git, where the fix is not a
// data lock of the work tree.
func verifyManifest(ds *lockfile.Dataset, data []byte) ([]datahash.Entry, error) {
	entries, err := lockfile.VerifyManifest(ds.Manifest, "", ds, data)
	if err != nil {
		return nil, usageError(err)
	}
	return entries, nil
}

// printCheck is the data section of mlci ci: the results and, when a
// dataset failed, what to do about it, which data check says in its exit
// message instead.
func printCheck(g *globals, results []checkResult, limit int) {
	printCheckResults(g, results, limit)
	failed := 0
	for _, r := range results {
		if r.Status != statusOK {
			failed++
		}
	}
	if failed > 0 {
		fmt.Fprintf(g.io.Stdout, "\n%s\n", dataFailureText(failed, len(results)))
	}
}

func printCheckResults(g *globals, results []checkResult, limit int) {
	out := g.io.Stdout
	t := newTable(out)
	for _, r := range results {
		switch r.Status {
		case statusOK:
			if !g.quiet {
				t.row("ok", r.Name, r.Actual.Short(), progress.Count(r.Files)+" files", progress.Bytes(r.Bytes))
			}
		case statusChanged:
			summary := "differs from mlci.lock"
			if c := r.Changes; c != nil {
				summary = fmt.Sprintf("%d added, %d removed, %d modified", len(c.Added), len(c.Removed), len(c.Modified))
			}
			t.row("CHANGED", r.Name, r.Actual.Short(), summary)
		default:
			t.row("FAILED", r.Name, r.Message)
		}
	}
	t.flush()
	for _, r := range results {
		if r.Status != statusChanged {
			continue
		}
		if r.Message != "" {
			fmt.Fprintf(out, "\n%s: %s\n", r.Name, r.Message)
			continue
		}
		fmt.Fprintf(out, "\n%s:\n", r.Name)
		printChanges(out, r.Path, r.Changes, limit)
	}
}

// printChanges lists changed files by their path from the project root, so
// they can be pasted into git or an editor.
func printChanges(out io.Writer, root string, c *datahash.Changes, limit int) {
	t := newTable(out)
	shown, total := 0, len(c.Added)+len(c.Removed)+len(c.Modified)
	show := func(sign string, ch datahash.Change, size string) {
		if limit > 0 && shown >= limit {
			return
		}
		shown++
		t.row("  "+sign, displayPath(root, ch.Path), size)
	}
	for _, ch := range c.Added {
		show("+", ch, progress.Bytes(ch.NewSize))
	}
	for _, ch := range c.Removed {
		show("-", ch, progress.Bytes(ch.OldSize))
	}
	for _, ch := range c.Modified {
		show("~", ch, progress.Bytes(ch.OldSize)+" -> "+progress.Bytes(ch.NewSize))
	}
	t.flush()
	if shown < total {
		fmt.Fprintf(out, "  ... and %d more (--limit 0 or --json lists all)\n", total-shown)
	}
}

// displayPath quotes names that would garble a terminal.
func displayPath(root, p string) string {
	if p == "" {
		p = root
	} else {
		p = path.Join(root, p)
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f || r == 0xfffd {
			return fmt.Sprintf("%q", p)
		}
	}
	return p
}
