// Package baseline resolves what a change's metrics and params are compared
// with (a commit, files given by hand, or the metrics a registered version
// recorded) and reads files there.
package baseline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mlci/mlci/internal/bootstrap"
	"github.com/mlci/mlci/internal/exitcode"
	"github.com/mlci/mlci/internal/gitrepo"
	"github.com/mlci/mlci/internal/metrics"
	"github.com/mlci/mlci/internal/project"
	"github.com/mlci/mlci/internal/registry"
)

// Kind is how a baseline was chosen.
type Kind string

// Kinds of baseline.
const (
	MergeBase Kind = "merge-base" // the merge base with the default branch
	BranchTip Kind = "branch-tip" // a shallow clone without the merge base
	Ref       Kind = "ref"        // a ref the user named
	Files     Kind = "files"      // files the user named
	Stage     Kind = "stage"      // a model stage's version
	Parent    Kind = "parent"     // a push's first parent
	None      Kind = "none"       // a push of a first commit: the empty tree
)

// Selection is what the user asked to compare with: a git ref, or files
// that stand for the metrics and params files (one MODEL#STAGE names the
// metrics recorded for the version in that stage). Both empty is the
// default for the event.
type Selection struct {
	Ref   string
	Files []string
}

// Registry is the model registry's replayed state, read for baselines
// that name a stage.
type Registry interface {
	State(ctx context.Context) (map[string]*registry.Model, error)
}

// RegistryFunc adapts a function to Registry.
type RegistryFunc func(ctx context.Context) (map[string]*registry.Model, error)

// State calls f.
func (f RegistryFunc) State(ctx context.Context) (map[string]*registry.Model, error) {
	return f(ctx)
}

// Options are what resolving a baseline needs of its caller.
type Options struct {
	// WorkDir is what relative Selection.Files are relative to.
	WorkDir string
	// TargetBranch is the branch the change merges into as the CI names
	// it; "" lets git tell.
	TargetBranch string
	// Warn receives a baseline that falls short of the one wanted; nil
	// drops it.
	Warn func(string)
	// OnMerge says this run is a push to the default branch, where the
	// merge base is HEAD itself.
	OnMerge bool
	// Registry serves MODEL#STAGE and the baseline of a push; nil has no
	// registry to read.
	Registry Registry
}

func (o *Options) warn(msg string) {
	if o.Warn != nil {
		o.Warn(msg)
	}
}

func (o *Options) registryState(ctx context.Context) (map[string]*registry.Model, error) {
	if o.Registry == nil {
		return nil, exitcode.With(exitcode.Usage, errors.New("no model registry to read"))
	}
	return o.Registry.State(ctx)
}

// Baseline is a resolved comparison point.
type Baseline struct {
	// Name says what it is, for output: "merge base with main (1a2b3c)",
	// "baseline/metrics.json".
	Name string
	Kind Kind
	// Repo, Rev and Prefix are set when the baseline is a commit: the
	// repository, the commit, and the project root's folder in it.
	Repo   *gitrepo.Repo
	Rev    string
	Prefix string
	// files are --baseline files by the head path they stand for.
	files map[string]string
	// recorded holds the metrics a registry record carries, for
	// MODEL#STAGE, by the head path they stand for.
	recorded map[string]*metrics.File
}

// Info is a baseline in --json output.
type Info struct {
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	// Rev is the commit read, when the baseline is a commit.
	Rev string `json:"rev,omitempty"`
}

// Info describes bl for output; nil when there is none.
func (bl *Baseline) Info() *Info {
	if bl == nil {
		return nil
	}
	info := &Info{Name: bl.Name, Kind: bl.Kind, Rev: bl.Rev}
	if bl.Kind == None {
		info.Rev = "" // the empty tree
	}
	return info
}

