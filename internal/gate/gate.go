// Package gate evaluates the rules under gates: in mlci.yaml against the
// candidate's metrics and a baseline's, and reports one verdict per metric.
package gate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"path"
	"slices"
	"strings"

	"github.com/mlci/mlci/internal/bootstrap"
	"github.com/mlci/mlci/internal/config"
	"github.com/mlci/mlci/internal/metrics"
	"github.com/mlci/mlci/internal/suggest"
)

// SchemaVersion is the version of the JSON verdict document; it changes only
// when a field changes meaning or goes away.
const SchemaVersion = 1

// Statuses of a verdict.
const (
	Pass = "pass"
	Fail = "fail"
	// Warn is a failed rule marked warn_only: reported, never fatal.
	Warn = "warn"
)

// ErrInput marks problems with the rules or the files they read, as opposed
// to a gate that failed.
var ErrInput = errors.New("gate input")

// Interval is a bootstrap confidence interval of a metric's change.
type Interval struct {
	Delta      float64 `json:"delta"`
	Lo         float64 `json:"lo"`
	Hi         float64 `json:"hi"`
	Confidence float64 `json:"confidence"`
	Resamples  int     `json:"resamples"`
	N          int     `json:"n"`
}

// Verdict is the outcome of one rule on one metric.
type Verdict struct {
	Rule      string    `json:"rule"`
	Line      int       `json:"line"`
	Metric    string    `json:"metric"`
	File      string    `json:"file"`
	Goal      string    `json:"goal"`
	Base      *float64  `json:"base"`
	Head      *float64  `json:"head"`
	Change    *float64  `json:"change"`
	ChangePct *float64  `json:"change_pct"`
	Threshold string    `json:"threshold"`
	Status    string    `json:"status"`
	WarnOnly  bool      `json:"warn_only"`
	Reason    string    `json:"reason"`
	Interval  *Interval `json:"interval,omitempty"`
}

// Report holds every verdict, in rule order.
type Report struct {
	Version  int       `json:"version"`
	Pass     bool      `json:"pass"`
	Passed   int       `json:"passed"`
	Failed   int       `json:"failed"`
	Warned   int       `json:"warned"`
	Verdicts []Verdict `json:"verdicts"`
}

// Scores reads a per-example scores file: from the baseline (the base
// revision) when fromBase is set, else from the work tree.
type Scores func(ctx context.Context, fromBase bool, path string) ([]byte, error)

// Input is what the rules are judged on.
type Input struct {
	Base, Head []*metrics.File
	// Scores reads per-example files; needed only by per_example rules.
	Scores Scores
	// Seed makes bootstrap intervals reproducible; derive it from the
	// commit with bootstrap.SeedFrom.
	Seed uint64
	// BaseName says what the baseline is, for the reason a rule gives
	// when the baseline lacks its value.
	BaseName string
}

// Evaluate judges every rule. It returns an error wrapping ErrInput when a
// rule cannot be judged at all: a metric no file has, a value that is not a
// number, a scores file that cannot be read.
func Evaluate(ctx context.Context, rules []config.Gate, in Input) (*Report, error) {
	r := &Report{Version: SchemaVersion, Verdicts: []Verdict{}}
	ix := newIndex(in)
	for i := range rules {
		vs, err := evaluateRule(ctx, &rules[i], in, ix)
		if err != nil {
			return nil, err
		}
		r.Verdicts = append(r.Verdicts, vs...)
	}
	for _, v := range r.Verdicts {
		switch v.Status {
		case Pass:
			r.Passed++
		case Fail:
			r.Failed++
		case Warn:
			r.Warned++
		}
	}
	r.Pass = r.Failed == 0
	return r, nil
}

type match struct {
	file, metric string
}

// metricIndex is built once per evaluation: each side's files by path and
// the sorted paths of both.
type metricIndex struct {
	paths      []string
	base, head map[string]*metrics.File
}

func newIndex(in Input) *metricIndex {
	ix := &metricIndex{base: byPath(in.Base), head: byPath(in.Head)}
	ix.paths = slices.Sorted(maps.Keys(union(ix.head, ix.base)))
	return ix
}

