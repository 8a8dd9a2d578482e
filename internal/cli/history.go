package cli

import (
	"context"
	"path"
	"slices"
	"strings"

	"github.com/mlci/mlci/internal/metrics"
	"github.com/mlci/mlci/internal/report"
)

// history reads the gated metrics at the last n commits of the base that
// changed the first metrics file, oldest first, then the work tree's. It
// needs a git baseline; with none, or nothing to chart, it returns nil.
func (g *globals) history(ctx context.Context, p *project, pl *pipeline, n int) *report.History {
	bl := pl.baseline
	if n <= 0 || bl == nil || bl.repo == nil || len(p.Config.Metrics) == 0 {
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
	revs, err := bl.repo.Log(ctx, bl.rev, path.Join(bl.prefix, file), n)
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
		if data, err := readInputAt(ctx, bl.repo, rev, bl.prefix, file); err == nil {
			add(rev[:7], data)
		}
	}
	if data, err := p.readInput(file); err == nil {
		add("head", data)
	}
	return h
}
