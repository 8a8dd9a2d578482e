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

func TestParseEight(t *testing.T) {
	for _, s := range []string{"00000000", "12345678", "99999999", "10203040"} {
		b := []byte(s)
		v := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 | uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
		want, _ := strconv.ParseUint(s, 10, 64)
		if !eightDigits(v) || parseEight(v) != want {
			t.Errorf("%s: eightDigits %v, parseEight %d", s, eightDigits(v), parseEight(v))
		}
	}
	for _, s := range []string{"1234567a", "/2345678", ":2345678", "1234 678"} {
		b := []byte(s)
		v := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 | uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
		if eightDigits(v) {
			t.Errorf("%q taken for digits", s)
		}
	}
}