func byPath(files []*metrics.File) map[string]*metrics.File {
	out := map[string]*metrics.File{}
	for _, f := range files {
		if f != nil {
			out[f.Path] = f
		}
	}
	return out
}

func (ix *metricIndex) value(side map[string]*metrics.File, m match) (metrics.Value, bool) {
	f := side[m.file]
	if f == nil {
		return metrics.Value{}, false
	}
	v, ok := f.Values[m.metric]
	return v, ok
}

func evaluateRule(ctx context.Context, g *config.Gate, in Input, ix *metricIndex) ([]Verdict, error) {
	matches, err := matchMetrics(g, ix)
	if err != nil {
		return nil, err
	}
	var out []Verdict
	for _, m := range matches {
		v := Verdict{Rule: g.Name, Line: g.Line, Metric: m.metric, File: m.file, Goal: g.Goal, WarnOnly: g.WarnOnly, Threshold: describe(g)}
		bv, hasBase := ix.value(ix.base, m)
		hv, hasHead := ix.value(ix.head, m)
		if hasBase {
			x, err := number(g, m, bv)
			if err != nil {
				return nil, err
			}
			v.Base = &x
		}
		if hasHead {
			x, err := number(g, m, hv)
			if err != nil {
				return nil, err
			}
			v.Head = &x
		}
		if v.Base != nil && v.Head != nil {
			c := *v.Head - *v.Base
			v.Change = &c
			if *v.Base != 0 {
				p := 100 * c / math.Abs(*v.Base)
				v.ChangePct = &p
			}
		}
		// Why the baseline has no value, should it have none.
		absent := m.file + " is not"
		if ix.base[m.file] != nil {
			absent = m.metric + " is not in " + m.file
		}
		if err := judge(ctx, g, in, &v, absent); err != nil {
			return nil, err
		}
		if v.Status == Fail && g.WarnOnly {
			v.Status = Warn
		}
		out = append(out, v)
	}
	return out, nil
}

