// Package compare tells, column by column, whether the data a model sees
// now has drifted from the reference profile of its training data, and
// whether the table as a whole has.
package compare

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/mlci/mlci/internal/drift/profile"
	"github.com/mlci/mlci/internal/drift/stats"
)

// Status is the outcome for one column.
type Status string

const (
	// StatusOK: tested and not drifted.
	StatusOK Status = "ok"
	// StatusDrift: the column drifted (see Reason).
	StatusDrift Status = "drift"
	// StatusMissingColumn: in the reference, not in the current data.
	StatusMissingColumn Status = "missing_column"
	// StatusNewColumn: in the current data only; reported, never drift.
	StatusNewColumn Status = "new_column"
	// StatusKindChanged: numeric in the reference and text now, say.
	StatusKindChanged Status = "kind_changed"
	// StatusAllMissing: every current value is missing, or every
	// reference value was.
	StatusAllMissing Status = "all_missing"
	// StatusIgnored: a rule says to leave the column out.
	StatusIgnored Status = "ignored"
	// StatusUntestable: the statistics could not be computed.
	StatusUntestable Status = "untestable"
)

// Tests a column can be compared with.
const (
	TestKS         = "ks"
	TestChiSquared = "chi2"
)

// Column is one column's comparison. Statistics that do not apply to it
// are nil.
type Column struct {
	Name        string       `json:"name"`
	Kind        profile.Kind `json:"kind"`
	CurrentKind profile.Kind `json:"current_kind,omitempty"`
	Role        profile.Role `json:"role,omitempty"`
	Test        string       `json:"test,omitempty"`
	// Statistic is KS D or the chi-squared statistic.
	Statistic *float64 `json:"statistic,omitempty"`
	P         *float64 `json:"p,omitempty"`
	// Q is P adjusted by Benjamini–Hochberg across the tested columns.
	Q   *float64 `json:"q,omitempty"`
	PSI *float64 `json:"psi,omitempty"`
	// Wasserstein is normalized by the reference's standard deviation.
	Wasserstein *float64 `json:"wasserstein,omitempty"`
	JS          *float64 `json:"js,omitempty"`
	// MissingBefore and MissingAfter are missing rates, 0 to 1.
	MissingBefore float64 `json:"missing_before"`
	MissingAfter  float64 `json:"missing_after"`
	Status        Status  `json:"status"`
	Drifted       bool    `json:"drifted"`
	WarnOnly      bool    `json:"warn_only,omitempty"`
	Reason        string  `json:"reason"`

	missingP float64 // the two-proportion test of the missing rates
}

// Report is the comparison of a current profile with a reference.
type Report struct {
	Rules   Rules    `json:"rules"`
	Columns []Column `json:"columns"`
	// Features counts the feature columns the verdict is over (neither
	// ignored, new, target nor prediction); Drifted those of them that
	// drifted and are not warn-only.
	Features     int     `json:"features"`
	Drifted      int     `json:"drifted"`
	DriftedShare float64 `json:"drifted_share"`
	// Drift is the verdict: DriftedShare above Rules.MaxDriftedShare.
	Drift bool `json:"drift"`
	// PredictionDrift and TargetDrift flag the model's own columns, which
	// the verdict leaves out: a prediction shift with stable features is
	// a model change, a target shift is concept drift, and each calls for
	// a different response.
	PredictionDrift bool `json:"prediction_drift"`
	TargetDrift     bool `json:"target_drift"`
	// Warnings are problems with the rules rather than the data.
	Warnings []string `json:"warnings,omitempty"`
}

// Compare compares cur with ref under rules. Data problems (a column gone,
// its kind changed, every value missing) are findings in the report;
// only unusable rules or profiles are errors.
func Compare(ref, cur *profile.Profile, rules Rules) (*Report, error) {
	if err := rules.validate(); err != nil {
		return nil, err
	}
	for _, p := range []*profile.Profile{ref, cur} {
		if p == nil {
			return nil, fmt.Errorf("compare: %w: no profile", ErrRules)
		}
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("compare: %w", err)
		}
	}
	rep := &Report{Rules: rules}
	for name := range rules.Columns {
		if ref.Column(name) == nil && cur.Column(name) == nil {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("the rules name column %q, which neither profile has", name))
		}
	}
	sort.Strings(rep.Warnings)
	for i := range ref.Columns {
		rc := &ref.Columns[i]
		rep.Columns = append(rep.Columns, compareColumn(rc, cur.Column(rc.Name), rules))
	}
	for i := range cur.Columns {
		cc := &cur.Columns[i]
		if ref.Column(cc.Name) == nil {
			rep.Columns = append(rep.Columns, Column{
				Name: cc.Name, Kind: cc.Kind, Role: cc.Role, MissingAfter: cc.MissingRate(),
				Status: StatusNewColumn, Reason: "not in the reference; profile it into the reference to watch it",
			})
		}
	}
	if err := decide(rep, rules); err != nil {
		return nil, err
	}
	return rep, nil
}

