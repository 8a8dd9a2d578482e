package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/mlci/mlci/internal/config"
	"github.com/mlci/mlci/internal/datacheck"
	"github.com/mlci/mlci/internal/datahash"
	"github.com/mlci/mlci/internal/datasync"
	"github.com/mlci/mlci/internal/exitcode"
	"github.com/mlci/mlci/internal/progress"
	"github.com/mlci/mlci/internal/project"
	"github.com/mlci/mlci/internal/remote"
)

// openRemote opens the remote called name in mlci.yaml, or the default
// one when name is "". S3 keys come from the AWS_* variables, registry
// credentials from the CI's or mlci's registry settings; neither is ever
// printed.
func (g *globals) openRemote(ctx context.Context, p *project.Project, name string) (remote.Store, config.Remote, error) {
	if p.Config == nil || len(p.Config.Remotes) == 0 {
		return nil, config.Remote{}, usageError(errors.New("no remotes configured: add one under remotes: in mlci.yaml, with a name and a url (local:PATH, s3://BUCKET/PREFIX or oci://REGISTRY/REPO; see README)"))
	}
	r, _ := p.Config.DefaultRemote() // there is one: Remotes is not empty
	if name != "" {
		var ok bool
		if r, ok = p.Config.Remote(name); !ok {
			return nil, config.Remote{}, usageError(fmt.Errorf("no remote %q in %s; configured: %s", name, p.Config.File, strings.Join(p.Config.RemoteNames(), ", ")))
		}
	}
	s, err := remote.Open(ctx, r.Spec(), p.Root, remote.Options{Getenv: g.io.Getenv, Credential: g.ci.RegistryCredential})
	if err != nil {
		return nil, r, usageError(fmt.Errorf("remote %s: %w", r.Name, err))
	}
	return s, r, nil
}

// remoteError gives a failed transfer its exit code: credentials the
// remote refused, or a remote that kept failing, are the service's (3);
// what the lock or working tree got wrong keeps its own code.
func remoteError(r config.Remote, err error) error {
	var coded *exitcode.Error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled), errors.As(err, &coded):
		return err
	case errors.Is(err, remote.ErrAuth):
		return serviceError(fmt.Errorf("remote %s: %w", r.Name, err))
	case errors.Is(err, remote.ErrUnsupported):
		return usageError(fmt.Errorf("remote %s: %w", r.Name, err))
	case errors.Is(err, remote.ErrNotFound):
		// The remote answers, but without what the lock names: whoever
		// locked it has not pushed it (mlci data check --remote lists
		// all that is missing).
		return checkFailed(fmt.Errorf("remote %s lacks an object of the lock: %w; run mlci data push --remote %s where the data is (mlci data check --remote %s lists what is missing)", r.Name, err, r.Name, r.Name))
	case errors.Is(err, syscall.ENOSPC):
		// Ours, not the remote's: every file placed is whole, and a rerun
		// fetches only the rest.
		return usageError(fmt.Errorf("the disk is full (%w): free some space and run the command again; it resumes", err))
	}
	return serviceError(fmt.Errorf("remote %s: %w", r.Name, err))
}

// remoteWork is what data push, pull and check --remote work on: the
// project, the remote and the locked datasets' objects.
type remoteWork struct {
	p      *project.Project
	store  remote.Store
	remote config.Remote
	sets   []*datasync.Set
}

// openRemoteWork loads the project, opens the remote named (or the
// default) and lists the named datasets' objects (every locked one when
// names is empty).
func (g *globals) openRemoteWork(ctx context.Context, names []string, remoteName string) (*remoteWork, error) {
	p, err := g.loadProject()
	if err != nil {
		return nil, err
	}
	store, r, err := g.openRemote(ctx, p, remoteName)
	if err != nil {
		return nil, err
	}
	sets, err := g.remoteSets(ctx, p, names, store, r)
	if err != nil {
		return nil, err
	}
	return &remoteWork{p: p, store: store, remote: r, sets: sets}, nil
}

