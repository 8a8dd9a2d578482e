package metrics

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DVC is Python: what it prints is what Python's round(), repr() and str()
// make of the values it loaded. The functions here write the same text, so
// that a table from mlci and one from dvc metrics diff agree digit for digit.

// pyRound is Python's round(x, n) for a float and n >= 0: x rounded to n
// decimal places, ties to even on the exact binary value. strconv rounds
// the same way, correctly, so formatting and parsing back gives Python's
// float.
func pyRound(x float64, n int) float64 {
	var buf [64]byte
	r, err := strconv.ParseFloat(string(strconv.AppendFloat(buf[:0], x, 'f', n, 64)), 64)
	if err != nil { // cannot happen for a finite x; keep x rather than 0
		return x
	}
	return r
}

// appendPyFloat appends x as Python's repr(float) and str(float) write it:
// the shortest digits that read back as x, always with a decimal point or
// an exponent ("1.0", "0.3", "1e-05", "1.5e+16"), exponent notation below
// 1e-4 and from 1e16 on.
func appendPyFloat(dst []byte, x float64) []byte {
	switch {
	case math.IsNaN(x):
		return append(dst, "nan"...)
	case math.IsInf(x, 1):
		return append(dst, "inf"...)
	case math.IsInf(x, -1):
		return append(dst, "-inf"...)
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, x, 'e', -1, 64)
	exp := 0
	for i := len(dst) - 1; i > start; i-- {
		if dst[i] == 'e' {
			exp, _ = strconv.Atoi(string(dst[i+1:]))
			break
		}
	}
	if x != 0 && (exp < -4 || exp >= 16) {
		return dst // Go's 'e' is Python's: "1e-05", "1.5e+16"
	}
	dst = strconv.AppendFloat(dst[:start], x, 'f', -1, 64)
	for _, c := range dst[start:] {
		if c == '.' {
			return dst
		}
	}
	return append(dst, ".0"...)
}

// appendPyInt appends an integral x as Python writes an int. Integers past
// 2^53 were rounded when read into a float64, and show so.
func appendPyInt(dst []byte, x float64) []byte {
	if x == 0 {
		return append(dst, '0') // JSON's -0 is Python's int 0
	}
	return strconv.AppendFloat(dst, x, 'f', -1, 64)
}

// appendPyBool appends b as Python writes a bool.
func appendPyBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, "True"...)
	}
	return append(dst, "False"...)
}

// appendPyStr appends s as Python's repr(str) writes it: in single quotes,
// or double quotes when s holds a single quote and no double quote, with
// backslashes, that quote and unprintable characters escaped.
func appendPyStr(dst []byte, s string) []byte {
	quote := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		quote = '"'
	}
	const hex = "0123456789abcdef"
	dst = append(dst, quote)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == rune(quote) || r == '\\':
			dst = append(dst, '\\', byte(r))
		case r == '\t':
			dst = append(dst, `\t`...)
		case r == '\n':
			dst = append(dst, `\n`...)
		case r == '\r':
			dst = append(dst, `\r`...)
		case r < 0x100 && (r < 0x20 || r >= 0x7f && !strconv.IsPrint(r)):
			dst = append(dst, '\\', 'x', hex[r>>4], hex[r&0xf])
		case r < 0x10000 && !strconv.IsPrint(r):
			dst = append(dst, '\\', 'u', hex[r>>12], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
		case !strconv.IsPrint(r):
			dst = append(dst, '\\', 'U')
			for shift := 28; shift >= 0; shift -= 4 {
				dst = append(dst, hex[r>>shift&0xf])
			}
		default:
			dst = utf8.AppendRune(dst, r)
		}
	}
	return append(dst, quote)
}

// appendPyValue appends a scalar as Python's repr writes it inside a list,
// for a params list shown as one value.
func appendPyValue(dst []byte, v Value) []byte {
	switch v.Kind {
	case Number:
		if v.Int {
			return appendPyInt(dst, v.Num)
		}
		return appendPyFloat(dst, v.Num)
	case String:
		return appendPyStr(dst, v.Str)
	case Bool:
		return appendPyBool(dst, v.Bool)
	}
	return append(dst, "None"...)
}
