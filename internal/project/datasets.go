package project

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mlci/mlci/internal/config"
	"github.com/mlci/mlci/internal/datahash"
	"github.com/mlci/mlci/internal/digest"
	"github.com/mlci/mlci/internal/exitcode"
	"github.com/mlci/mlci/internal/forge/local"
	"github.com/mlci/mlci/internal/ignore"
	"github.com/mlci/mlci/internal/lockfile"
	"github.com/mlci/mlci/internal/progress"
	"github.com/mlci/mlci/internal/statecache"
)

// Dataset is one dataset to hash, from the config, the lock or the command
// line.
type Dataset struct {
	Name    string
	Path    string // as recorded: relative to the project root, or absolute
	Exclude []string
	Follow  bool
	Alg     digest.Algorithm
}

// FromConfig is a configured dataset hashed with alg.
func FromConfig(d config.Dataset, alg digest.Algorithm) Dataset {
	return Dataset{Name: d.Name, Path: d.Path, Exclude: d.Exclude, Follow: d.FollowSymlinks, Alg: alg}
}

// PathOptions say how datasets are hashed: Alg for all of them, Exclude
// and FollowSymlinks for paths not in the config, which carry their own.
type PathOptions struct {
	Alg            digest.Algorithm
	Exclude        []string
	FollowSymlinks bool
}

// SelectDatasets maps command-line arguments to datasets: a config name or
// path selects that dataset; anything else is a path, relative to workDir,
// hashed with opts. No arguments select every configured dataset.
func (p *Project) SelectDatasets(workDir string, args []string, opts PathOptions) ([]Dataset, error) {
	var out []Dataset
	if len(args) == 0 {
		if p.Config == nil || len(p.Config.Data) == 0 {
			return nil, exitcode.With(exitcode.Usage, errors.New("no datasets: list them under data: in mlci.yaml, or pass paths"))
		}
		for _, d := range p.Config.Data {
			out = append(out, FromConfig(d, opts.Alg))
		}
		return out, nil
	}
	for _, a := range args {
		if p.Config != nil {
			if d, ok := p.Config.Dataset(a); ok {
				out = append(out, FromConfig(d, opts.Alg))
				continue
			}
		}
		abs := a
		if !filepath.IsAbs(a) {
			abs = filepath.Join(workDir, a)
		}
		if d, ok := p.datasetAt(abs); ok {
			out = append(out, FromConfig(d, opts.Alg))
			continue
		}
		rel := p.Rel(abs)
		out = append(out, Dataset{Name: rel, Path: rel, Exclude: opts.Exclude, Follow: opts.FollowSymlinks, Alg: opts.Alg})
	}
	return out, nil
}

// datasetAt finds the configured dataset whose path is abs: hashed by its
// path, it is hashed with its options, as by its name.
func (p *Project) datasetAt(abs string) (config.Dataset, bool) {
	if p.Config == nil {
		return config.Dataset{}, false
	}
	for _, d := range p.Config.Data {
		if p.Abs(d.Path) == filepath.Clean(abs) {
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
func (p *Project) ownFiles(abs string) []string {
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

// HashOptions are how Hash reads files and reports on it.
type HashOptions struct {
	// NoCache reads every file, ignoring the state cache.
	NoCache bool
	// Jobs is how many files are hashed at once; 0 is one per CPU.
	Jobs int
	// Warn receives what the hashing skips and why; nil drops it.
	Warn func(string)
	// Progress draws the bar; its Label is set to "hashing NAME".
	Progress progress.Options
	// MaxEntries and Trees are datahash.Options': how many entries the
	// result keeps (0: all), and where tree objects go as they complete.
	MaxEntries int
	Trees      func(d digest.Digest, obj []byte) error
}

// Hash computes one dataset's digest, with the state cache unless
// disabled. A dataset that cannot be read is a usage error.
func (p *Project) Hash(ctx context.Context, d Dataset, opts HashOptions) (*datahash.Result, error) {
	abs := p.Abs(d.Path)
	m, err := ignore.Compile(append(slices.Clip(d.Exclude), p.ownFiles(abs)...))
	if err != nil {
		return nil, exitcode.With(exitcode.Usage, fmt.Errorf("dataset %s: %w", d.Name, err))
	}
	hopts := datahash.Options{
		Algorithm:      d.Alg,
		Exclude:        m,
		FollowSymlinks: d.Follow,
		Workers:        opts.Jobs,
		Warn:           opts.Warn,
		MaxEntries:     opts.MaxEntries,
		Trees:          opts.Trees,
	}
	if !opts.NoCache {
		if dir, ok := p.CacheDir(); ok {
			hopts.Cache = statecache.Open(dir, abs, string(d.Alg))
		}
	}
	popts := opts.Progress
	popts.Label = "hashing " + d.Name
	bar := progress.New(popts)
	hopts.Progress = bar
	bar.Start()
	res, err := datahash.Hash(ctx, abs, hopts)
	bar.Stop()
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return nil, err
		}
		return nil, exitcode.With(exitcode.Usage, fmt.Errorf("dataset %s: %w", d.Name, err))
	}
	return res, nil
}
