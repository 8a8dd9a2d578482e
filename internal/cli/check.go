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
				printCheck(g, results, limit)
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
	l, err := p.readLock()
	if err != nil {
		return nil, 0, err
	}
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
		r, err := g.checkOne(ctx, p, l, name, h)
		if err != nil {
			return nil, 0, err
		}
		if r.Status != statusOK {
			failed++
		}
		results = append(results, r)
	}
	return results, failed, nil
}

func dataFailure(failed, total int) error {
	return checkFailed(fmt.Errorf("data check failed: %d of %d datasets differ from %s; if the change is intended, run mlci data lock and commit %s and %s/",
		failed, total, lockfile.FileName, lockfile.FileName, lockfile.ManifestDir))
}

func (g *globals) checkOne(ctx context.Context, p *project, l *lockfile.Lock, name string, h *hashFlags) (checkResult, error) {
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
	res, err := g.hash(ctx, p, d, h)
	if err != nil {
		return r, err
	}
	r.Actual, r.Files, r.Bytes = res.Root, res.Files, res.Bytes
	if res.Root == locked.Digest {
		r.Status = statusOK
		return r, nil
	}
	r.Status = statusChanged
	entries, err := p.readManifest(locked)
	switch {
	case errors.Is(err, os.ErrNotExist):
		r.Message = fmt.Sprintf("%s is missing, so the changed files cannot be named; run mlci data lock %s", locked.Manifest, name)
		return r, nil
	case err != nil:
		return r, err
	}
	changes := datahash.Diff(entries, res.Entries)
	r.Changes = &changes
	return r, nil
}

// readManifest loads a dataset's manifest and checks it against the lock's
// digest, so an edited manifest cannot name the wrong files.
func (p *project) readManifest(ds *lockfile.Dataset) ([]datahash.Entry, error) {
	data, err := os.ReadFile(p.abs(ds.Manifest))
	if err != nil {
		return nil, err
	}
	return verifyManifest(ds, data)
}

func verifyManifest(ds *lockfile.Dataset, data []byte) ([]datahash.Entry, error) {
	alg, entries, err := lockfile.ParseManifest(ds.Manifest, data)
	if err != nil {
		return nil, usageError(err)
	}
	if got := datahash.Root(alg, entries); got != ds.Digest {
		return nil, usageError(fmt.Errorf("%s does not match the digest in %s (%s, manifest gives %s); re-create both with mlci data lock",
			ds.Manifest, lockfile.FileName, ds.Digest.Short(), got.Short()))
	}
	return entries, nil
}

func printCheck(g *globals, results []checkResult, limit int) {
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
