package metrics

import (
	"bytes"
	"math"
	"strconv"
)

// FormatNumber formats x to sig significant digits (sig < 1 means 5) for
// people reading a table: no trailing zeros, no float noise (0.1+0.2 is
// "0.3"), "0" for negative zero.
//
// Significant digits only ever drop fractional digits: below 1e15 the
// integer part is printed in full (123456789 stays "123456789", 123456.7
// becomes "123457"), because a rounded count like "123460000" reads as
// exact and is wrong. From 1e15 up, and below 1e-6, exponent notation is
// used ("1.2346e+20", "1.2346e-07"), where plain digits get unreadable.
func FormatNumber(x float64, sig int) string {
	var buf [40]byte
	return string(appendNumber(buf[:0], x, sig))
}

// appendNumber is FormatNumber into a caller's buffer: tables format
// thousands of numbers, and the intermediate strings were most of the cost.
func appendNumber(dst []byte, x float64, sig int) []byte {
	if sig < 1 {
		sig = 5
	}
	sig = min(sig, 17) // float64 holds no more
	switch {
	case math.IsNaN(x):
		return append(dst, "NaN"...)
	case math.IsInf(x, 1):
		return append(dst, "Inf"...)
	case math.IsInf(x, -1):
		return append(dst, "-Inf"...)
	case x == 0:
		return append(dst, '0')
	}
	// The exponent after rounding decides, so that 9.99999e-7 rounds to
	// "0.000001" rather than "1e-06".
	start := len(dst)
	dst = strconv.AppendFloat(dst, x, 'e', sig-1, 64)
	e := bytes.LastIndexByte(dst[start:], 'e') + start
	exp := 0
	for _, c := range dst[e+2:] {
		exp = 10*exp + int(c-'0')
	}
	if dst[e+1] == '-' {
		exp = -exp
	}
	// Just below 1e15, 'f' can round up to 16 digits; that is 1e15 too.
	if math.Abs(x) >= 1e15 || exp < -6 || math.Abs(math.Round(x)) >= 1e15 {
		mant := trimZeros(dst[start:e])
		return append(dst[:start+len(mant)], dst[e:]...) // copy moves left: safe in place
	}
	dst = strconv.AppendFloat(dst[:start], x, 'f', max(sig-1-exp, 0), 64)
	dst = dst[:start+len(trimZeros(dst[start:]))]
	if string(dst[start:]) == "-0" {
		dst = append(dst[:start], '0')
	}
	return dst
}

// trimZeros drops trailing zeros after a decimal point, and the point.
func trimZeros(s []byte) []byte {
	if bytes.IndexByte(s, '.') < 0 {
		return s
	}
	s = bytes.TrimRight(s, "0")
	return bytes.TrimSuffix(s, []byte("."))
}

// FormatChange formats a difference like FormatNumber but with an explicit
// sign ("+0.012", "-3"), so an improvement and a regression look different
// at a glance; no change is "0".
func FormatChange(x float64, sig int) string {
	var buf [40]byte
	return string(appendChange(buf[:0], x, sig))
}

func appendChange(dst []byte, x float64, sig int) []byte {
	start := len(dst)
	dst = appendNumber(append(dst, '+'), x, sig)
	if x > 0 && string(dst[start+1:]) != "0" {
		return dst
	}
	return append(dst[:start], dst[start+1:]...)
}

// FormatPercent formats a percentage with a sign and two significant digits
// ("+1.2%", "-0.35%", "0%"), following FormatNumber's rule that integer
// digits are never dropped ("+123%"). Two digits are enough to judge a
// change; more would suggest a precision that run-to-run noise lacks.
func FormatPercent(p float64) string {
	var buf [40]byte
	return string(append(appendChange(buf[:0], p, 2), '%'))
}