// remoteSets loads the lock and the named datasets' objects. The tree
// objects of a dataset whose file list is not in git come from the local
// object store, else from the remote, which a fresh clone needs.
func (g *globals) remoteSets(ctx context.Context, p *project.Project, names []string, store remote.Store, r config.Remote) ([]*datasync.Set, error) {
	l, manifests, err := datacheck.Load(ctx, p, g.waitForWriter)
	if err != nil {
		return nil, err
	}
	selected := names
	if len(selected) == 0 {
		selected = l.Names()
	}
	for _, n := range selected {
		if ds, ok := l.Datasets[n]; ok && ds.InTrees() {
			if err := datasync.FetchTrees(ctx, p.Root, store, n, ds); err != nil {
				if errors.Is(err, remote.ErrNotFound) {
					return nil, checkFailed(fmt.Errorf("remote %s: %w", r.Name, err))
				}
				return nil, remoteError(r, err)
			}
		}
	}
	return datasync.Sets(l, manifests, names)
}

// transferBar is a progress bar like hashing's, for a transfer or a remote check.
func (g *globals) transferBar(label string) *progress.Bar {
	return progress.New(progress.Options{
		Mode:  progress.DetectMode(g.quiet, g.io.StderrTerminal, g.io.Getenv),
		Out:   g.io.Stderr,
		Width: g.io.Width,
		Label: label,
	})
}

// transferOutput is one dataset of push's or pull's output.
type transferOutput struct {
	Name        string `json:"name"`
	Path        string `json:"path"`
	Digest      string `json:"digest"`
	Objects     int64  `json:"objects"`
	Transferred int64  `json:"transferred"`
	Skipped     int64  `json:"skipped"`
	Bytes       int64  `json:"bytes"`
	Retries     int64  `json:"retries"`
	// Placed and Present are pull's: paths written, paths already right.
	Placed  *int64 `json:"placed,omitempty"`
	Present *int64 `json:"present,omitempty"`
}

func newDataPushCmd(g *globals) *cobra.Command {
	opts := &dataPushOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "push [NAME]...",
		Short: "Send locked datasets' files and tree objects to a remote",
		Long: `Send every locked dataset (or the named ones) to a remote in mlci.yaml's
remotes: (--remote, else the default): each file's content under its digest,
and the dataset's tree objects. What the remote already holds is not sent
again, so an interrupted push resumes. A file whose content no longer matches
mlci.lock is refused: run mlci data lock first. Exits 3 when the remote
refuses the credentials or keeps failing.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.names = args
			return runDataPush(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.remote, "remote", "", "the remote `NAME` in mlci.yaml (default: the default remote)")
	return cmd
}

// dataPushOptions are data push's flags and arguments.
type dataPushOptions struct {
	*globals
	names  []string // none: every locked dataset
	remote string
}

func runDataPush(ctx context.Context, opts *dataPushOptions) error {
	w, err := opts.openRemoteWork(ctx, opts.names, opts.remote)
	if err != nil {
		return err
	}
	p, store, r, sets := w.p, w.store, w.remote, w.sets
	var out []transferOutput
	for _, s := range sets {
		bar := opts.transferBar("pushing " + s.Name)
		bar.Start()
		st, err := datasync.Push(ctx, p.Root, store, s, remote.TransferOptions{Progress: bar})
		bar.Stop()
		if err != nil {
			return remoteError(r, err)
		}
		out = append(out, transferOutput{Name: s.Name, Path: s.Dataset.Path, Digest: string(s.Dataset.Digest),
			Objects: st.Objects, Transferred: st.Transferred, Skipped: st.Skipped, Bytes: st.Bytes, Retries: st.Retries})
	}
	return opts.printTransfers("pushed", r, out)
}

// printTransfers prints push's or pull's results.
func (g *globals) printTransfers(verb string, r config.Remote, out []transferOutput) error {
	if g.json {
		return g.printJSON(struct {
			Remote   string           `json:"remote"`
			Datasets []transferOutput `json:"datasets"`
		}{r.Name, out})
	}
	if g.quiet {
		return nil
	}
	t := newTable(g.io.Stdout)
	for _, o := range out {
		detail := fmt.Sprintf("%s objects: %s sent, %s already there", progress.Count(o.Objects), progress.Count(o.Transferred), progress.Count(o.Skipped))
		if o.Placed != nil {
			detail = fmt.Sprintf("%s files written, %s already there", progress.Count(*o.Placed), progress.Count(*o.Present))
		}
		t.row(verb, o.Name, shortDigest(o.Digest), detail, progress.Bytes(o.Bytes))
	}
	if err := t.flush(); err != nil {
		return err
	}
	dir := "to"
	if verb == "pulled" {
		dir = "from"
	}
	fmt.Fprintf(g.io.Stdout, "%s %d dataset(s) %s remote %s\n", verb, len(out), dir, r.Name)
	return nil
}

func newDataPullCmd(g *globals) *cobra.Command {
	opts := &dataPullOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "pull [NAME]...",
		Short: "Fetch locked datasets from a remote into their folders",
		Long: `Materialize every locked dataset (or the named ones) from a remote in
mlci.yaml's remotes: (--remote, else the default): each file missing or
different is downloaded, verified against its digest and moved into place;
files already right (by the state cache) are not fetched. Paths come from
mlci.lock, which a pull request can change: pull writes only inside the
project, never into .git/ or through a link, and refuses links that lead out
of their dataset. An interrupted pull resumes where it stopped. Exits 3 when
the remote refuses the credentials, keeps failing or holds a corrupt object.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.names = args
			return runDataPull(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.remote, "remote", "", "the remote `NAME` in mlci.yaml (default: the default remote)")
	opts.hash.register(cmd, false)
	return cmd
}

