package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlci/mlci/internal/bootstrap"
	"github.com/mlci/mlci/internal/ciprovider"
	"github.com/mlci/mlci/internal/gitrepo"
	"github.com/mlci/mlci/internal/metrics"
	"github.com/mlci/mlci/internal/registry"
)

// baselineFlags choose what the work tree is compared with.
type baselineFlags struct {
	base     string
	baseline []string
}

func (b *baselineFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&b.base, "base", "", "compare with the files at git `REF` (default: merge base with the default branch; on a push to it, the version in the on: merge stage, else HEAD^)")
	f.StringArrayVar(&b.baseline, "baseline", nil, "compare with this `FILE` instead of git (e.g. a downloaded artifact), or with MODEL#STAGE, the metrics recorded for the version in that stage; repeatable")
}

// baselineInfo is the baseline in --json output.
type baselineInfo struct {
	Name string `json:"name"`
	// Kind is how it was chosen: "merge-base", "branch-tip" (a shallow
	// clone without the merge base), "ref" (--base), "files"
	// (--baseline FILE), "stage" (a model stage's version), "parent" (a
	// push's first parent) or "none" (a push of a first commit).
	Kind string `json:"kind"`
	// Rev is the commit read, when the baseline is a commit.
	Rev string `json:"rev,omitempty"`
}

// baseline is a resolved comparison point.
type baseline struct {
	// Name says what it is, for output: "merge base with main (1a2b3c)",
	// "baseline/metrics.json".
	Name string
	// kind is how it was chosen, as baselineInfo says.
	kind string
	repo *gitrepo.Repo
	rev  string
	// prefix is the project root's path inside the repository.
	prefix string
	// files are --baseline files by the head path they stand for.
	files map[string]string
	// recorded holds the metrics a registry record carries, for
	// --baseline MODEL#STAGE, by the head path they stand for.
	recorded map[string]*metrics.File
}

func (bl *baseline) info() *baselineInfo {
	if bl == nil {
		return nil
	}
	info := &baselineInfo{Name: bl.Name, Kind: bl.kind, Rev: bl.rev}
	if bl.kind == "none" {
		info.Rev = "" // the empty tree
	}
	return info
}

// resolveBaseline opens git (or the --baseline files) once per command.
// heads are the project's metrics or params files, which --baseline files
// stand in for.
func (g *globals) resolveBaseline(ctx context.Context, p *project, b *baselineFlags, heads []string) (*baseline, error) {
	if len(b.baseline) > 0 {
		if b.base != "" {
			return nil, usageError(errors.New("--base and --baseline both given; choose one"))
		}
		if len(b.baseline) == 1 && strings.Contains(b.baseline[0], "#") && !exists(filepath.Join(g.workDir, b.baseline[0])) {
			return g.stageBaseline(ctx, p, b.baseline[0], heads)
		}
		return g.fileBaseline(p, b.baseline, heads)
	}
	repo, err := gitrepo.Open(ctx, p.Root)
	if err != nil {
		return nil, usageError(fmt.Errorf("no baseline: %s is not in a git repository; pass --baseline FILE", p.Root))
	}
	repo.Getenv = g.io.Getenv
	prefix, err := repo.Prefix(ctx, p.Root)
	if err != nil {
		return nil, usageError(err)
	}
	base, kind, err := g.gitBase(ctx, p, repo, b.base)
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("%s (%s)", base.Name, shortRev(base.Rev))
	if kind == "none" {
		name = base.Name
	}
	return &baseline{Name: name, kind: kind, repo: repo, rev: base.Rev, prefix: prefix}, nil
}

// gitBase resolves the commit to compare with, and says how it was chosen
// (see baselineInfo.Kind): ref, else on a push to the default branch the
// push's baseline, else the merge base with the default branch.
func (g *globals) gitBase(ctx context.Context, p *project, repo *gitrepo.Repo, ref string) (gitrepo.Base, string, error) {
	if ref == "" && g.ci.Event() == ciprovider.EventMerge {
		return g.pushBase(ctx, p, repo)
	}
	base, err := repo.ResolveBase(ctx, ref)
	if err != nil {
		return base, "", usageError(err)
	}
	switch {
	case ref != "":
		return base, "ref", nil
	case base.Note != "":
		g.warn(base.Note)
		return base, "branch-tip", nil
	}
	return base, "merge-base", nil
}

