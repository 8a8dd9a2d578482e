package compare

import (
	"errors"
	"fmt"
	"math"
)

// Defaults for Rules. A column drifts only when its test is significant
// after Benjamini–Hochberg across the tested columns at Alpha AND its
// effect size is at least the minimum for its kind: with a million rows
// a test finds shifts nobody should act on, and with a hundred an effect
// size is mostly noise, so each guards against the other's failure.
const (
	DefaultAlpha = 0.05
	// DefaultMinPSI is the customary "significant shift" line of the
	// population stability index (below 0.1 stable, 0.1–0.2 moderate).
	DefaultMinPSI = 0.2
	// DefaultMinWasserstein is a mean shift of a tenth of the reference's
	// standard deviation, the Wasserstein-1 distance being in the data's
	// units and divided by that deviation.
	DefaultMinWasserstein = 0.1
	// DefaultMinJS is a Jensen–Shannon distance (base 2, 0 to 1) of 0.1:
	// about a 14-point move of probability mass between two categories.
	DefaultMinJS = 0.1
	// DefaultMaxMissingIncrease is how much the missing rate may rise, in
	// absolute terms, before the column drifts on that alone.
	DefaultMaxMissingIncrease = 0.05
	// KSExactMax is the largest sample either side for which the KS
	// p-value is computed exactly; past it the asymptotic distribution is
	// accurate to well under the precision a decision needs, and the
	// exact one costs tens of milliseconds a column at 10,000 values.
	KSExactMax = 1000
)

// Rules decide which columns drift and whether the data as a whole does.
// Start from DefaultRules: a zero threshold turns its check off.
type Rules struct {
	// Alpha is the false discovery rate across the tested columns.
	Alpha float64 `json:"alpha"`
	// MinPSI applies to every kind; MinWasserstein (normalized) to
	// numeric columns and MinJS to categorical and boolean ones. Passing
	// either minimum of the column's kind is effect enough.
	MinPSI         float64 `json:"min_psi"`
	MinWasserstein float64 `json:"min_wasserstein"`
	MinJS          float64 `json:"min_js"`
	// MaxMissingIncrease is the rise in missing rate (0.05 = five points)
	// beyond which a column drifts, when the rise is also significant.
	MaxMissingIncrease float64 `json:"max_missing_increase"`
	// MaxDriftedShare is the share of feature columns that may drift
	// without the verdict being drift: 0 means any one does.
	MaxDriftedShare float64 `json:"max_drifted_share"`
	// Columns holds per-column exceptions by name.
	Columns map[string]ColumnRule `json:"columns,omitempty"`
}

// ColumnRule is one column's exception to Rules.
type ColumnRule struct {
	// MaxPSI replaces MinPSI for this column: the PSI at which it counts
	// as shifted enough.
	MaxPSI *float64 `json:"max_psi,omitempty"`
	// Ignore leaves the column out of the comparison entirely.
	Ignore bool `json:"ignore,omitempty"`
	// WarnOnly reports the column's drift without counting it toward the
	// verdict.
	WarnOnly bool `json:"warn_only,omitempty"`
}

// DefaultRules returns the documented defaults.
func DefaultRules() Rules {
	return Rules{
		Alpha:              DefaultAlpha,
		MinPSI:             DefaultMinPSI,
		MinWasserstein:     DefaultMinWasserstein,
		MinJS:              DefaultMinJS,
		MaxMissingIncrease: DefaultMaxMissingIncrease,
	}
}

// ErrRules is wrapped by Compare for rules that cannot be applied.
var ErrRules = errors.New("invalid drift rules")

func (r Rules) validate() error {
	if !(r.Alpha > 0 && r.Alpha < 1) {
		return fmt.Errorf("%w: alpha %v must be between 0 and 1", ErrRules, r.Alpha)
	}
	for name, v := range map[string]float64{
		"min_psi": r.MinPSI, "min_wasserstein": r.MinWasserstein, "min_js": r.MinJS,
		"max_missing_increase": r.MaxMissingIncrease,
	} {
		if !(v >= 0) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: %s %v must be a finite number >= 0", ErrRules, name, v)
		}
	}
	if !(r.MaxDriftedShare >= 0 && r.MaxDriftedShare < 1) {
		return fmt.Errorf("%w: max_drifted_share %v must be at least 0 and below 1", ErrRules, r.MaxDriftedShare)
	}
	for name, c := range r.Columns {
		if c.MaxPSI != nil && !(*c.MaxPSI >= 0) {
			return fmt.Errorf("%w: column %q: max_psi %v must be >= 0", ErrRules, name, *c.MaxPSI)
		}
	}
	return nil
}
