package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlci/mlci/internal/bootstrap"
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
	f.StringVar(&b.base, "base", "", "compare with the files at git `REF` (default: merge base with the default branch)")
	f.StringArrayVar(&b.baseline, "baseline", nil, "compare with this `FILE` instead of git (e.g. a downloaded artifact), or with MODEL#STAGE, the metrics recorded for the version in that stage; repeatable")
}

// baseline is a resolved comparison point.
type baseline struct {
	// Name says what it is, for output: "merge base with main (1a2b3c)",
	// "baseline/metrics.json".
	Name string
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
		bl := &baseline{files: map[string]string{}}
		for _, f := range b.baseline {
			head, err := matchBaseline(f, heads)
			if err != nil {
				return nil, usageError(err)
			}
			abs := f
			if !filepath.IsAbs(f) {
				abs = filepath.Join(g.workDir, f)
			}
			bl.files[head] = abs
			if bl.Name != "" {
				bl.Name += ", "
			}
			bl.Name += f
		}
		return bl, nil
	}
	repo, err := gitrepo.Open(ctx, p.Root)
	if err != nil {
		return nil, usageError(fmt.Errorf("no baseline: %s is not in a git repository; pass --baseline FILE", p.Root))
	}
	repo.Getenv = g.io.Getenv
	base, err := repo.ResolveBase(ctx, b.base)
	if err != nil {
		return nil, usageError(err)
	}
	if base.Note != "" {
		g.warn(base.Note)
	}
	prefix, err := repo.Prefix(ctx, p.Root)
	if err != nil {
		return nil, usageError(err)
	}
	return &baseline{Name: fmt.Sprintf("%s (%s)", base.Name, shortRev(base.Rev)), repo: repo, rev: base.Rev, prefix: prefix}, nil
}

// matchBaseline decides which head file a --baseline file replaces: the
// only one, or the one with the same base name.
func matchBaseline(file string, heads []string) (string, error) {
	if len(heads) == 1 {
		return heads[0], nil
	}
	var found []string
	for _, h := range heads {
		if path.Base(h) == filepath.Base(file) {
			found = append(found, h)
		}
	}
	if len(found) == 1 {
		return found[0], nil
	}
	return "", fmt.Errorf("--baseline %s: cannot tell which of %v it replaces; give it the same file name as one of them", file, heads)
}

// read returns a file's content at the baseline, or an error wrapping
// os.ErrNotExist when it is not there.
func (bl *baseline) read(ctx context.Context, file string) ([]byte, error) {
	if bl.recorded != nil {
		return nil, fmt.Errorf("%s: the registry records metrics, not files: %w; for per-example scores set per_example.base", file, os.ErrNotExist)
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

// readBaseMetrics parses the files at the baseline; a file missing there
// is left out, so its metrics show as added.
func (bl *baseline) readMetrics(ctx context.Context, files []string) ([]*metrics.File, error) {
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
		m, err := metrics.Parse(f, data)
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
	bl := &baseline{Name: fmt.Sprintf("%s (%s in %s)", ref, a.Version, stage), recorded: map[string]*metrics.File{}}
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