// Resolve opens git (or reads the given files) once per command. heads
// are the project's metrics or params files, which files stand in for.
func Resolve(ctx context.Context, p *project.Project, sel Selection, heads []string, opts Options) (*Baseline, error) {
	if len(sel.Files) > 0 {
		if sel.Ref != "" {
			return nil, exitcode.With(exitcode.Usage, errors.New("--base and --baseline both given; choose one"))
		}
		if f := sel.Files[0]; len(sel.Files) == 1 && strings.Contains(f, "#") && !exists(filepath.Join(opts.WorkDir, f)) {
			return stageBaseline(ctx, p, f, &opts)
		}
		return fileBaseline(p, opts.WorkDir, sel.Files, heads)
	}
	repo, err := gitrepo.Open(ctx, p.Root)
	if err != nil {
		return nil, exitcode.With(exitcode.Usage, fmt.Errorf("no baseline: %s is not in a git repository; pass --baseline FILE", p.Root))
	}
	repo.TargetBranch = opts.TargetBranch
	prefix, err := repo.Prefix(ctx, p.Root)
	if err != nil {
		return nil, exitcode.With(exitcode.Usage, err)
	}
	base, kind, err := GitBase(ctx, p, repo, sel.Ref, opts)
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("%s (%s)", base.Name, gitrepo.ShortRev(base.Rev))
	if kind == None {
		name = base.Name
	}
	return &Baseline{Name: name, Kind: kind, Repo: repo, Rev: base.Rev, Prefix: prefix}, nil
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// GitBase resolves the commit to compare with, and says how it was chosen:
// ref, else on a push to the default branch the push's baseline, else the
// merge base with the default branch.
func GitBase(ctx context.Context, p *project.Project, repo *gitrepo.Repo, ref string, opts Options) (gitrepo.Base, Kind, error) {
	if ref == "" && opts.OnMerge {
		return pushBase(ctx, p, repo, &opts)
	}
	base, err := repo.ResolveBase(ctx, ref)
	if err != nil {
		return base, "", exitcode.With(exitcode.Usage, err)
	}
	switch {
	case ref != "":
		return base, Ref, nil
	case base.Note != "":
		opts.warn(base.Note)
		return base, BranchTip, nil
	}
	return base, MergeBase, nil
}

// pushBase is the baseline of a push to the default branch, where the
// merge base with the default branch is HEAD itself and would pass every
// relative gate: the version in a model's on: merge stage, which the push
// replaces there, else HEAD's first parent, else (HEAD is the first
// commit) the empty tree, where no file exists.
func pushBase(ctx context.Context, p *project.Project, repo *gitrepo.Repo, opts *Options) (gitrepo.Base, Kind, error) {
	head, _ := repo.Verify(ctx, "HEAD")
	if base, ok := stageHolder(ctx, p, repo, head, opts); ok {
		return base, Stage, nil
	}
	rev, ok, err := repo.FirstParent(ctx)
	if err != nil {
		return gitrepo.Base{}, "", exitcode.With(exitcode.Usage, err)
	}
	if ok {
		return gitrepo.Base{Rev: rev, Name: "first parent of HEAD"}, Parent, nil
	}
	empty, err := repo.EmptyTree(ctx)
	if err != nil {
		return gitrepo.Base{}, "", exitcode.With(exitcode.Usage, err)
	}
	return gitrepo.Base{Rev: empty, Name: "none: HEAD is the first commit"}, None, nil
}

// stageHolder is the commit of the version in the first model's on: merge
// stage; not ok when there is none, or it is HEAD (a re-run after the
// release), or the registry or the commit cannot be read, which it warns
// about.
func stageHolder(ctx context.Context, p *project.Project, repo *gitrepo.Repo, head string, opts *Options) (gitrepo.Base, bool) {
	if p.Config == nil {
		return gitrepo.Base{}, false
	}
	var state map[string]*registry.Model
	for _, m := range p.Config.Models {
		for _, s := range m.Stages {
			if s.On != "merge" {
				continue
			}
			if state == nil {
				var err error
				if state, err = opts.registryState(ctx); err != nil {
					opts.warn(fmt.Sprintf("comparing with HEAD's parent, not with the version in %s#%s: %v", m.Name, s.Name, err))
					return gitrepo.Base{}, false
				}
			}
			st := state[m.Name]
			if st == nil || st.Stages[s.Name] == nil {
				continue
			}
			a := st.Stages[s.Name]
			if a.Commit == "" || a.Commit == head {
				continue
			}
			label := a.Version
			if label == "" {
				label = "commit " + gitrepo.ShortRev(a.Commit)
			}
			base, err := repo.ResolveBase(ctx, a.Commit)
			if err != nil {
				opts.warn(fmt.Sprintf("comparing with HEAD's parent, not with %s#%s (%s): %v", m.Name, s.Name, label, err))
				continue
			}
			return gitrepo.Base{Rev: base.Rev, Name: fmt.Sprintf("%s#%s %s", m.Name, s.Name, label)}, true
		}
	}
	return gitrepo.Base{}, false
}

// Read returns a file's content at the baseline, or an error wrapping
// os.ErrNotExist when it is not there.
func (bl *Baseline) Read(ctx context.Context, file string) ([]byte, error) {
	if bl.recorded != nil {
		// Not os.ErrNotExist: the gate would take it for a baseline
		// without the file, when the remedy is to name one.
		return nil, fmt.Errorf("%s: the registry records metrics, not files; for per-example scores set per_example.base", file)
	}
	if bl.files != nil {
		f, ok := bl.files[file]
		if !ok {
			return nil, fmt.Errorf("%s: no --baseline file for it: %w", file, os.ErrNotExist)
		}
		return metrics.ReadRegular(f)
	}
	data, err := project.ReadInputAt(ctx, bl.Repo, bl.Rev, bl.Prefix, file)
	if errors.Is(err, gitrepo.ErrNotFound) {
		return nil, fmt.Errorf("%s at %s: %w", file, gitrepo.ShortRev(bl.Rev), os.ErrNotExist)
	}
	return data, err
}

// Covers keeps the files the baseline has something to compare with: all
// of them at a commit, only those given files or a registry record stand
// for otherwise.
func (bl *Baseline) Covers(files []string) []string {
	if bl.files == nil && bl.recorded == nil {
		return files
	}
	var given []string
	for _, f := range files {
		_, inFiles := bl.files[f]
		_, inRecord := bl.recorded[f]
		if inFiles || inRecord {
			given = append(given, f)
		}
	}
	return given
}

// Seed makes bootstrap intervals reproducible per commit.
func (bl *Baseline) Seed(ctx context.Context) uint64 {
	if bl.Repo != nil {
		if rev, ok := bl.Repo.Verify(ctx, "HEAD"); ok {
			return bootstrap.SeedFrom(rev)
		}
	}
	return bootstrap.SeedFrom("mlci")
}

// ReadMetrics parses the files at the baseline with parse (metrics.Parse
// or metrics.ParseParams); a file missing there is left out, so its
// values show as added.
func (bl *Baseline) ReadMetrics(ctx context.Context, files []string, parse func(string, []byte) (*metrics.File, error)) ([]*metrics.File, error) {
	var out []*metrics.File
	if bl.recorded != nil {
		for _, f := range files {
			if m, ok := bl.recorded[f]; ok {
				out = append(out, m)
			}
		}
		return out, nil
	}
	for _, f := range files {
		data, err := bl.Read(ctx, f)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, exitcode.With(exitcode.Usage, err)
		}
		m, err := parse(f, data)
		if err != nil {
			return nil, exitcode.With(exitcode.Usage, fmt.Errorf("baseline %w", err))
		}
		out = append(out, m)
	}
	return out, nil
}