// compareColumn computes a column's statistics; decide, which sees every
// column's p-value, settles whether it drifted.
func compareColumn(rc, cc *profile.Column, rules Rules) Column {
	c := Column{Name: rc.Name, Kind: rc.Kind, Role: rc.Role, MissingBefore: rc.MissingRate()}
	rule := rules.Columns[rc.Name]
	c.WarnOnly = rule.WarnOnly
	if rule.Ignore {
		c.Status, c.Reason = StatusIgnored, "ignored by the rules"
		return c
	}
	if cc == nil {
		c.Status, c.Reason = StatusMissingColumn, "not in the current data"
		if rc.Role == profile.Target {
			c.Reason += " (labels often arrive later)"
		}
		return c
	}
	c.CurrentKind, c.MissingAfter = cc.Kind, cc.MissingRate()
	if c.Role == profile.Feature {
		c.Role = cc.Role
	}
	switch {
	case rc.Kind == profile.KindEmpty && cc.Kind == profile.KindEmpty:
		c.Status, c.Reason = StatusOK, "every value missing, in the reference and now"
		return c
	case rc.Kind == profile.KindEmpty:
		c.Status, c.Reason = StatusAllMissing, fmt.Sprintf("every reference value was missing; now %s", cc.Kind)
		return c
	case cc.Kind == profile.KindEmpty:
		c.Status, c.Reason = StatusAllMissing, "every current value is missing"
		return c
	case rc.Kind != cc.Kind:
		c.Status, c.Reason = StatusKindChanged, fmt.Sprintf("was %s, now %s", rc.Kind, cc.Kind)
		return c
	}
	c.missingP = missingTest(rc, cc)
	var err error
	switch rc.Kind {
	case profile.KindNumeric:
		err = numeric(&c, rc.Numeric, cc.Numeric)
	case profile.KindCategorical:
		r, k := categoryCounts(rc.Categorical, cc.Categorical)
		err = counts(&c, r, k)
	case profile.KindBoolean:
		err = counts(&c, []float64{float64(rc.Boolean.False), float64(rc.Boolean.True)},
			[]float64{float64(cc.Boolean.False), float64(cc.Boolean.True)})
	}
	if err != nil {
		c.Status, c.Reason = StatusUntestable, err.Error()
		c.Test, c.Statistic, c.P, c.PSI, c.Wasserstein, c.JS = "", nil, nil, nil, nil, nil
	}
	return c
}

func numeric(c *Column, ref, cur *profile.Numeric) error {
	method := stats.Asymptotic
	if max(len(ref.Sample), len(cur.Sample)) <= KSExactMax {
		method = stats.Exact
	}
	ks, err := stats.KS2SampSorted(ref.Sample, cur.Sample, method)
	if err != nil {
		return fmt.Errorf("KS test: %w", err)
	}
	w, err := stats.NormalizedWasserstein1(ref.Sample, cur.Sample)
	if err != nil {
		return fmt.Errorf("normalized Wasserstein distance: %w", err)
	}
	psi, err := stats.PSI(toFloats(ref.Bins.Counts), curBins(ref.Bins, cur), 0)
	if err != nil {
		return fmt.Errorf("PSI: %w", err)
	}
	c.Test, c.Statistic, c.P, c.Wasserstein, c.PSI = TestKS, &ks.D, &ks.P, &w, &psi
	return nil
}

// curBins counts the current data in the reference's bins: every value
// when the current profile was built with the reference (CountedRows in
// the same edges), else the current sample, which estimates the same
// proportions from fewer values.
func curBins(ref profile.Bins, cur *profile.Numeric) []float64 {
	if cur.Bins.Counted == profile.CountedRows && slices.Equal(cur.Bins.Edges, ref.Edges) {
		return toFloats(cur.Bins.Counts)
	}
	out := make([]float64, len(ref.Edges)+1)
	// Both are sorted: one merge-like walk instead of a search per value.
	bin := 0
	for _, v := range cur.Sample {
		for bin < len(ref.Edges) && v > ref.Edges[bin] {
			bin++
		}
		out[bin]++
	}
	return out
}

// categoryCounts lines up two categorical summaries over the reference's
// named values, then the current data's other named values, then an
// "other" entry when either side has one. When the reference has an
// "other", a value only the current data names is counted there too:
// the reference may hold it in its own "other" (a tail beyond TopK), and
// naming it on one side only would make a test see a category appear
// from nothing. A wholly new value still shows, as "other" growing.
func categoryCounts(ref, cur *profile.Categorical) (r, k []float64) {
	index := make(map[string]int, len(ref.Values))
	for i, v := range ref.Values {
		index[v.Value] = i
		r = append(r, float64(v.Count))
	}
	k = make([]float64, len(r))
	curOther := float64(cur.Other)
	for _, v := range cur.Values {
		switch i, ok := index[v.Value]; {
		case ok:
			k[i] += float64(v.Count)
		case ref.Other > 0:
			curOther += float64(v.Count)
		default:
			r, k = append(r, 0), append(k, float64(v.Count))
		}
	}
	if ref.Other > 0 || curOther > 0 {
		r, k = append(r, float64(ref.Other)), append(k, curOther)
	}
	return r, k
}

func counts(c *Column, r, k []float64) error {
	pooled, err := stats.PoolRare(r, k, stats.DefaultMinExpected)
	if err != nil {
		return fmt.Errorf("pooling rare categories: %w", err)
	}
	chi, err := stats.ChiSquare(pooled.Ref, pooled.Cur)
	if err != nil {
		return fmt.Errorf("chi-squared test: %w", err)
	}
	psi, err := stats.PSI(r, k, 0)
	if err != nil {
		return fmt.Errorf("PSI: %w", err)
	}
	js, err := stats.JensenShannon(r, k)
	if err != nil {
		return fmt.Errorf("the Jensen–Shannon distance: %w", err)
	}
	c.Test, c.Statistic, c.P, c.PSI, c.JS = TestChiSquared, &chi.Stat, &chi.P, &psi, &js
	return nil
}

// missingTest is the chi-squared test of the missing rates, 1 when it
// cannot be computed (no rows on a side).
func missingTest(rc, cc *profile.Column) float64 {
	res, err := stats.ChiSquare(
		[]float64{float64(rc.Missing), float64(rc.Count)},
		[]float64{float64(cc.Missing), float64(cc.Count)})
	if err != nil || math.IsNaN(res.P) {
		return 1
	}
	return res.P
}

func toFloats(x []int64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}
