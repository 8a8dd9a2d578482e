package cli

import (
	"context"
	"fmt"

	"github.com/mlci/mlci/internal/datasync"
	"github.com/mlci/mlci/internal/progress"
)

// dataRemoteCheckOptions are data check --remote's flags and arguments.
type dataRemoteCheckOptions struct {
	*globals
	names  []string // none: every locked dataset
	remote string
	limit  int // missing objects listed per dataset; 0: all
}

// remoteCheckOutput is data check --remote's JSON.
type remoteCheckOutput struct {
	OK       bool                   `json:"ok"`
	Remote   string                 `json:"remote"`
	Objects  int                    `json:"objects"`
	Missing  int                    `json:"missing"`
	Datasets []datasync.CheckResult `json:"datasets"`
}

// runDataRemoteCheck proves that a remote holds every blob and tree object
// of the locked datasets, asking in batches and downloading nothing.
func runDataRemoteCheck(ctx context.Context, opts *dataRemoteCheckOptions) error {
	w, err := opts.openRemoteWork(ctx, opts.names, opts.remote)
	if err != nil {
		return err
	}
	store, r, sets := w.store, w.remote, w.sets
	out := remoteCheckOutput{Remote: r.Name, Datasets: []datasync.CheckResult{}}
	for _, s := range sets {
		bar := opts.transferBar("checking " + s.Name + " in " + r.Name)
		bar.Start()
		res, err := datasync.Check(ctx, store, s, datasync.CheckOptions{Progress: bar})
		bar.Stop()
		if err != nil {
			return remoteError(r, err)
		}
		out.Objects += res.Objects
		out.Missing += len(res.Missing)
		out.Datasets = append(out.Datasets, res)
	}
	out.OK = out.Missing == 0
	if opts.json {
		if err := opts.printJSON(out); err != nil {
			return err
		}
	} else {
		printRemoteCheck(opts.globals, out, opts.limit)
	}
	if !out.OK {
		return checkFailed(fmt.Errorf("%s", remoteFailureText(out)))
	}
	return nil
}

// remoteFailureText is the one line a failed remote check exits with.
func remoteFailureText(out remoteCheckOutput) string {
	first := ""
	for _, d := range out.Datasets {
		if len(d.Missing) > 0 {
			m := d.Missing[0]
			first = fmt.Sprintf(" (first: %s %s of %s)", m.Digest.Short(), m.Paths[0], d.Dataset)
			break
		}
	}
	return fmt.Sprintf("remote %s lacks %d of %d objects%s; run mlci data push --remote %s where the data is", out.Remote, out.Missing, out.Objects, first, out.Remote)
}

func printRemoteCheck(g *globals, out remoteCheckOutput, limit int) {
	w := g.io.Stdout
	t := newTable(w)
	for _, d := range out.Datasets {
		if len(d.Missing) == 0 {
			if !g.quiet {
				t.row("ok", d.Dataset, d.Digest.Short(), progress.Count(int64(d.Objects))+" objects in "+out.Remote)
			}
			continue
		}
		t.row("MISSING", d.Dataset, d.Digest.Short(), fmt.Sprintf("%d of %d objects not in %s", len(d.Missing), d.Objects, out.Remote))
	}
	t.flush()
	for _, d := range out.Datasets {
		if len(d.Missing) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s:\n", d.Dataset)
		t := newTable(w)
		for i, m := range d.Missing {
			if limit > 0 && i >= limit {
				break
			}
			t.row("  "+m.Kind, m.Digest.Short(), displayPath(m.Paths[0], ""))
		}
		t.flush()
		if limit > 0 && len(d.Missing) > limit {
			fmt.Fprintf(w, "  ... and %d more (--limit 0 or --json lists all)\n", len(d.Missing)-limit)
		}
	}
	if out.OK && !g.quiet {
		fmt.Fprintf(w, "remote %s holds all %s objects of %d dataset(s)\n", out.Remote, progress.Count(int64(out.Objects)), len(out.Datasets))
	}
}
