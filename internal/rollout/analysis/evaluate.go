package analysis

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Outcome is a rule's or a report's verdict; the strings are those of
// rollout.Verdict.
type Outcome string

// Outcomes.
const (
	Pass         Outcome = "pass"
	Fail         Outcome = "fail"
	Inconclusive Outcome = "inconclusive"
)

// Report is the analysis of one canary against its stable version.
type Report struct {
	Canary  string   `json:"canary"`
	Stable  string   `json:"stable"`
	Outcome Outcome  `json:"outcome"`
	Results []Result `json:"results"`
}

// Result is one rule judged. Values are nil where a version had no series
// or a value that is not a finite number, as JSON holds no NaN.
type Result struct {
	Rule     string  `json:"rule"`
	WarnOnly bool    `json:"warn_only,omitempty"`
	Outcome  Outcome `json:"outcome"`
	// Reason is one line saying why, quoting the query when it is about
	// the query.
	Reason string   `json:"reason"`
	Canary *float64 `json:"canary,omitempty"`
	Stable *float64 `json:"stable,omitempty"`
	// CanaryCounts and StableCounts are a rate rule's successes and
	// totals.
	CanaryCounts *Counts `json:"canary_counts,omitempty"`
	StableCounts *Counts `json:"stable_counts,omitempty"`
	Checks       []Check `json:"checks,omitempty"`
}

// Evaluate runs each rule for the canary and the stable version. A rule
// that cannot be judged yet (no series, too little traffic, NaN) is
// inconclusive in the report; the error is for a report that cannot be
// made at all (see the package doc), and for invalid rules.
func Evaluate(ctx context.Context, q Querier, rules []Rule, canary, stable string) (Report, error) {
	rep := Report{Canary: canary, Stable: stable, Results: []Result{}}
	for _, r := range rules {
		if err := r.Validate(); err != nil {
			return Report{}, err
		}
	}
	for _, r := range rules {
		var res Result
		var err error
		if r.IsRate() {
			res, err = evalRate(ctx, q, r, canary, stable)
		} else {
			res, err = evalQuery(ctx, q, r, canary, stable)
		}
		if err != nil {
			return Report{}, fmt.Errorf("analysis rule %q: %w", r.Name, err)
		}
		res.Rule, res.WarnOnly = r.Name, r.WarnOnly
		rep.Results = append(rep.Results, res)
	}
	rep.Outcome = overall(rep.Results)
	return rep, nil
}

func overall(results []Result) Outcome {
	out := Pass
	for _, r := range results {
		switch {
		case r.WarnOnly:
		case r.Outcome == Fail:
			return Fail
		case r.Outcome == Inconclusive:
			out = Inconclusive
		}
	}
	return out
}

// value is one version's answer to one query: missing (no series, with a
// reason) or a finite number.
type value struct {
	v       float64
	missing string
}

func (v value) ptr() *float64 {
	if v.missing != "" {
		return nil
	}
	return &v.v
}

// one runs template for version and reads its single value.
func one(ctx context.Context, q Querier, template, version string) (value, error) {
	query, err := expand(template, version)
	if err != nil {
		return value{}, err
	}
	samples, err := q.Query(ctx, query)
	if err != nil {
		return value{}, err
	}
	switch {
	case len(samples) == 0:
		return value{missing: fmt.Sprintf("query %q returned no series for %s", query, version)}, nil
	case len(samples) > 1:
		return value{}, fmt.Errorf("query %q returned %d series; aggregate it to one, e.g. sum(...)", query, len(samples))
	}
	v := samples[0].Value
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return value{missing: fmt.Sprintf("query %q returned %v for %s, not a number to judge (a ratio of zero traffic?)", query, v, version)}, nil
	}
	return value{v: v}, nil
}

func evalQuery(ctx context.Context, q Querier, r Rule, canary, stable string) (Result, error) {
	c, err := one(ctx, q, r.Query, canary)
	if err != nil {
		return Result{}, err
	}
	relative := r.MaxDrop != nil || r.MaxRise != nil
	s := value{missing: "not queried"}
	if relative || c.missing == "" {
		if s, err = one(ctx, q, r.Query, stable); err != nil {
			return Result{}, err
		}
	}
	res := Result{Canary: c.ptr(), Stable: s.ptr()}
	switch {
	case c.missing != "":
		return inconclusive(res, c.missing), nil
	case relative && s.missing != "":
		return inconclusive(res, s.missing+"; max_drop and max_rise need the stable version's value"), nil
	}
	check := func(bound string, limit float64, outside bool) {
		o := Pass
		if outside {
			o = Fail
		}
		res.Checks = append(res.Checks, Check{Bound: bound, Limit: limit, Outcome: o})
	}
	if r.MaxDrop != nil {
		limit := s.v - r.MaxDrop.Of(s.v)
		check("max_drop "+r.MaxDrop.String(), limit, c.v < limit)
	}
	if r.MaxRise != nil {
		limit := s.v + r.MaxRise.Of(s.v)
		check("max_rise "+r.MaxRise.String(), limit, c.v > limit)
	}
	if r.Min != nil {
		check(fmt.Sprintf("min %v", *r.Min), *r.Min, c.v < *r.Min)
	}
	if r.Max != nil {
		check(fmt.Sprintf("max %v", *r.Max), *r.Max, c.v > *r.Max)
	}
	res.Outcome = combine(res.Checks)
	res.Reason = explain(res.Checks, func(ch Check) string {
		return fmt.Sprintf("canary %s %s %s %s", num(c.v), relation(ch), ch.Bound, limitText(ch))
	})
	return res, nil
}

