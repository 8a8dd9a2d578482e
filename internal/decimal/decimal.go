// Package decimal reads the plain decimals that data files are mostly made
// of (-12.5, 0.000123) without a string and without strconv's general
// algorithm; everything else is left to strconv by the caller.
package decimal

import "encoding/binary"

// exactPow10 holds the powers of ten a float64 represents exactly.
var exactPow10 = [...]float64{
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
}

// Plain parses b when it is -?digits(.digits)? with at most 19 digits and
// at most 22 after the point; ok is false for anything else (spaces, a
// plus sign, exponents, inf, nan), which the caller gives to strconv.
//
// When the digits, read as one integer, fit in 53 bits, that integer and
// the power of ten are exact float64 values and one division, which IEEE
// 754 rounds correctly, gives the correctly rounded result strconv gives
// (Clinger's fast path, as strconv takes it itself): exact is set. Past 53
// bits the integer's conversion rounds too and the result is within one
// unit in the last place; a caller that needs strconv's bits then calls it.
func Plain(b []byte) (f float64, exact, ok bool) {
	i, neg := 0, false
	if len(b) > 0 && b[0] == '-' {
		i, neg = 1, true
	}
	var mant uint64
	start := i
	mant, i = digitsAt(b, i, mant)
	digits := i - start
	if digits == 0 {
		return 0, false, false
	}
	frac := 0
	if i < len(b) && b[i] == '.' {
		i++
		fracStart := i
		mant, i = digitsAt(b, i, mant)
		frac = i - fracStart
		digits += frac
		if frac == 0 {
			return 0, false, false
		}
	}
	// Nineteen digits cannot overflow a uint64.
	if i != len(b) || digits > 19 || frac >= len(exactPow10) {
		return 0, false, false
	}
	f = float64(mant) / exactPow10[frac]
	if neg {
		f = -f
	}
	return f, mant <= 1<<53, true
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
// multiplications rather than eight.
func parseEight(v uint64) uint64 {
	const mask = 0x000000FF000000FF
	const mul1 = 100 + 1_000_000<<32
	const mul2 = 1 + 10_000<<32
	v -= 0x3030303030303030
	v = v*10 + v>>8
	return ((v&mask)*mul1 + ((v>>16)&mask)*mul2) >> 32
}
