package tabular

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

func TestParseNumber(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"0", 0, true},
		{"-1.5", -1.5, true},
		{"1e3", 1000, true},
		{" 2.5 ", 2.5, true},
		{"+7", 7, true},
		{".5", 0.5, true},
		{"0x1p4", 16, true},
		{"1.", 1, true},
		{"abc", 0, false},
		{"1,5", 0, false},
		{"-", 0, false},
		{"12345678901234567890123", 12345678901234567890123, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := parseNumber([]byte(tt.in))
			if ok != tt.ok || (ok && got != tt.want) {
				t.Errorf("parseNumber(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestParseNumberAgreesWithStrconv checks the fast path: exact up to 15
// significant digits, within one ulp for the 17 digits of a float printed
// in full.
func TestParseNumberAgreesWithStrconv(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200_000; i++ {
		v := (r.Float64() - 0.5) * math.Pow(10, float64(r.IntN(12)-4))
		for _, s := range []string{strconv.FormatFloat(v, 'f', -1, 64), strconv.FormatFloat(v, 'f', 6, 64)} {
			want, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := parseNumber([]byte(s))
			if !ok {
				t.Fatalf("parseNumber(%q) failed", s)
			}
			digits := 0
			for _, c := range s {
				if c >= '0' && c <= '9' {
					digits++
				}
			}
			if got != want && (digits <= 15 || math.Abs(got-want) > ulp(want)) {
				t.Fatalf("parseNumber(%q) = %v, strconv %v", s, got, want)
			}
		}
	}
}

func ulp(x float64) float64 {
	return math.Nextafter(math.Abs(x), math.Inf(1)) - math.Abs(x)
}
