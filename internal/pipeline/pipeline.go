// Package pipeline runs what mlci.yaml configures for a change (the data
// check and diff, the metric and params diffs, the gates), turns the result
// into the report's input, and releases the models on a merge.
package pipeline

import (
	"context"
	"fmt"

	"github.com/mlci/mlci/internal/baseline"
	"github.com/mlci/mlci/internal/datacheck"
	"github.com/mlci/mlci/internal/exitcode"
	"github.com/mlci/mlci/internal/gate"
	"github.com/mlci/mlci/internal/lockfile"
	"github.com/mlci/mlci/internal/metrics"
	"github.com/mlci/mlci/internal/plots"
	"github.com/mlci/mlci/internal/project"
	"github.com/mlci/mlci/internal/report"
)

// Steps that can fail, as Result.Failed names them.
const (
	StepData  = "data"
	StepGates = "gates"
)

// Options are what a run needs of its caller.
type Options struct {
	// Select is the baseline the user asked for; Baseline what resolving
	// it needs.
	Select   baseline.Selection
	Baseline baseline.Options
	// Hash is how the data check hashes the datasets.
	Hash project.HashOptions
	// Waiting is called while another mlci writes mlci.lock; nil is silent.
	Waiting func()
	// Warn receives what the run works around (a metrics file the change
	// deleted); nil drops it.
	Warn func(string)
	// DataRemote, when set, is a remote the data check also proves holds
	// every object of the locked datasets (StatusNotPushed otherwise).
	DataRemote *DataRemote
}

// Result is one run of everything mlci.yaml configures, before output.
type Result struct {
	Data        []datacheck.Result
	DataChecked bool
	// DataDiff is the lock compared with the git base; nil without one.
	DataDiff []datacheck.DiffResult
	Metrics  []metrics.Row
	Params   []metrics.Row
	Gates    *gate.Report
	// Plots are the config's plots, base against head; nil without any.
	Plots []plots.Figure
	// Baseline is what the metrics, params and data were compared with;
	// nil when nothing was.
	Baseline *baseline.Baseline
	// Failed names the steps that failed (StepData, StepGates), never nil.
	Failed []string
}

// Pass reports whether every step passed.
func (r *Result) Pass() bool { return len(r.Failed) == 0 }

// Run runs the data check, the data diff, the metric and params diffs and
// the gates. Every step runs even when an earlier one failed, so one run
// shows every problem; only bad input stops it. p must have a config.
func Run(ctx context.Context, p *project.Project, opts Options) (*Result, error) {
	res := &Result{Failed: []string{}}
	cfg := p.Config
	var lock *lockfile.Lock
	var manifests *lockfile.Manifests
	if len(cfg.Data) > 0 || p.HasLock() {
		var err error
		if lock, manifests, err = datacheck.Load(ctx, p, opts.Waiting); err != nil {
			return nil, err
		}
		results, failed, err := datacheck.Check(ctx, p, lock, manifests, nil, opts.Hash)
		if err != nil {
			return nil, err
		}
		if opts.DataRemote != nil {
			missing, err := checkRemote(ctx, p, opts.DataRemote, lock, manifests, results)
			if err != nil {
				return nil, err
			}
			failed += missing
		}
		res.Data, res.DataChecked = results, true
		if failed > 0 {
			res.Failed = append(res.Failed, StepData)
		}
	}
	heads := append(append([]string{}, cfg.Metrics...), cfg.Params...)
	defs, err := PlotDefinitions(p)
	if err != nil {
		return nil, err
	}
	heads = append(heads, plotFiles(defs)...)
	if len(heads) > 0 || p.HasLock() {
		bl, err := baseline.Resolve(ctx, p, opts.Select, heads, opts.Baseline)
		if err != nil {
			return nil, err
		}
		res.Baseline = bl
		if bl.Repo != nil && res.DataChecked {
			// The lock and manifests the data check read: one state.
			if res.DataDiff, err = datacheck.Diff(ctx, bl.Repo, bl.Rev, bl.Prefix, lock, manifests); err != nil {
				return nil, err
			}
		}
		if len(cfg.Metrics) > 0 {
			if res.Metrics, err = DiffFiles(ctx, p, bl, "metrics", cfg.Metrics, opts.Warn); err != nil {
				return nil, err
			}
		}
		if len(cfg.Params) > 0 {
			if res.Params, err = DiffFiles(ctx, p, bl, "params", cfg.Params, opts.Warn); err != nil {
				return nil, err
			}
		}
	}
	if res.Plots, err = Plots(ctx, p, res.Baseline, defs); err != nil {
		return nil, err
	}
	if len(cfg.Gates) > 0 {
		if res.Baseline == nil {
			return nil, exitcode.With(exitcode.Usage, fmt.Errorf("gates need metrics files: list them under metrics: in %s", cfg.File))
		}
		r, err := Gates(ctx, p, res.Baseline)
		if err != nil {
			return nil, err
		}
		res.Gates = r
		if !r.Pass {
			res.Failed = append(res.Failed, StepGates)
		}
	}
	return res, nil
}

// ReportInput turns a run into what the report shows; runURL links the
// CI run, "" when there is none.
func (r *Result) ReportInput(ctx context.Context, runURL string, precision int) report.Input {
	in := report.Input{
		DataChecked: r.DataChecked,
		Metrics:     r.Metrics,
		Params:      r.Params,
		Gates:       r.Gates,
		Plots:       r.Plots,
		RunURL:      runURL,
		Precision:   precision,
	}
	if r.Baseline != nil {
		in.Baseline = r.Baseline.Name
		if r.Baseline.Repo != nil {
			if rev, ok := r.Baseline.Repo.Verify(ctx, "HEAD"); ok {
				in.Commit = rev
			}
		}
	}
	diffs := map[string]datacheck.DiffResult{}
	for _, d := range r.DataDiff {
		diffs[d.Name] = d
	}
	for _, c := range r.Data {
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
