package tabular

import (
	"encoding/binary"
	"strconv"
	"strings"
)

// exactPow10 holds the powers of ten a float64 represents exactly.
var exactPow10 = [...]float64{
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
}

// parseNumber reads a cell as strconv.ParseFloat reads it once
// surrounding space is trimmed: exactly for decimals of up to 15 or 16
// significant digits, and within one unit in the last place for those of
// 17 to 19, which is what every float a program prints in full has. That
// one ulp is far below anything a drift statistic can see, and reading
// those digits without a string and a general algorithm makes the CSV
// path about twice as fast. Anything else goes to strconv.
func parseNumber(b []byte) (float64, bool) {
	if f, ok := plainDecimal(b); ok {
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

// plainDecimal parses -?digits(.digits)? of at most 19 digits with at
// most 22 after the point. When the digits, read as one integer, fit in
// 53 bits, that integer and the power of ten are exact float64 values and
// one division, which IEEE 754 rounds correctly, gives the correctly
// rounded result (Clinger's fast path, as strconv takes it). Past 53 bits
// the integer's conversion rounds too, so the result is within one ulp.
func plainDecimal(b []byte) (float64, bool) {
	i, neg := 0, false
	if len(b) > 0 && b[0] == '-' {
		i, neg = 1, true
	}
	var mant uint64
	start := i
	mant, i = digitsAt(b, i, mant)
	digits := i - start
	if digits == 0 {
		return 0, false
	}
	frac := 0
	if i < len(b) && b[i] == '.' {
		i++
		fracStart := i
		mant, i = digitsAt(b, i, mant)
		frac = i - fracStart
		digits += frac
		if frac == 0 {
			return 0, false
		}
	}
	// Nineteen digits cannot overflow a uint64.
	if i != len(b) || digits > 19 || frac >= len(exactPow10) {
		return 0, false
	}
	f := float64(mant) / exactPow10[frac]
	if neg {
		f = -f
	}
	return f, true
}

// digitsAt reads the decimal digits of b from i on into mant, eight at a
// time where it can. Past 19 digits mant overflows, which the caller
// refuses by the count.
func digitsAt(b []byte, i int, mant uint64) (uint64, int) {
	for i+8 <= len(b) {
		v := binary.LittleEndian.Uint64(b[i:])
		if !eightDigits(v) {
			break
		}
		mant = mant*100_000_000 + parseEight(v)
		i += 8
	}
	for ; i < len(b) && b[i]-'0' <= 9; i++ {
		mant = mant*10 + uint64(b[i]-'0')
	}
	return mant, i
}

// eightDigits reports whether the eight bytes of v (little-endian) are
// all ASCII digits: each byte's high nibble is 3, and adding 6 does not
// carry into it.
func eightDigits(v uint64) bool {
	return (v&0xF0F0F0F0F0F0F0F0)|(((v+0x0606060606060606)&0xF0F0F0F0F0F0F0F0)>>4) == 0x3333333333333333
}

// parseEight turns eight ASCII digits into their value with three
// multiplications rather than eight (the SWAR method of fast_float).
func parseEight(v uint64) uint64 {
	const mask = 0x000000FF000000FF
	const mul1 = 100 + 1_000_000<<32
	const mul2 = 1 + 10_000<<32
	v -= 0x3030303030303030
	v = v*10 + v>>8
	return ((v&mask)*mul1 + ((v>>16)&mask)*mul2) >> 32
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