// fileBaseline is --baseline FILE...: each file stands for the metrics or
// params file of the same name. A file that is not there, or that stands
// for none, is an error: read as "no baseline", it would let every
// relative gate through.
func (g *globals) fileBaseline(p *project, files, heads []string) (*baseline, error) {
	var configured []string
	if p.Config != nil {
		configured = append(append(configured, p.Config.Metrics...), p.Config.Params...)
	}
	bl := &baseline{kind: "files", files: map[string]string{}}
	given := map[string]string{}
	for _, f := range files {
		abs := f
		if !filepath.IsAbs(f) {
			abs = filepath.Join(g.workDir, f)
		}
		switch fi, err := os.Stat(abs); {
		case errors.Is(err, os.ErrNotExist):
			return nil, usageError(fmt.Errorf("--baseline %s: no such file (looked for %s); give the path of the baseline's copy of a metrics file, e.g. a downloaded artifact", f, abs))
		case err != nil:
			return nil, usageError(fmt.Errorf("--baseline %s: %w", f, err))
		case fi.IsDir():
			return nil, usageError(fmt.Errorf("--baseline %s is a directory; give the metrics file in it", f))
		}
		head, err := matchBaseline(f, heads, configured)
		if err != nil {
			return nil, usageError(err)
		}
		if prev, ok := given[head]; ok {
			return nil, usageError(fmt.Errorf("--baseline %s and --baseline %s both stand for %s; give one", prev, f, head))
		}
		given[head] = f
		if slices.Contains(heads, head) {
			bl.files[head] = abs
		}
		if bl.Name != "" {
			bl.Name += ", "
		}
		bl.Name += f
	}
	return bl, nil
}

// matchBaseline decides which configured file a --baseline file stands
// for: the one with the same base name. heads are the files this command
// reads, configured all the metrics and params files.
func matchBaseline(file string, heads, configured []string) (string, error) {
	var found []string
	for _, h := range heads {
		if path.Base(h) == filepath.Base(file) {
			found = append(found, h)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		for _, c := range configured {
			if path.Base(c) == filepath.Base(file) {
				found = append(found, c)
			}
		}
		if len(found) == 1 {
			// A params file, say, given to a command that reads only metrics.
			return found[0], nil
		}
	}
	if len(found) == 0 {
		names := heads
		if len(configured) > 0 {
			names = configured
		}
		return "", fmt.Errorf("--baseline %s stands for the metrics or params file of the same name, and mlci.yaml lists none named %s (%s); name the file after the one it stands for", file, filepath.Base(file), strings.Join(names, ", "))
	}
	return "", fmt.Errorf("--baseline %s: cannot tell which of %v it stands for, as they share its name; give the baseline of each with --base REF instead", file, found)
}

// pushBase is the baseline of a push to the default branch, where the
// merge base with the default branch is HEAD itself and would pass every
// relative gate: the version in a model's on: merge stage, which the push
// replaces there, else HEAD's first parent, else (HEAD is the first
// commit) the empty tree, where no file exists.
func (g *globals) pushBase(ctx context.Context, p *project, repo *gitrepo.Repo) (gitrepo.Base, string, error) {
	head, _ := repo.Verify(ctx, "HEAD")
	if base, ok := g.stageHolder(ctx, p, repo, head); ok {
		return base, "stage", nil
	}
	rev, ok, err := repo.FirstParent(ctx)
	if err != nil {
		return gitrepo.Base{}, "", usageError(err)
	}
	if ok {
		return gitrepo.Base{Rev: rev, Name: "first parent of HEAD"}, "parent", nil
	}
	empty, err := repo.EmptyTree(ctx)
	if err != nil {
		return gitrepo.Base{}, "", usageError(err)
	}
	return gitrepo.Base{Rev: empty, Name: "none: HEAD is the first commit"}, "none", nil
}

// stageHolder is the commit of the version in the first model's on: merge
// stage; not ok when there is none, or it is HEAD (a re-run after the
// release), or the registry or the commit cannot be read, which it warns
// about.
func (g *globals) stageHolder(ctx context.Context, p *project, repo *gitrepo.Repo, head string) (gitrepo.Base, bool) {
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
				if state, err = g.registryState(ctx, p, &registryFlags{remote: "auto"}); err != nil {
					g.warn(fmt.Sprintf("comparing with HEAD's parent, not with the version in %s#%s: %v", m.Name, s.Name, err))
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
				label = "commit " + shortRev(a.Commit)
			}
			base, err := repo.ResolveBase(ctx, a.Commit)
			if err != nil {
				g.warn(fmt.Sprintf("comparing with HEAD's parent, not with %s#%s (%s): %v", m.Name, s.Name, label, err))
				continue
			}
			return gitrepo.Base{Rev: base.Rev, Name: fmt.Sprintf("%s#%s %s", m.Name, s.Name, label)}, true
		}
	}
	return gitrepo.Base{}, false
}

