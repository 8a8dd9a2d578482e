package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/mlci/mlci/internal/config"
	"github.com/mlci/mlci/internal/datahash"
	"github.com/mlci/mlci/internal/digest"
	"github.com/mlci/mlci/internal/lockfile"
	"github.com/mlci/mlci/internal/progress"
	"github.com/mlci/mlci/internal/project"
)

// hashFlags are the options shared by the commands that hash.
type hashFlags struct {
	algo    string
	exclude []string
	follow  bool
	noCache bool
	jobs    int
}

func (h *hashFlags) register(cmd *cobra.Command, withDatasetOptions bool) {
	f := cmd.Flags()
	if withDatasetOptions {
		f.StringVar(&h.algo, "algo", "", "hash `ALGORITHM`: blake3 or sha256 (default: the config's hash, else blake3)")
		f.StringArrayVar(&h.exclude, "exclude", nil, "exclude `PATTERN` (gitignore syntax) for paths not in the config; repeatable")
		f.BoolVar(&h.follow, "follow-symlinks", false, "hash what symlinks point to, for paths not in the config")
	}
	f.BoolVar(&h.noCache, "no-cache", false, "read every file, ignoring the state cache")
	f.IntVarP(&h.jobs, "jobs", "j", 0, "files hashed at once (default: one per CPU)")
}

func newDataCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "data",
		Short: "Hash datasets, lock their digests and check them in CI",
		Long: `Datasets are directories or files named under data: in mlci.yaml. Their
digests (Merkle roots over file contents) are recorded in mlci.lock, with one
manifest per dataset in mlci.lock.d/ naming every file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newDataHashCmd(g), newDataLockCmd(g), newDataCheckCmd(g), newDataDiffCmd(g), newDataPushCmd(g), newDataPullCmd(g), newDataRefCmd(g), newDataGCCmd(g))
	return cmd
}

// algorithm picks the hash: the flag, else the config, else the default.
func (h *hashFlags) algorithm(p *project.Project) (digest.Algorithm, error) {
	name := h.algo
	if name == "" && p.Config != nil {
		name = p.Config.Hash
	}
	alg, err := digest.ParseAlgorithm(name)
	if err != nil {
		return "", usageError(fmt.Errorf("--algo: %w", err))
	}
	return alg, nil
}

// options are how the datasets are hashed and the hashing shown.
func (h *hashFlags) options(g *globals) project.HashOptions {
	return project.HashOptions{
		NoCache: h.noCache,
		Jobs:    h.jobs,
		Warn:    g.warn,
		Progress: progress.Options{
			Mode:  progress.DetectMode(g.quiet, g.io.StderrTerminal, g.io.Getenv),
			Out:   g.io.Stderr,
			Width: g.io.Width,
		},
	}
}

// projectDatasets loads the project and selects the datasets args name.
func (g *globals) projectDatasets(h *hashFlags, args []string) (*project.Project, []project.Dataset, error) {
	p, err := g.loadProject()
	if err != nil {
		return nil, nil, err
	}
	alg, err := h.algorithm(p)
	if err != nil {
		return nil, nil, err
	}
	sets, err := p.SelectDatasets(g.workDir, args, project.PathOptions{Alg: alg, Exclude: h.exclude, FollowSymlinks: h.follow})
	return p, sets, err
}

type hashOutput struct {
	Name   string        `json:"name"`
	Path   string        `json:"path"`
	Digest digest.Digest `json:"digest"`
	Files  int64         `json:"files"`
	Bytes  int64         `json:"bytes"`
	Hashed int64         `json:"hashed"`
	Cached int64         `json:"cached"`
}

func newDataHashCmd(g *globals) *cobra.Command {
	opts := &dataHashOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "hash [PATH|NAME]...",
		Short: "Print each dataset's digest, file count and bytes",
		Long: `Print the digest (algorithm:hex), file count and size of each path or
configured dataset; with no arguments, every dataset in mlci.yaml. A single
file's digest equals b3sum's (or sha256sum's with --algo sha256).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.paths = args
			return runDataHash(cmd.Context(), opts)
		},
	}
	opts.hash.register(cmd, true)
	return cmd
}

