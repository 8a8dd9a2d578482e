package plots

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// checkNumber fails unless parseNumber agrees with strconv.ParseFloat of
// the trimmed text: the same bits, or both an error.
func checkNumber(t *testing.T, s string) {
	t.Helper()
	got, gotErr := parseNumber([]byte(s))
	want, wantErr := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if (gotErr != nil) != (wantErr != nil) || math.Float64bits(got) != math.Float64bits(want) {
		t.Errorf("parseNumber(%q) = %v (%#x), %v; strconv gives %v (%#x), %v",
			s, got, math.Float64bits(got), gotErr, want, math.Float64bits(want), wantErr)
	}
}

func TestParseNumber(t *testing.T) {
	for _, s := range []string{
		"0", "-0", "0.0", "-0.000000", "1", "-1", "0.1", "0.950000", "-0.123456", "123456.789012",
		"00012.50", "9007199254740992", "9007199254740993", "-9007199254740993", "0.9007199254740993",
		"1234567890123456789", "12345678901234567890", "0.0000000000000000000001", "1.00000000000000000000001",
		"0.1234567890123456789012", "0.00000000000000000000012", "4.9406564584124654e-324", "1e400",
		"1.", ".5", "-.5", "+1", "-", "", ".", "1.2.3", "1-2", " 1.5", "1.5 ", "\t-2\n", "1_000", "0x1p-2",
		"inf", "-Inf", "NaN", "1e5", "1E-5", "١", "1,5", "--1", "0.5\x00",
	} {
		checkNumber(t, s)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		checkNumber(t, randomDecimal(rng))
	}
}

// randomDecimal writes numbers of the shape logs hold, with lengths on
// either side of the fast path's limits.
func randomDecimal(rng *rand.Rand) string {
	var b []byte
	if rng.IntN(2) == 0 {
		b = append(b, '-')
	}
	for range 1 + rng.IntN(12) {
		b = append(b, byte('0'+rng.IntN(10)))
	}
	if rng.IntN(5) > 0 {
		b = append(b, '.')
		for range 1 + rng.IntN(24) {
			b = append(b, byte('0'+rng.IntN(10)))
		}
	}
	return string(b)
}

func FuzzParseNumber(f *testing.F) {
	for _, s := range []string{"0.950000", "-0", "9007199254740993", "0.1234567890123456789012", "1e5", " 2 "} {
		f.Add(s)
	}
	f.Fuzz(checkNumber)
}