// matchMetrics lists the (file, metric) pairs a rule applies to, from head
// and base together so a metric that vanished from head is still judged.
// Most rules name one metric, which is looked up; a glob is tried only on
// keys that start with its literal prefix, and only the matches are sorted.
func matchMetrics(g *config.Gate, ix *metricIndex) ([]match, error) {
	var out []match
	prefix := g.Metric
	literal := true
	if i := strings.IndexAny(prefix, `*?[\`); i >= 0 {
		prefix, literal = prefix[:i], false
	}
	for _, p := range ix.paths {
		if g.File != "" && p != g.File {
			continue
		}
		if literal {
			m := match{p, g.Metric}
			_, inHead := ix.value(ix.head, m)
			_, inBase := ix.value(ix.base, m)
			if inHead || inBase {
				out = append(out, m)
			}
			continue
		}
		found := map[string]bool{}
		for _, side := range []map[string]*metrics.File{ix.head, ix.base} {
			if f := side[p]; f != nil {
				for k := range f.Values {
					if strings.HasPrefix(k, prefix) && !found[k] {
						if ok, _ := path.Match(g.Metric, k); ok {
							found[k] = true
						}
					}
				}
			}
		}
		for _, k := range slices.Sorted(maps.Keys(found)) {
			out = append(out, match{p, k})
		}
	}
	if len(out) == 0 {
		var names []string
		for _, side := range []map[string]*metrics.File{ix.head, ix.base} {
			for _, f := range side {
				names = append(names, f.Keys()...)
			}
		}
		slices.Sort(names)
		names = slices.Compact(names)
		msg := fmt.Sprintf("gate %q (mlci.yaml line %d): no metric matches %q", g.Name, g.Line, g.Metric)
		if close := suggest.Closest(g.Metric, names, 3); len(close) > 0 {
			msg += "; did you mean " + strings.Join(quoteAll(close), " or ") + "?"
		} else if len(names) > 0 {
			msg += fmt.Sprintf("; the metrics files have %d keys, e.g. %q (see mlci metrics show)", len(names), names[0])
		} else {
			msg += "; no metrics were read: list the files under metrics: in mlci.yaml"
		}
		return nil, fmt.Errorf("%w: %s", ErrInput, msg)
	}
	return out, nil
}

func union(a, b map[string]*metrics.File) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = fmt.Sprintf("%q", x)
	}
	return out
}

func number(g *config.Gate, m match, v metrics.Value) (float64, error) {
	switch v.Kind {
	case metrics.Number:
		return v.Num, nil
	case metrics.Bool:
		if v.Bool {
			return 1, nil
		}
		return 0, nil
	}
	return 0, fmt.Errorf("%w: %s:%d: gate %q needs a number for %s, got %s %q; fix the metrics file or narrow the rule's metric pattern",
		ErrInput, m.file, v.Line, g.Name, m.metric, v.Kind, v.String())
}

// describe writes the rule's thresholds the way the verdict table shows them.
func describe(g *config.Gate) string {
	var parts []string
	if g.Min != nil {
		parts = append(parts, "≥ "+metrics.FormatNumber(*g.Min, 5))
	}
	if g.Max != nil {
		parts = append(parts, "≤ "+metrics.FormatNumber(*g.Max, 5))
	}
	if g.Drop != nil {
		parts = append(parts, "drop ≤ "+g.Drop.String())
	}
	if g.Rise != nil {
		parts = append(parts, "rise ≤ "+g.Rise.String())
	}
	if g.PerExample != nil {
		if g.Drop == nil && g.Rise == nil {
			parts = append(parts, "no significant "+map[string]string{config.Maximize: "drop", config.Minimize: "rise"}[g.Goal])
		}
		parts[len(parts)-1] += fmt.Sprintf(" (%g%% CI)", 100*g.PerExample.Confidence)
	}
	if len(parts) == 0 {
		return "present"
	}
	return strings.Join(parts, ", ")
}

// judge sets the verdict's status and reason. Checks run from the plainest
// (is the metric there?) to the costliest (the bootstrap), and the first
// failure is the reason given. absent says why the baseline lacks the
// metric, for when it does.
func judge(ctx context.Context, g *config.Gate, in Input, v *Verdict, absent string) error {
	v.Status = Pass
	fail := func(format string, args ...any) {
		if v.Status == Pass {
			v.Status = Fail
			v.Reason = fmt.Sprintf(format, args...)
		}
	}
	if v.Head == nil {
		fail("%s is missing from the candidate's %s", v.Metric, v.File)
		return nil
	}
	head := *v.Head
	if g.Min != nil && head < *g.Min {
		fail("%s is below the minimum %s", metrics.FormatNumber(head, 5), metrics.FormatNumber(*g.Min, 5))
	}
	if g.Max != nil && head > *g.Max {
		fail("%s is above the maximum %s", metrics.FormatNumber(head, 5), metrics.FormatNumber(*g.Max, 5))
	}
	relative := g.Drop != nil || g.Rise != nil || g.PerExample != nil
	if !relative {
		return nil
	}
	if v.Base == nil {
		missingBase(g, in, v, absent, fail)
		return nil
	}
	base := *v.Base
	if g.PerExample != nil {
		return bootstrapJudge(ctx, g, in, v, base, fail)
	}
	change := head - base
	if g.Drop != nil {
		if allowed := g.Drop.Of(base); -change > allowed {
			fail("dropped by %s, more than the allowed %s", metrics.FormatNumber(-change, 5), g.Drop)
		}
	}
	if g.Rise != nil {
		if allowed := g.Rise.Of(base); change > allowed {
			fail("rose by %s, more than the allowed %s", metrics.FormatNumber(change, 5), g.Rise)
		}
	}
	return nil
}

// missingBase judges a relative rule that has nothing to compare with, as
// its missing_base says. A missing baseline is never taken for "no
// regression" unless the rule says so: it may be the first change that
// reports the metric, but also a baseline that was not where it should be.
func missingBase(g *config.Gate, in Input, v *Verdict, absent string, fail func(string, ...any)) {
	reason := "no baseline value: " + absent + " at the baseline"
	if in.BaseName != "" {
		reason += ", " + in.BaseName
	}
	switch g.MissingBase {
	case config.MissingPass:
		if v.Reason == "" {
			v.Reason = reason + "; relative checks skipped (missing_base: pass)"
		}
	case config.MissingWarn:
		if v.Status == Pass {
			v.Status, v.Reason = Warn, reason+" (missing_base: warn)"
		}
	default:
		fail("%s; a relative check needs one (for a metric this change introduces, set missing_base: warn or pass on the rule)", reason)
	}
}

// bootstrapJudge fails a rule only when the whole confidence interval of the
// change lies beyond the tolerance, so noise alone never fails a build.
func bootstrapJudge(ctx context.Context, g *config.Gate, in Input, v *Verdict, base float64, fail func(string, ...any)) error {
	pe := g.PerExample
	if in.Scores == nil {
		return fmt.Errorf("%w: gate %q needs per-example scores, which this command cannot read", ErrInput, g.Name)
	}
	// An explicit base file is one the team keeps in the work tree (say,
	// the production model's scores); by default the head file's path is
	// read at the baseline revision.
	baseFile, fromBase := pe.Base, false
	if baseFile == "" {
		baseFile, fromBase = pe.Head, true
	}
	read := func(side string, fromBase bool, file string) (*bootstrap.Scores, error) {
		data, err := in.Scores(ctx, fromBase, file)
		if err != nil {
			return nil, fmt.Errorf("%w: gate %q: %s scores: %w", ErrInput, g.Name, side, err)
		}
		s, err := bootstrap.ReadScores(file, data, pe.ID, pe.Score)
		if err != nil {
			return nil, fmt.Errorf("%w: gate %q: %v", ErrInput, g.Name, err)
		}
		return s, nil
	}
	bs, err := read("base", fromBase, baseFile)
	if fromBase && errors.Is(err, fs.ErrNotExist) {
		// The baseline revision has no per-example file: no baseline, as
		// much as a missing metric is. A file the rule names is the
		// team's to keep, so its absence stays an input error.
		missingBase(g, in, v, baseFile+" is not", fail)
		return nil
	}
	if err != nil {
		return err
	}
	hs, err := read("head", false, pe.Head)
	if err != nil {
		return err
	}
	b, h, err := bootstrap.Pair(bs, hs)
	if err != nil {
		return fmt.Errorf("%w: gate %q: %v", ErrInput, g.Name, err)
	}
	iv, err := bootstrap.Paired(ctx, b, h, bootstrap.Options{Resamples: pe.Resamples, Confidence: pe.Confidence, Seed: in.Seed})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: gate %q: %v", ErrInput, g.Name, err)
	}
	v.Interval = &Interval{Delta: iv.Delta, Lo: iv.Lo, Hi: iv.Hi, Confidence: iv.Confidence, Resamples: iv.Resamples, N: iv.N}
	ci := fmt.Sprintf("%g%% CI [%s, %s]", 100*iv.Confidence, metrics.FormatChange(iv.Lo, 4), metrics.FormatChange(iv.Hi, 4))
	switch g.Goal {
	case config.Maximize:
		tol := 0.0
		if g.Drop != nil {
			tol = g.Drop.Of(base)
		}
		if iv.Hi < -tol {
			fail("the whole %s of the per-example change is a drop beyond %s", ci, metrics.FormatNumber(tol, 5))
		} else if v.Reason == "" {
			v.Reason = ci + " reaches within tolerance"
		}
	case config.Minimize:
		tol := 0.0
		if g.Rise != nil {
			tol = g.Rise.Of(base)
		}
		if iv.Lo > tol {
			fail("the whole %s of the per-example change is a rise beyond %s", ci, metrics.FormatNumber(tol, 5))
		} else if v.Reason == "" {
			v.Reason = ci + " reaches within tolerance"
		}
	}
	return nil
}