// dataHashOptions are data hash's flags and arguments.
type dataHashOptions struct {
	*globals
	paths []string // paths or dataset names; none: every dataset
	hash  hashFlags
}

func runDataHash(ctx context.Context, opts *dataHashOptions) error {
	p, sets, err := opts.projectDatasets(&opts.hash, opts.paths)
	if err != nil {
		return err
	}
	var out []hashOutput
	for _, d := range sets {
		hopts := opts.hash.options(opts.globals)
		hopts.MaxEntries = datahash.NoEntries // only the root is printed
		res, err := p.Hash(ctx, d, hopts)
		if err != nil {
			return err
		}
		out = append(out, hashOutput{d.Name, d.Path, res.Root, res.Files, res.Bytes, res.Hashed, res.Cached})
	}
	if opts.json {
		return opts.printJSON(struct {
			Datasets []hashOutput `json:"datasets"`
		}{out})
	}
	t := newTable(opts.io.Stdout)
	for _, o := range out {
		t.row(string(o.Digest), progress.Count(o.Files)+" files", progress.Bytes(o.Bytes), o.Path)
	}
	return t.flush()
}

// waitForWriter tells the user why a command has not started yet.
func (g *globals) waitForWriter() {
	if !g.quiet {
		fmt.Fprintf(g.io.Stderr, "mlci: waiting for another mlci to finish writing %s (it holds %s)\n", lockfile.FileName, lockfile.MutexFile)
	}
}

