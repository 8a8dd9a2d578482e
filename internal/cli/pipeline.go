package cli

import (
	"context"
	"fmt"

	"github.com/mlci/mlci/internal/gate"
	"github.com/mlci/mlci/internal/lockfile"
	"github.com/mlci/mlci/internal/metrics"
	"github.com/mlci/mlci/internal/report"
)

// pipeline is one run of everything mlci.yaml configures, before output.
type pipeline struct {
	data        []checkResult
	dataChecked bool
	// dataDiff is the lock compared with the git base; nil without one.
	dataDiff []diffResult
	metrics  []metrics.Row
	params   []metrics.Row
	gates    *gate.Report
	baseline *baseline
	failed   []string
}

// runPipeline runs the data check, the data diff, the metric and params
// diffs and the gates. Every step runs even when an earlier one failed, so
// one run shows every problem; only bad input stops it.
func (g *globals) runPipeline(ctx context.Context, p *project, bf *baselineFlags, h *hashFlags) (*pipeline, error) {
	pl := &pipeline{failed: []string{}}
	cfg := p.Config
	var lock *lockfile.Lock
	var manifests *lockfile.Manifests
	if len(cfg.Data) > 0 || exists(p.lockPath()) {
		var err error
		if lock, manifests, err = g.loadLock(ctx, p); err != nil {
			return nil, err
		}
		results, failed, err := g.checkLoaded(ctx, p, lock, manifests, nil, h)
		if err != nil {
			return nil, err
		}
		pl.data, pl.dataChecked = results, true
		if failed > 0 {
			pl.failed = append(pl.failed, "data")
		}
	}
	heads := append(append([]string{}, cfg.Metrics...), cfg.Params...)
	if len(heads) > 0 || exists(p.lockPath()) {
		bl, err := g.resolveBaseline(ctx, p, bf, heads)
		if err != nil {
			return nil, err
		}
		pl.baseline = bl
		if bl.repo != nil && pl.dataChecked {
			// The lock and manifests the data check read: one state.
			if pl.dataDiff, err = diffLocks(ctx, bl.repo, bl.rev, bl.prefix, lock, manifests); err != nil {
				return nil, err
			}
		}
		if len(cfg.Metrics) > 0 {
			if pl.metrics, err = g.diffFiles(ctx, p, bl, "metrics", cfg.Metrics); err != nil {
				return nil, err
			}
		}
		if len(cfg.Params) > 0 {
			if pl.params, err = g.diffFiles(ctx, p, bl, "params", cfg.Params); err != nil {
				return nil, err
			}
		}
	}
	if len(cfg.Gates) > 0 {
		if pl.baseline == nil {
			return nil, usageError(fmt.Errorf("gates need metrics files: list them under metrics: in %s", cfg.File))
		}
		r, err := g.evaluateGates(ctx, p, pl.baseline)
		if err != nil {
			return nil, err
		}
		pl.gates = r
		if !r.Pass {
			pl.failed = append(pl.failed, "gates")
		}
	}
	return pl, nil
}

// reportInput turns a pipeline into what the report shows.
func (g *globals) reportInput(ctx context.Context, pl *pipeline, precision int) report.Input {
	in := report.Input{
		DataChecked: pl.dataChecked,
		Metrics:     pl.metrics,
		Params:      pl.params,
		Gates:       pl.gates,
		RunURL:      g.ci.RunURL(),
		Precision:   precision,
	}
	if pl.baseline != nil {
		in.Baseline = pl.baseline.Name
		if pl.baseline.repo != nil {
			if rev, ok := pl.baseline.repo.Verify(ctx, "HEAD"); ok {
				in.Commit = rev
			}
		}
	}
	diffs := map[string]diffResult{}
	for _, d := range pl.dataDiff {
		diffs[d.Name] = d
	}
	for _, c := range pl.data {
		d := report.Dataset{Name: c.Name, Check: c.Status, Message: c.Message, Files: c.Files, BytesAfter: c.Bytes, Digest: string(c.Actual)}
		if c.Changes != nil {
			d.Added, d.Removed, d.Modified = len(c.Changes.Added), len(c.Changes.Removed), len(c.Changes.Modified)
		}
		if dd, ok := diffs[c.Name]; ok {
			d.Diff = dd.Status
			if dd.Added != nil && c.Changes == nil {
				d.Added, d.Removed, d.Modified = *dd.Added, *dd.Removed, *dd.Modified
			}
			if dd.Base != nil {
				d.BytesBefore = dd.Base.Bytes
			}
			if dd.Head != nil && d.Files == 0 {
				d.Files, d.BytesAfter = dd.Head.Files, dd.Head.Bytes
			}
		}
		in.Data = append(in.Data, d)
	}
	return in
}
