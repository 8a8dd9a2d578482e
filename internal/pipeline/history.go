package pipeline

import (
	"context"
	"path"
	"slices"
	"strings"

	"github.com/mlci/mlci/internal/baseline"
	"github.com/mlci/mlci/internal/metrics"
	"github.com/mlci/mlci/internal/project"
	"github.com/mlci/mlci/internal/report"
)

// History reads the gated metrics at the last n commits of the base that
// changed the first metrics file, oldest first, then the work tree's. It
// needs a git baseline; with none, or nothing to chart, it returns nil.
func History(ctx context.Context, p *project.Project, bl *baseline.Baseline, n int) *report.History {
	if n <= 0 || bl == nil || bl.Repo == nil || p.Config == nil || len(p.Config.Metrics) == 0 {
		return nil
	}
	var names []string
	for _, gt := range p.Config.Gates {
		if !strings.ContainsAny(gt.Metric, `*?[\`) && !slices.Contains(names, gt.Metric) {
			names = append(names, gt.Metric)
		}
	}
	if len(names) == 0 {
		return nil
	}
	file := p.Config.Metrics[0]
	revs, err := bl.Repo.Log(ctx, bl.Rev, path.Join(bl.Prefix, file), n)
	if err != nil || len(revs) == 0 {
		return nil
	}
	slices.Reverse(revs)
	h := &report.History{Metrics: names}
	add := func(label string, data []byte) {
		f, err := metrics.Parse(file, data)
		if err != nil {
			return // an old, broken file: leave the commit out
		}
		pt := report.Point{Label: label, Values: map[string]float64{}}
		for _, m := range names {
			if v, ok := f.Values[m]; ok && v.Kind == metrics.Number {
				pt.Values[m] = v.Num
			}
		}
		h.Points = append(h.Points, pt)
	}
	for _, rev := range revs {
		if data, err := project.ReadInputAt(ctx, bl.Repo, rev, bl.Prefix, file); err == nil {
			add(rev[:7], data)
		}
	}
	if data, err := p.ReadInput(file); err == nil {
		add("head", data)
	}
	return h
}