func evalRate(ctx context.Context, q Querier, r Rule, canary, stable string) (Result, error) {
	var vals [4]value
	for i, t := range []struct{ template, version string }{
		{r.Success, canary}, {r.Total, canary}, {r.Success, stable}, {r.Total, stable},
	} {
		v, err := one(ctx, q, t.template, t.version)
		if err != nil {
			return Result{}, err
		}
		vals[i] = v
	}
	relative := r.MaxDrop != nil || r.MaxRise != nil
	res := Result{}
	for i, v := range vals {
		switch {
		case v.missing == "":
		case i < 2:
			return inconclusive(res, v.missing), nil
		case relative:
			return inconclusive(res, v.missing+"; max_drop and max_rise need the stable version's rate"), nil
		}
	}
	c := Counts{Success: vals[0].v, Total: vals[1].v}
	res.CanaryCounts = &c
	// A stable version without series is a stable version without
	// traffic, which only relative bounds need.
	var s Counts
	if vals[2].missing == "" && vals[3].missing == "" {
		s = Counts{Success: vals[2].v, Total: vals[3].v}
		res.StableCounts = &s
	}
	for _, v := range []struct {
		name string
		c    Counts
	}{{canary, c}, {stable, s}} {
		if v.c.Success < 0 || v.c.Total < 0 || v.c.Success > v.c.Total {
			return inconclusive(res, fmt.Sprintf("%s has %s successes of %s; success must count a subset of total", v.name, num(v.c.Success), num(v.c.Total))), nil
		}
	}
	if c.Total > 0 {
		res.Canary = ptr(c.Rate())
	}
	if s.Total > 0 {
		res.Stable = ptr(s.Rate())
	}
	switch {
	case c.Total == 0:
		return inconclusive(res, fmt.Sprintf("canary %s has no traffic yet (total 0)", canary)), nil
	case c.Total < r.MinTotal:
		return inconclusive(res, fmt.Sprintf("canary %s has %s of min_total %s; waiting for traffic", canary, num(c.Total), num(r.MinTotal))), nil
	case relative && s.Total == 0:
		return inconclusive(res, fmt.Sprintf("stable %s has no traffic (total 0) to compare with", stable)), nil
	}
	res.Checks = rateChecks(rateBounds{Min: r.Min, Max: r.Max, MaxDrop: r.MaxDrop, MaxRise: r.MaxRise, Confidence: r.confidence()}, c, s)
	res.Outcome = combine(res.Checks)
	res.Reason = explain(res.Checks, func(ch Check) string {
		var verdict string
		switch ch.Outcome {
		case Pass:
			verdict = "significantly inside"
		case Fail:
			verdict = "significantly outside"
		default:
			verdict = "not significantly inside or outside"
		}
		return fmt.Sprintf("canary rate %s (%s/%s) is %s %s %s: z=%.2f, needs |z|>%.2f at %s confidence",
			num(c.Rate()), num(c.Success), num(c.Total), verdict, ch.Bound, limitText(ch), ch.Z, ch.ZCrit, num(r.confidence()))
	})
	return res, nil
}

func inconclusive(res Result, why string) Result {
	res.Outcome, res.Reason = Inconclusive, why
	return res
}

// explain is a result's reason: the failing checks, else the inconclusive
// ones, else all, each told by say.
func explain(checks []Check, say func(Check) string) string {
	want := combine(checks)
	var parts []string
	for _, ch := range checks {
		if ch.Outcome == want {
			parts = append(parts, say(ch))
		}
	}
	return strings.Join(parts, "; ")
}

func relation(ch Check) string {
	if ch.Outcome == Fail {
		return "breaks"
	}
	return "keeps"
}

func limitText(ch Check) string {
	return "(limit " + num(ch.Limit) + ")"
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

func ptr(v float64) *float64 { return &v }

// Why is the report's outcome in one line, for the step a rollout
// records: the rules that decided it ("rule: reason", joined by "; ").
func (r Report) Why() string {
	var parts []string
	for _, res := range r.Results {
		if !res.WarnOnly && res.Outcome == r.Outcome {
			parts = append(parts, res.Rule+": "+res.Reason)
		}
	}
	if len(parts) == 0 {
		return "no analysis rules"
	}
	return strings.Join(parts, "; ")
}

// Table is the report as text, one line per rule after a summary line.
func (r Report) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "analysis of %s against %s: %s\n", r.Canary, r.Stable, r.Outcome)
	for _, res := range r.Results {
		tag := strings.ToUpper(string(res.Outcome))
		if res.WarnOnly {
			tag += " (warn only)"
		}
		fmt.Fprintf(&b, "  %-12s %s: canary %s, stable %s: %s\n", tag, res.Rule, show(res.Canary), show(res.Stable), res.Reason)
	}
	return b.String()
}

func show(v *float64) string {
	if v == nil {
		return "-"
	}
	return num(*v)
}
