package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlci/mlci/internal/config"
	"github.com/mlci/mlci/internal/datahash"
	"github.com/mlci/mlci/internal/digest"
	"github.com/mlci/mlci/internal/forge/local"
	"github.com/mlci/mlci/internal/ignore"
	"github.com/mlci/mlci/internal/lockfile"
	"github.com/mlci/mlci/internal/progress"
	"github.com/mlci/mlci/internal/statecache"
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

// dataset is one dataset to hash, from the config, the lock or the command
// line.
type dataset struct {
	Name    string
	Path    string // as recorded: relative to the project root, or absolute
	Exclude []string
	Follow  bool
	Alg     digest.Algorithm
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
	cmd.AddCommand(newDataHashCmd(g), newDataLockCmd(g), newDataCheckCmd(g), newDataDiffCmd(g))
	return cmd
}

// algorithm picks the hash: the flag, else the config, else the default.
func (h *hashFlags) algorithm(p *project) (digest.Algorithm, error) {
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

func fromConfig(d config.Dataset, alg digest.Algorithm) dataset {
	return dataset{Name: d.Name, Path: d.Path, Exclude: d.Exclude, Follow: d.FollowSymlinks, Alg: alg}
}

// selectDatasets maps command-line arguments to datasets: a config name or
// path selects that dataset; anything else is a path hashed with the flags'
// options. No arguments select every configured dataset.
func (g *globals) selectDatasets(p *project, h *hashFlags, args []string) ([]dataset, error) {
	alg, err := h.algorithm(p)
	if err != nil {
		return nil, err
	}
	var out []dataset
	if len(args) == 0 {
		if p.Config == nil || len(p.Config.Data) == 0 {
			return nil, usageError(errors.New("no datasets: list them under data: in mlci.yaml, or pass paths"))
		}
		for _, d := range p.Config.Data {
			out = append(out, fromConfig(d, alg))
		}
		return out, nil
	}
	for _, a := range args {
		if p.Config != nil {
			if d, ok := p.Config.Dataset(a); ok {
				out = append(out, fromConfig(d, alg))
				continue
			}
		}
		abs := a
		if !filepath.IsAbs(a) {
			abs = filepath.Join(g.workDir, a)
		}
		if d, ok := p.datasetAt(abs); ok {
			out = append(out, fromConfig(d, alg))
			continue
		}
		rel := p.rel(abs)
		out = append(out, dataset{Name: rel, Path: rel, Exclude: h.exclude, Follow: h.follow, Alg: alg})
	}
	return out, nil
}

// datasetAt finds the configured dataset whose path is abs: hashed by its
// path, it is hashed with its options, as by its name.
func (p *project) datasetAt(abs string) (config.Dataset, bool) {
	if p.Config == nil {
		return config.Dataset{}, false
	}
	for _, d := range p.Config.Data {
		if p.abs(d.Path) == filepath.Clean(abs) {
			return d, true
		}
	}
	return config.Dataset{}, false
}

// ownFiles are exclude patterns, relative to the dataset at abs, for the
// files mlci itself writes into the project and their temporary files: a
// dataset holding the project root (path: ., or a folder above) would
// otherwise hash the lock it is checked against, and never pass. mlci.yaml
// is written by people, so it counts.
func (p *project) ownFiles(abs string) []string {
	rel, err := filepath.Rel(abs, p.Root)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil
	}
	prefix := "/"
	if rel != "." {
		prefix += ignore.Escape(filepath.ToSlash(rel)) + "/"
	}
	out := []string{prefix + ignore.Escape(lockfile.ManifestDir) + "/", prefix + ".mlci/"}
	for _, f := range []string{lockfile.FileName, local.FileName, RunRecordFile} {
		out = append(out, prefix+ignore.Escape(f), prefix+ignore.Escape("."+f)+".tmp-*")
	}
	return out
}

// projectDatasets loads the project and selects the datasets args name.
func (g *globals) projectDatasets(h *hashFlags, args []string) (*project, []dataset, error) {
	p, err := g.loadProject()
	if err != nil {
		return nil, nil, err
	}
	sets, err := g.selectDatasets(p, h, args)
	return p, sets, err
}

