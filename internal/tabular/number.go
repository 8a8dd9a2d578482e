package tabular

import (
	"strconv"
	"strings"

	"github.com/mlci/mlci/internal/decimal"
)

// parseNumber reads a cell as strconv.ParseFloat reads it once
// surrounding space is trimmed: exactly for decimals of up to 15 or 16
// significant digits, and within one unit in the last place for those of
// 17 to 19, which is what every float a program prints in full has. That
// one ulp is far below anything a drift statistic can see, and reading
// those digits without a string and a general algorithm makes the CSV
// path about twice as fast. Anything else goes to strconv.
func parseNumber(b []byte) (float64, bool) {
	if f, _, ok := decimal.Plain(b); ok {
		return f, true
	}
	if len(b) == 0 || !maybeNumber(b) {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
	return f, err == nil
}

// maybeNumber rejects most words before strconv allocates a string for
// them: a number starts, after space and a sign, with a digit, a point,
// or the i and n of inf and nan.
func maybeNumber(b []byte) bool {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		i++
	}
	if i == len(b) {
		return false
	}
	c := b[i] | 0x20
	return b[i]-'0' <= 9 || b[i] == '.' || c == 'i' || c == 'n'
}

// isMissingText reports whether a text cell is one of the markers pandas
// reads as NaN by default, so that a file means the same here as in the
// notebook that wrote it.
func isMissingText(b []byte) bool {
	if len(b) > 8 {
		return false
	}
	switch string(b) {
	case "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan",
		"1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null":
		return true
	}
	return false
}

// classify turns a text cell into a typed one.
func classify(b []byte) (Kind, float64) {
	if isMissingText(b) {
		return Missing, 0
	}
	if f, ok := parseNumber(b); ok {
		return Number, f
	}
	return Text, 0
}
