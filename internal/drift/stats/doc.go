// Package stats holds the two-sample statistics behind mlci drift: tests and
// distances that compare a column of current data with its reference profile.
//
// Each function is checked against SciPy 1.10 (testdata/gen.py writes the
// reference cases). Inputs are never modified. A NaN anywhere in an input is
// an error rather than silently dropped: a missing value is a data-quality
// finding of its own, and the caller decides whether to count and drop it
// before testing.
package stats

import (
	"errors"
	"fmt"
	"math"
)

// Errors callers can branch on; the returned errors wrap them with detail.
var (
	ErrEmpty = errors.New("stats: empty sample")
	ErrNaN   = errors.New("stats: NaN in input")
	ErrInput = errors.New("stats: invalid input")
)

// checkSample refuses the inputs every sample-based statistic refuses.
func checkSample(name string, x []float64) error {
	if len(x) == 0 {
		return fmt.Errorf("%s: %w", name, ErrEmpty)
	}
	for i, v := range x {
		if math.IsNaN(v) {
			return fmt.Errorf("%s[%d]: %w", name, i, ErrNaN)
		}
	}
	return nil
}

// checkCounts refuses count or proportion vectors that cannot describe a
// distribution: NaN, negative or infinite entries, or nothing at all.
func checkCounts(name string, x []float64) (sum float64, err error) {
	if len(x) == 0 {
		return 0, fmt.Errorf("%s: %w", name, ErrEmpty)
	}
	for i, v := range x {
		switch {
		case math.IsNaN(v):
			return 0, fmt.Errorf("%s[%d]: %w", name, i, ErrNaN)
		case v < 0 || math.IsInf(v, 0):
			return 0, fmt.Errorf("%s[%d] = %v: %w: counts must be finite and non-negative", name, i, v, ErrInput)
		}
		sum += v
	}
	if sum == 0 {
		return 0, fmt.Errorf("%s: all counts are zero: %w", name, ErrEmpty)
	}
	return sum, nil
}