// hash computes one dataset's digest, with the state cache unless disabled.
func (g *globals) hash(ctx context.Context, p *project, d dataset, h *hashFlags) (*datahash.Result, error) {
	abs := p.abs(d.Path)
	m, err := ignore.Compile(append(slices.Clip(d.Exclude), p.ownFiles(abs)...))
	if err != nil {
		return nil, usageError(fmt.Errorf("dataset %s: %w", d.Name, err))
	}
	opts := datahash.Options{
		Algorithm:      d.Alg,
		Exclude:        m,
		FollowSymlinks: d.Follow,
		Workers:        h.jobs,
		Warn:           g.warn,
	}
	if !h.noCache {
		if dir, ok := p.cacheDir(); ok {
			opts.Cache = statecache.Open(dir, abs, string(d.Alg))
		}
	}
	bar := progress.New(progress.Options{
		Mode:  progress.DetectMode(g.quiet, g.io.StderrTerminal, g.io.Getenv),
		Out:   g.io.Stderr,
		Label: "hashing " + d.Name,
		Width: g.io.Width,
	})
	opts.Progress = bar
	bar.Start()
	res, err := datahash.Hash(ctx, abs, opts)
	bar.Stop()
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return nil, err
		}
		return nil, usageError(fmt.Errorf("dataset %s: %w", d.Name, err))
	}
	return res, nil
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
	var h hashFlags
	cmd := &cobra.Command{
		Use:   "hash [PATH|NAME]...",
		Short: "Print each dataset's digest, file count and bytes",
		Long: `Print the digest (algorithm:hex), file count and size of each path or
configured dataset; with no arguments, every dataset in mlci.yaml. A single
file's digest equals b3sum's (or sha256sum's with --algo sha256).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, sets, err := g.projectDatasets(&h, args)
			if err != nil {
				return err
			}
			var out []hashOutput
			for _, d := range sets {
				res, err := g.hash(cmd.Context(), p, d, &h)
				if err != nil {
					return err
				}
				out = append(out, hashOutput{d.Name, d.Path, res.Root, res.Files, res.Bytes, res.Hashed, res.Cached})
			}
			if g.json {
				return g.printJSON(struct {
					Datasets []hashOutput `json:"datasets"`
				}{out})
			}
			t := newTable(g.io.Stdout)
			for _, o := range out {
				t.row(string(o.Digest), progress.Count(o.Files)+" files", progress.Bytes(o.Bytes), o.Path)
			}
			return t.flush()
		},
	}
	h.register(cmd, true)
	return cmd
}

// waitForWriter tells the user why a command has not started yet.
func (g *globals) waitForWriter() {
	if !g.quiet {
		fmt.Fprintf(g.io.Stderr, "mlci: waiting for another mlci to finish writing %s (it holds %s)\n", lockfile.FileName, lockfile.MutexFile)
	}
}

// readLockOrNew reads mlci.lock for a data lock: a missing one starts empty.
func (p *project) readLockOrNew() (*lockfile.Lock, error) {
	l, err := lockfile.Read(p.lockPath())
	switch {
	case errors.Is(err, os.ErrNotExist):
		return lockfile.New(), nil
	case err != nil:
		return nil, usageError(fmt.Errorf("%w (to start over, delete it and run mlci data lock)", err))
	}
	return l, nil
}

func newDataLockCmd(g *globals) *cobra.Command {
	var h hashFlags
	var prune bool
	cmd := &cobra.Command{
		Use:   "lock [PATH|NAME]...",
		Short: "Record dataset digests in mlci.lock",
		Long: `Hash datasets and record their digests in mlci.lock and their file lists in
mlci.lock.d/. With no arguments, every dataset in mlci.yaml; datasets locked
earlier by path are kept unless --prune. Commit both afterwards.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			p, sets, err := g.projectDatasets(&h, args)
			if err != nil {
				return err
			}
			// A lock this mlci cannot use fails now, not after the hashing.
			if _, err := p.readLockOrNew(); err != nil {
				return err
			}
			results := make([]*datahash.Result, len(sets))
			manifests := map[string][]byte{}
			for i, d := range sets {
				if results[i], err = g.hash(ctx, p, d, &h); err != nil {
					return err
				}
				manifests[d.Name] = lockfile.EncodeManifest(d.Alg, results[i].Entries)
				results[i].Entries = nil // the manifest holds them now
			}
			// Another data lock may have written mlci.lock while we hashed:
			// read it again under the writers' lock and add to what it holds,
			// or one of the two runs' datasets would be lost.
			release, err := lockfile.Acquire(ctx, p.Root, g.waitForWriter)
			if err != nil {
				if errors.Is(err, context.Canceled) {
					return err
				}
				return usageError(err)
			}
			defer release()
			l, err := p.readLockOrNew()
			if err != nil {
				return err
			}
			if prune && len(args) == 0 {
				for name := range l.Datasets {
					if _, ok := p.Config.Dataset(name); !ok {
						delete(l.Datasets, name)
					}
				}
			}
			type lockOutput struct {
				hashOutput
				Status string `json:"status"`
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
				l.Datasets[d.Name] = &lockfile.Dataset{
					Path: d.Path, Digest: res.Root, Files: res.Files, Bytes: res.Bytes,
					Manifest: lockfile.ManifestPath(d.Name), Exclude: d.Exclude, FollowSymlinks: d.Follow,
				}
				out = append(out, lockOutput{hashOutput{d.Name, d.Path, res.Root, res.Files, res.Bytes, res.Hashed, res.Cached}, status})
			}
			switch err := lockfile.Save(p.Root, l, manifests); {
			case errors.Is(err, lockfile.ErrPartial):
				return usageError(fmt.Errorf("%w; data check finds them where they are, and the next mlci data lock moves them", err))
			case err != nil:
				return usageError(fmt.Errorf("%w; %s and %s/ are unchanged", err, lockfile.FileName, lockfile.ManifestDir))
			}
			release()
			if g.json {
				return g.printJSON(struct {
					Lock     string       `json:"lock"`
					Datasets []lockOutput `json:"datasets"`
				}{p.lockPath(), out})
			}
			if g.quiet {
				return nil
			}
			t := newTable(g.io.Stdout)
			for _, o := range out {
				t.row(o.Status, o.Name, o.Digest.Short(), progress.Count(o.Files)+" files", progress.Bytes(o.Bytes))
			}
			if err := t.flush(); err != nil {
				return err
			}
			fmt.Fprintf(g.io.Stdout, "wrote %s; commit it with %s/\n", p.rel(p.lockPath()), lockfile.ManifestDir)
			return nil
		},
	}
	h.register(cmd, true)
	cmd.Flags().BoolVar(&prune, "prune", false, "drop locked datasets that are no longer in mlci.yaml")
	return cmd
}