// read returns a file's content at the baseline, or an error wrapping
// os.ErrNotExist when it is not there.
func (bl *baseline) read(ctx context.Context, file string) ([]byte, error) {
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
	data, err := readInputAt(ctx, bl.repo, bl.rev, bl.prefix, file)
	if errors.Is(err, gitrepo.ErrNotFound) {
		return nil, fmt.Errorf("%s at %s: %w", file, shortRev(bl.rev), os.ErrNotExist)
	}
	return data, err
}

// seed makes bootstrap intervals reproducible per commit.
func (bl *baseline) seed(ctx context.Context) uint64 {
	if bl.repo != nil {
		if rev, ok := bl.repo.Verify(ctx, "HEAD"); ok {
			return bootstrap.SeedFrom(rev)
		}
	}
	return bootstrap.SeedFrom("mlci")
}

// readMetrics parses the given files from the work tree.
func (p *project) readMetrics(files []string) ([]*metrics.File, error) {
	var out []*metrics.File
	for _, f := range files {
		data, err := p.readInput(f)
		if err != nil {
			return nil, usageError(err)
		}
		m, err := metrics.Parse(f, data)
		if err != nil {
			return nil, usageError(err)
		}
		out = append(out, m)
	}
	return out, nil
}

// readMetrics parses the files at the baseline with parse (metrics.Parse
// or metrics.ParseParams); a file missing there is left out, so its
// values show as added.
func (bl *baseline) readMetrics(ctx context.Context, files []string, parse func(string, []byte) (*metrics.File, error)) ([]*metrics.File, error) {
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
		data, err := bl.read(ctx, f)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, usageError(err)
		}
		m, err := parse(f, data)
		if err != nil {
			return nil, usageError(fmt.Errorf("baseline %w", err))
		}
		out = append(out, m)
	}
	return out, nil
}

// stageBaseline is --baseline MODEL#STAGE: the metrics recorded when the
// version now in that stage was registered. The record is one flat map, so
// each key goes to the head metrics file that has it (else the first).
func (g *globals) stageBaseline(ctx context.Context, p *project, ref string, heads []string) (*baseline, error) {
	name, stage, _ := strings.Cut(ref, "#")
	state, err := g.registryState(ctx, p, &registryFlags{remote: "auto"})
	if err != nil {
		return nil, err
	}
	m := state[name]
	if m == nil || m.Stages[stage] == nil {
		return nil, usageError(fmt.Errorf("--baseline %s: no version of %s is in %s; see mlci model show %s", ref, name, stage, name))
	}
	a := m.Stages[stage]
	var rec *registry.Record
	for _, v := range m.Versions {
		if v.Version == a.Version {
			rec = v.Record
		}
	}
	if rec == nil || len(rec.Metrics) == 0 {
		return nil, usageError(fmt.Errorf("--baseline %s: %s %s was registered without metrics", ref, name, a.Version))
	}
	files := p.Config.Metrics
	if len(files) == 0 {
		return nil, usageError(errors.New("--baseline MODEL#STAGE needs metrics files under metrics: in mlci.yaml"))
	}
	head, err := p.readMetrics(files)
	if err != nil {
		return nil, err
	}
	bl := &baseline{Name: fmt.Sprintf("%s (%s in %s)", ref, a.Version, stage), kind: "stage", recorded: map[string]*metrics.File{}}
	for _, f := range files {
		bl.recorded[f] = &metrics.File{Path: f, Values: map[string]metrics.Value{}}
	}
	for k, v := range rec.Metrics {
		home := files[0]
		for _, h := range head {
			if _, ok := h.Values[k]; ok {
				home = h.Path
				break
			}
		}
		bl.recorded[home].Values[k] = metrics.Value{Kind: metrics.Number, Num: v}
	}
	return bl, nil
}
