package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"

	"github.com/spf13/cobra"

	"github.com/mlci/mlci/internal/datacheck"
	"github.com/mlci/mlci/internal/datahash"
	"github.com/mlci/mlci/internal/pipeline"
	"github.com/mlci/mlci/internal/progress"
)

func newDataCheckCmd(g *globals) *cobra.Command {
	opts := &dataCheckOptions{globals: g}
	var remoteName string // --remote: data check --remote runs instead
	cmd := &cobra.Command{
		Use:   "check [NAME]...",
		Short: "Fail when a dataset differs from mlci.lock, naming the files",
		Long: `Re-hash every locked dataset (or the named ones) and compare it with
mlci.lock. Exits 1 when any differs, listing the files added, removed and
modified, or when a dataset in mlci.yaml is not locked. Unchanged files are
not read again thanks to the state cache in .mlci/.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.names = args
			if remoteName != "" {
				return runDataRemoteCheck(cmd.Context(), &dataRemoteCheckOptions{globals: g, names: args, remote: remoteName, limit: opts.limit})
			}
			return runDataCheck(cmd.Context(), opts)
		},
	}
	opts.hash.register(cmd, false)
	cmd.Flags().IntVar(&opts.limit, "limit", 20, "list at most `N` changed files per dataset (0: all); --json lists all")
	cmd.Flags().StringVar(&remoteName, "remote", "", "instead, check that the remote `NAME` in mlci.yaml holds every file and tree object of the locked datasets, downloading nothing")
	return cmd
}

// dataCheckOptions are data check's flags and arguments.
type dataCheckOptions struct {
	*globals
	names []string // none: every dataset
	hash  hashFlags
	limit int
}

func runDataCheck(ctx context.Context, opts *dataCheckOptions) error {
	p, err := opts.loadProject()
	if err != nil {
		return err
	}
	l, manifests, err := datacheck.Load(ctx, p, opts.waitForWriter)
	if err != nil {
		return err
	}
	results, failed, err := datacheck.Check(ctx, p, l, manifests, opts.names, opts.hash.options(opts.globals))
	if err != nil {
		return err
	}
	if opts.json {
		if err := opts.printJSON(struct {
			OK       bool               `json:"ok"`
			Datasets []datacheck.Result `json:"datasets"`
		}{failed == 0, results}); err != nil {
			return err
		}
	} else {
		printCheckResults(opts.globals, results, opts.limit)
	}
	if failed > 0 {
		return checkFailed(errors.New(datacheck.FailureText(failed, len(results))))
	}
	return nil
}

// printCheck is the data section of mlci ci: the results and, when a
// dataset failed, what to do about it, which data check says in its exit
// message instead.
func printCheck(g *globals, results []datacheck.Result, limit int) {
	printCheckResults(g, results, limit)
	changed, unpushed := 0, 0
	for _, r := range results {
		switch r.Status {
		case datacheck.StatusOK:
		case pipeline.StatusNotPushed:
			unpushed++
		default:
			changed++
		}
	}
	if changed > 0 {
		fmt.Fprintf(g.io.Stdout, "\n%s\n", datacheck.FailureText(changed, len(results)))
	}
	// A dataset the remote lacks matches the lock: locking again is not
	// the fix, pushing is.
	if unpushed > 0 {
		fmt.Fprintf(g.io.Stdout, "\ndata check failed: %d of %d datasets are not all in the remote; run mlci data push where their files are\n", unpushed, len(results))
	}
}

func printCheckResults(g *globals, results []datacheck.Result, limit int) {
	out := g.io.Stdout
	t := newTable(out)
	for _, r := range results {
		switch r.Status {
		case datacheck.StatusOK:
			if !g.quiet {
				t.row("ok", r.Name, r.Actual.Short(), progress.Count(r.Files)+" files", progress.Bytes(r.Bytes))
			}
		case datacheck.StatusChanged:
			summary := "differs from mlci.lock"
			if c := r.Changes; c != nil {
				summary = fmt.Sprintf("%d added, %d removed, %d modified", len(c.Added), len(c.Removed), len(c.Modified))
			}
			t.row("CHANGED", r.Name, r.Actual.Short(), summary)
		case pipeline.StatusNotPushed:
			t.row("NOT PUSHED", r.Name, r.Message)
		default:
			t.row("FAILED", r.Name, r.Message)
		}
	}
	t.flush()
	for _, r := range results {
		if r.Status != datacheck.StatusChanged {
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
	// A size is -1 where it is not known: tree objects, which hold the
	// file lists of big datasets, do not record sizes.
	size := func(n int64) string {
		if n < 0 {
			return ""
		}
		return progress.Bytes(n)
	}
	for _, ch := range c.Added {
		show("+", ch, size(ch.NewSize))
	}
	for _, ch := range c.Removed {
		show("-", ch, size(ch.OldSize))
	}
	for _, ch := range c.Modified {
		if ch.OldSize < 0 {
			show("~", ch, size(ch.NewSize))
			continue
		}
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
