package compare

import (
	"fmt"
	"strings"

	"github.com/mlci/mlci/internal/drift/profile"
	"github.com/mlci/mlci/internal/drift/stats"
)

// decide adjusts the tested columns' p-values together, applies the
// rules to each column and the verdict to the table.
func decide(rep *Report, rules Rules) error {
	var ps []float64
	var tested []int
	for i, c := range rep.Columns {
		if c.P != nil {
			ps = append(ps, *c.P)
			tested = append(tested, i)
		}
	}
	if len(ps) > 0 {
		qs, err := stats.BenjaminiHochberg(ps)
		if err != nil {
			return fmt.Errorf("compare: %w", err)
		}
		for j, i := range tested {
			q := qs[j]
			rep.Columns[i].Q = &q
		}
	}
	for i := range rep.Columns {
		c := &rep.Columns[i]
		switch c.Status {
		case StatusMissingColumn:
			c.Drifted = c.Role != profile.Target
		case StatusKindChanged, StatusAllMissing, StatusUntestable:
			c.Drifted = true
		case "":
			decideTested(c, rules)
		}
		switch {
		case c.Status == StatusIgnored || c.Status == StatusNewColumn:
		case c.Role == profile.Prediction:
			rep.PredictionDrift = rep.PredictionDrift || c.Drifted
		case c.Role == profile.Target:
			rep.TargetDrift = rep.TargetDrift || c.Drifted
		default:
			rep.Features++
			if c.Drifted && !c.WarnOnly {
				rep.Drifted++
			}
		}
	}
	if rep.Features > 0 {
		rep.DriftedShare = float64(rep.Drifted) / float64(rep.Features)
	}
	rep.Drift = rep.DriftedShare > rules.MaxDriftedShare
	return nil
}

// decideTested applies the two-part rule to a tested column: significant
// after adjustment, and an effect at least the minimum of its kind; or a
// significant rise in the missing rate past MaxMissingIncrease.
func decideTested(c *Column, rules Rules) {
	minPSI := rules.MinPSI
	if r, ok := rules.Columns[c.Name]; ok && r.MaxPSI != nil {
		minPSI = *r.MaxPSI
	}
	var effects, small []string
	check := func(name string, v *float64, limit float64) {
		if v == nil {
			return
		}
		if limit > 0 && *v >= limit {
			effects = append(effects, fmt.Sprintf("%s %.3g >= %.3g", name, *v, limit))
		} else {
			small = append(small, fmt.Sprintf("%s %.3g < %.3g", name, *v, limit))
		}
	}
	if c.Kind == profile.KindNumeric {
		check("Wasserstein", c.Wasserstein, rules.MinWasserstein)
	} else {
		check("JS", c.JS, rules.MinJS)
	}
	check("PSI", c.PSI, minPSI)
	test := fmt.Sprintf("%s q=%.3g", strings.ToUpper(c.Test), *c.Q)
	significant := *c.Q <= rules.Alpha
	rise := c.MissingAfter - c.MissingBefore
	missingDrift := rules.MaxMissingIncrease > 0 && rise > rules.MaxMissingIncrease && c.missingP <= rules.Alpha
	switch {
	case significant && len(effects) > 0:
		c.Drifted = true
		c.Reason = fmt.Sprintf("%s <= %.3g and %s", test, rules.Alpha, strings.Join(effects, ", "))
	case significant:
		c.Reason = fmt.Sprintf("%s <= %.3g but the shift is small: %s", test, rules.Alpha, strings.Join(small, ", "))
	default:
		c.Reason = fmt.Sprintf("%s > %.3g: not significant", test, rules.Alpha)
	}
	if missingDrift {
		reason := fmt.Sprintf("missing rate rose from %.1f%% to %.1f%%", 100*c.MissingBefore, 100*c.MissingAfter)
		if c.Drifted {
			c.Reason += "; " + reason
		} else {
			c.Reason = reason + "; " + c.Reason
		}
		c.Drifted = true
	}
	c.Status = StatusOK
	if c.Drifted {
		c.Status = StatusDrift
	}
}
