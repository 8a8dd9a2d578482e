package plots

import (
	"strconv"
	"strings"

	"github.com/mlci/mlci/internal/decimal"
)

// parseNumber reads a data value as strconv.ParseFloat reads it once
// surrounding space is trimmed, bit for bit. Logged metrics are nearly
// always plain decimals such as -0.123456, which decimal.Plain reads
// exactly without a string; anything else goes to strconv.
func parseNumber(b []byte) (float64, error) {
	if f, exact, ok := decimal.Plain(b); ok && exact {
		return f, nil
	}
	return strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
}
