package decimal

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

func TestPlain(t *testing.T) {
	tests := []struct {
		in        string
		ok, exact bool
	}{
		{"0", true, true}, {"-0", true, true}, {"12.5", true, true}, {"-0.000123", true, true},
		{"12345678.12345678", true, true}, {"0.123456789012345678", true, false},
		{"", false, false}, {"-", false, false}, {"1.", false, false}, {".5", false, false},
		{"+1", false, false}, {" 1", false, false}, {"1e5", false, false}, {"nan", false, false},
		{"12345678901234567890", false, false}, {"1.00000000000000000000001", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			f, exact, ok := Plain([]byte(tt.in))
			if ok != tt.ok || exact != tt.exact {
				t.Fatalf("Plain(%q) ok %v exact %v, want %v %v", tt.in, ok, exact, tt.ok, tt.exact)
			}
			if !ok {
				return
			}
			want, err := strconv.ParseFloat(tt.in, 64)
			if err != nil {
				t.Fatal(err)
			}
			if exact && math.Float64bits(f) != math.Float64bits(want) {
				t.Errorf("Plain(%q) = %v, strconv %v", tt.in, f, want)
			}
			if !exact && math.Abs(f-want) > math.Abs(want)*0x1p-52 {
				t.Errorf("Plain(%q) = %v, more than an ulp from %v", tt.in, f, want)
			}
		})
	}
}

// TestPlainMatchesStrconv: exact results are strconv's bits, on random
// decimals of every length.
func TestPlainMatchesStrconv(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		s := strconv.FormatFloat((rng.Float64()-0.5)*math.Pow(10, float64(rng.IntN(12)-4)), 'f', rng.IntN(18), 64)
		f, exact, ok := Plain([]byte(s))
		want, _ := strconv.ParseFloat(s, 64)
		if ok && exact && math.Float64bits(f) != math.Float64bits(want) {
			t.Fatalf("Plain(%q) = %v, strconv %v", s, f, want)
		}
	}
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