func newDataLockCmd(g *globals) *cobra.Command {
	opts := &dataLockOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "lock [PATH|NAME]...",
		Short: "Record dataset digests in mlci.lock",
		Long: `Hash datasets and record their digests in mlci.lock and their file lists in
mlci.lock.d/. With no arguments, every dataset in mlci.yaml; datasets locked
earlier by path are kept unless --prune. Commit both afterwards.

A dataset of more files than manifest_max_files (default 10,000) keeps its
file list out of git, as tree objects in .mlci/objects/; mlci.lock records
its root alone.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.paths = args
			return runDataLock(cmd.Context(), opts)
		},
	}
	opts.hash.register(cmd, true)
	cmd.Flags().BoolVar(&opts.prune, "prune", false, "drop locked datasets that are no longer in mlci.yaml")
	return cmd
}

// dataLockOptions are data lock's flags and arguments.
type dataLockOptions struct {
	*globals
	paths []string // paths or dataset names; none: every dataset
	hash  hashFlags
	// prune drops locked datasets mlci.yaml no longer names; only when
	// every dataset is locked, as a subset says nothing of the others.
	prune bool
}

// lockOutput is one dataset of data lock's output.
type lockOutput struct {
	hashOutput
	Status string `json:"status"`
}

// treeBytesPerFile is about what a file takes in tree objects (its name,
// type and digest), for how many of them data lock holds in memory.
const treeBytesPerFile = 128

func runDataLock(ctx context.Context, opts *dataLockOptions) error {
	p, sets, err := opts.projectDatasets(&opts.hash, opts.paths)
	if err != nil {
		return err
	}
	// A lock this mlci cannot use fails now, not after the hashing.
	if _, err := p.ReadLockOrNew(); err != nil {
		return err
	}
	maxFiles := config.DefaultManifestMaxFiles
	if p.Config != nil {
		maxFiles = p.Config.ManifestMaxFilesOrDefault()
	}
	results := make([]*datahash.Result, len(sets))
	manifests := map[string][]byte{}
	inTrees := map[string]bool{}
	for i, d := range sets {
		// Whether the dataset gets a manifest or trees is known only once
		// it is walked: the entries are kept up to manifest_max_files, the
		// tree objects held up to about the size such a manifest's trees
		// take and written to the local object store past it, so a dataset
		// of millions of files is never held whole.
		sink := lockfile.NewTreeSink(ctx, p.Root, maxFiles*treeBytesPerFile)
		hopts := opts.hash.options(opts.globals)
		hopts.MaxEntries = maxFiles
		hopts.Trees = sink.Put
		if results[i], err = p.Hash(ctx, d, hopts); err != nil {
			return err
		}
		if results[i].Files > int64(maxFiles) {
			// Too many files for a manifest git and a review can carry:
			// the file list goes to the local object store, before the
			// lock that names its root is written.
			if err := sink.Flush(); err != nil {
				return usageError(fmt.Errorf("dataset %q: %w; %s is unchanged", d.Name, err, lockfile.FileName))
			}
			inTrees[d.Name] = true
		} else {
			manifests[d.Name] = lockfile.EncodeManifest(d.Alg, results[i].Entries)
		}
		results[i].Entries = nil // the manifest or the trees hold them now
	}
	// Another data lock may have written mlci.lock while we hashed:
	// read it again under the writers' lock and add to what it holds,
	// or one of the two runs' datasets would be lost.
	release, err := lockfile.Acquire(ctx, p.Root, opts.waitForWriter)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return err
		}
		return usageError(err)
	}
	defer release()
	l, err := p.ReadLockOrNew()
	if err != nil {
		return err
	}
	if opts.prune && len(opts.paths) == 0 {
		for name := range l.Datasets {
			if _, ok := p.Config.Dataset(name); !ok {
				delete(l.Datasets, name)
			}
		}
	}
	var out []lockOutput
	for i, d := range sets {
		res := results[i]
		status := "new"
		if old, ok := l.Datasets[d.Name]; ok {
			status = "updated"
			if old.Digest == res.Root && old.Path == d.Path && slices.Equal(old.Exclude, d.Exclude) && old.FollowSymlinks == d.Follow {
				status = "unchanged"
			}
		}
		ds := &lockfile.Dataset{
			Path: d.Path, Digest: res.Root, Files: res.Files, Bytes: res.Bytes,
			Manifest: lockfile.ManifestPath(d.Name), Exclude: d.Exclude, FollowSymlinks: d.Follow,
		}
		if inTrees[d.Name] {
			ds.Manifest, ds.Trees = "", lockfile.TreesInObjects
		}
		l.Datasets[d.Name] = ds
		out = append(out, lockOutput{hashOutput{d.Name, d.Path, res.Root, res.Files, res.Bytes, res.Hashed, res.Cached}, status})
	}
	switch err := lockfile.Save(p.Root, l, manifests); {
	case errors.Is(err, lockfile.ErrPartial):
		return usageError(fmt.Errorf("%w; data check finds them where they are, and the next mlci data lock moves them", err))
	case err != nil:
		return usageError(fmt.Errorf("%w; %s and %s/ are unchanged", err, lockfile.FileName, lockfile.ManifestDir))
	}
	release()
	if opts.json {
		return opts.printJSON(struct {
			Lock     string       `json:"lock"`
			Datasets []lockOutput `json:"datasets"`
		}{p.LockPath(), out})
	}
	if opts.quiet {
		return nil
	}
	t := newTable(opts.io.Stdout)
	for _, o := range out {
		t.row(o.Status, o.Name, o.Digest.Short(), progress.Count(o.Files)+" files", progress.Bytes(o.Bytes))
	}
	if err := t.flush(); err != nil {
		return err
	}
	if len(manifests) == 0 && len(inTrees) > 0 {
		fmt.Fprintf(opts.io.Stdout, "wrote %s; commit it\n", p.Rel(p.LockPath()))
	} else {
		fmt.Fprintf(opts.io.Stdout, "wrote %s; commit it with %s/\n", p.Rel(p.LockPath()), lockfile.ManifestDir)
	}
	if len(inTrees) > 0 {
		fmt.Fprintf(opts.io.Stdout, "datasets of more than %s files keep their file lists in %s/objects/, not in git: mlci data push sends them to a remote for CI and other clones\n",
			progress.Count(int64(maxFiles)), lockfile.StoreDir)
	}
	return nil
}
