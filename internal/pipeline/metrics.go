package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"

	"github.com/mlci/mlci/internal/baseline"
	"github.com/mlci/mlci/internal/exitcode"
	"github.com/mlci/mlci/internal/gate"
	"github.com/mlci/mlci/internal/metrics"
	"github.com/mlci/mlci/internal/project"
)

// DiffFiles compares the files of one kind ("metrics" or "params") with
// the baseline. A file the work tree lacks but the baseline has was
// deleted by the change: as in dvc metrics diff, its values show with no
// new value, and warn, when set, is told why.
func DiffFiles(ctx context.Context, p *project.Project, bl *baseline.Baseline, kind string, files []string, warn func(string)) ([]metrics.Row, error) {
	// With --baseline files or a registry record, compare only the files
	// they stand for: the others have nothing to be compared with.
	base, head, err := readSides(ctx, p, bl, kind, bl.Covers(files), warn)
	if err != nil {
		return nil, err
	}
	return metrics.Diff(base, head), nil
}

// readSides reads files of one kind at the baseline and in the work tree.
// A file missing from both is a mistake in mlci.yaml.
func readSides(ctx context.Context, p *project.Project, bl *baseline.Baseline, kind string, files []string, warn func(string)) (base, head []*metrics.File, err error) {
	parse := metrics.Parse
	if kind == "params" {
		parse = metrics.ParseParams
	}
	base, err = bl.ReadMetrics(ctx, files, parse)
	if err != nil {
		return nil, nil, err
	}
	for _, f := range files {
		data, err := p.ReadInput(f)
		if errors.Is(err, fs.ErrNotExist) && slices.ContainsFunc(base, func(b *metrics.File) bool { return b.Path == f }) {
			if warn != nil {
				warn(fmt.Sprintf("%s is not in the work tree: its %s at the baseline show with no new value", f, kind))
			}
			continue
		}
		if err != nil {
			return nil, nil, exitcode.With(exitcode.Usage, err)
		}
		m, err := parse(f, data)
		if err != nil {
			return nil, nil, exitcode.With(exitcode.Usage, err)
		}
		head = append(head, m)
	}
	return base, head, nil
}

// Gates judges the config's gates against a resolved baseline.
func Gates(ctx context.Context, p *project.Project, bl *baseline.Baseline) (*gate.Report, error) {
	files, err := p.Files("metrics")
	if err != nil {
		return nil, err
	}
	// A metrics file the change deleted leaves its metrics missing from
	// the candidate, which fails the gates that need them; the verdicts
	// say so, and the metric diff has warned.
	base, head, err := readSides(ctx, p, bl, "metrics", files, nil)
	if err != nil {
		return nil, err
	}
	in := gate.Input{
		Base:     base,
		Head:     head,
		Seed:     bl.Seed(ctx),
		BaseName: bl.Name,
		Scores: func(ctx context.Context, fromBase bool, file string) ([]byte, error) {
			if fromBase {
				if bl.Kind == baseline.Files {
					return nil, fmt.Errorf("%s at the baseline: with --baseline, set per_example.base: to the baseline's scores file", file)
				}
				return bl.Read(ctx, file)
			}
			return p.ReadInput(file)
		},
	}
	report, err := gate.Evaluate(ctx, p.Config.Gates, in)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return nil, err
		}
		return nil, exitcode.With(exitcode.Usage, err)
	}
	return report, nil
}
