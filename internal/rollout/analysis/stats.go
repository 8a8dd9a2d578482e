package analysis

import (
	"fmt"
	"math"

	"github.com/mlci/mlci/internal/config"
)

// Counts are one version's successes and total for a rate rule.
type Counts struct {
	Success float64 `json:"success"`
	Total   float64 `json:"total"`
}

// Rate is the raw proportion, NaN when the total is zero.
func (c Counts) Rate() float64 {
	if c.Total == 0 {
		return math.NaN()
	}
	return c.Success / c.Total
}

// adjusted is the Agresti–Caffo proportion and its variance: one success
// and one failure added, so a version without failures still has spread.
func (c Counts) adjusted() (p, v float64) {
	n := c.Total + 2
	p = (c.Success + 1) / n
	return p, p * (1 - p) / n
}

// Check is one bound of a rule, judged.
type Check struct {
	// Bound is the rule's setting as written: "max_drop 1%", "min 0.99".
	Bound string `json:"bound"`
	// Limit is the value the canary is held to: for max_drop, the stable
	// rate less the threshold.
	Limit float64 `json:"limit"`
	// Z is the test statistic, positive inside the bound, and ZCrit the
	// critical value Φ⁻¹(confidence); both are zero for query rules.
	Z       float64 `json:"z,omitempty"`
	ZCrit   float64 `json:"z_crit,omitempty"`
	Outcome Outcome `json:"outcome"`
}

// normalCDF is Φ, the standard normal distribution function.
func normalCDF(z float64) float64 {
	return 0.5 * math.Erfc(-z/math.Sqrt2)
}

// normalQuantile is Φ⁻¹ for p in (0, 1).
func normalQuantile(p float64) float64 {
	return math.Sqrt2 * math.Erfinv(2*p-1)
}

// decide maps an oriented statistic to an outcome: significantly inside
// the bound passes, significantly outside fails, anything between waits.
func decide(z, zCrit float64) Outcome {
	switch {
	case z > zCrit:
		return Pass
	case z < -zCrit:
		return Fail
	}
	return Inconclusive
}

// rateBounds is what a rate rule bounds, apart from the rule's queries.
type rateBounds struct {
	Min, Max         *float64
	MaxDrop, MaxRise *config.Threshold
	Confidence       float64
}

// rateChecks judges each bound of b for canary c against stable s, which
// must both have a positive total (stable's only when b is relative).
func rateChecks(b rateBounds, c, s Counts) []Check {
	zCrit := normalQuantile(b.Confidence)
	pc, vc := c.adjusted()
	ps, vs := s.adjusted()
	var checks []Check
	add := func(bound string, limit, z float64) {
		checks = append(checks, Check{Bound: bound, Limit: limit, Z: z, ZCrit: zCrit, Outcome: decide(z, zCrit)})
	}
	if b.MaxDrop != nil {
		d := b.MaxDrop.Of(s.Rate())
		add("max_drop "+b.MaxDrop.String(), s.Rate()-d, (pc-ps+d)/math.Sqrt(vc+vs))
	}
	if b.MaxRise != nil {
		d := b.MaxRise.Of(s.Rate())
		add("max_rise "+b.MaxRise.String(), s.Rate()+d, (ps+d-pc)/math.Sqrt(vc+vs))
	}
	if b.Min != nil {
		add(fmt.Sprintf("min %v", *b.Min), *b.Min, (pc-*b.Min)/math.Sqrt(vc))
	}
	if b.Max != nil {
		add(fmt.Sprintf("max %v", *b.Max), *b.Max, (*b.Max-pc)/math.Sqrt(vc))
	}
	return checks
}

// combine is a rule's outcome from its checks: any fail fails, all pass
// passes.
func combine(checks []Check) Outcome {
	out := Pass
	for _, c := range checks {
		switch c.Outcome {
		case Fail:
			return Fail
		case Inconclusive:
			out = Inconclusive
		}
	}
	return out
}