// dataPullOptions are data pull's flags and arguments.
type dataPullOptions struct {
	*globals
	names  []string // none: every locked dataset
	remote string
	hash   hashFlags // how files already there are recognised
}

func runDataPull(ctx context.Context, opts *dataPullOptions) error {
	w, err := opts.openRemoteWork(ctx, opts.names, opts.remote)
	if err != nil {
		return err
	}
	p, store, r, sets := w.p, w.store, w.remote, w.sets
	var out []transferOutput
	for _, s := range sets {
		bar := opts.transferBar("pulling " + s.Name)
		bar.Start()
		hopts := opts.hash.options(opts.globals)
		hopts.Progress.Mode = progress.Off // the pull's bar is the one shown
		st, err := datasync.Pull(ctx, p.Root, store, s, datasync.PullOptions{
			Transfer: remote.TransferOptions{Progress: bar},
			Have: func(ctx context.Context) ([]datahash.Entry, error) {
				return present(ctx, p, s, hopts)
			},
		})
		bar.Stop()
		if err != nil {
			return remoteError(r, err)
		}
		out = append(out, transferOutput{Name: s.Name, Path: s.Dataset.Path, Digest: string(s.Dataset.Digest),
			Objects: st.Objects, Transferred: st.Transferred, Skipped: st.Skipped, Bytes: st.Bytes, Retries: st.Retries,
			Placed: &st.Files, Present: &st.Present})
	}
	return opts.printTransfers("pulled", r, out)
}

// present hashes what the dataset's folder holds now, with the options it
// was locked with and through the state cache, so pull fetches only what
// is missing or different. A folder not there yet, or empty, holds nothing.
func present(ctx context.Context, p *project.Project, s *datasync.Set, hopts project.HashOptions) ([]datahash.Entry, error) {
	if _, err := os.Lstat(p.Abs(s.Dataset.Path)); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	d := project.Dataset{Name: s.Name, Path: s.Dataset.Path, Exclude: s.Dataset.Exclude, Follow: s.Dataset.FollowSymlinks, Alg: s.Alg}
	res, err := p.Hash(ctx, d, hopts)
	if errors.Is(err, datahash.ErrEmpty) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return res.Entries, nil
}
