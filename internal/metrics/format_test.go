package metrics

import (
	"math"
	"testing"
)

func TestFormatNumber(t *testing.T) {
	tests := []struct {
		name string
		x    float64
		sig  int
		want string
	}{
		{"float noise", 0.1 + 0.2, 5, "0.3"},
		{"exponent below 1e-6", 1.23456e-7, 5, "1.2346e-07"},
		{"1e-7", 1e-7, 5, "1e-07"},
		{"1e-6 stays plain", 1e-6, 5, "0.000001"},
		{"rounds up to 1e-6", 9.999999e-7, 5, "0.000001"},
		{"small", 0.000123456, 5, "0.00012346"},
		{"integer kept whole", 123456789, 5, "123456789"},
		{"integer part never rounded", 123456.7, 5, "123457"},
		{"fraction rounded", 1234.5678, 5, "1234.6"},
		{"negative zero", math.Copysign(0, -1), 5, "0"},
		{"zero", 0, 5, "0"},
		{"half", 0.5, 5, "0.5"},
		{"third", 1.0 / 3, 5, "0.33333"},
		{"negative third", -1.0 / 3, 3, "-0.333"},
		{"integer", 42, 5, "42"},
		{"million", 1e6, 5, "1000000"},
		{"just under 1e15", 999999999999999, 5, "999999999999999"},
		{"1e15", 1e15, 5, "1e+15"},
		{"rounds to 1e15", 999999999999999.9, 5, "1e+15"},
		{"large", 1.23456789e20, 5, "1.2346e+20"},
		{"rounds to integer", 0.999999, 5, "1"},
		{"negative", -2.5, 5, "-2.5"},
		{"tiny negative", -1.5e-9, 5, "-1.5e-09"},
		{"sig 0 means 5", 3.14159265, 0, "3.1416"},
		{"sig 1", 0.26, 1, "0.3"},
		{"sig capped at 17", 0.1, 40, "0.10000000000000001"},
		{"NaN", math.NaN(), 5, "NaN"},
		{"Inf", math.Inf(1), 5, "Inf"},
		{"-Inf", math.Inf(-1), 5, "-Inf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatNumber(tt.x, tt.sig); got != tt.want {
				t.Errorf("FormatNumber(%v, %d) = %q, want %q", tt.x, tt.sig, got, tt.want)
			}
		})
	}
}

func TestFormatChange(t *testing.T) {
	tests := []struct {
		name string
		x    float64
		want string
	}{
		{"positive", 0.012, "+0.012"},
		{"negative integer", -3, "-3"},
		{"zero", 0, "0"},
		{"negative zero", math.Copysign(0, -1), "0"},
		{"float noise", 0.1 + 0.2 - 0.0, "+0.3"},
		{"tiny", 1e-7, "+1e-07"},
		{"large", 123456789, "+123456789"},
		{"third", -1.0 / 3, "-0.33333"},
		{"half", 0.5, "+0.5"},
		{"Inf", math.Inf(1), "+Inf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatChange(tt.x, 5); got != tt.want {
				t.Errorf("FormatChange(%v, 5) = %q, want %q", tt.x, got, tt.want)
			}
		})
	}
}

func TestFormatPercent(t *testing.T) {
	tests := []struct {
		name string
		p    float64
		want string
	}{
		{"positive", 1.234, "+1.2%"},
		{"negative small", -0.35, "-0.35%"},
		{"zero", 0, "0%"},
		{"negative zero", math.Copysign(0, -1), "0%"},
		{"whole", 50, "+50%"},
		{"integer digits kept", 123.4, "+123%"},
		{"rounds", 9.96, "+10%"},
		{"third", 100.0 / 3, "+33%"},
		{"float noise", (0.1 + 0.2) * 10, "+3%"},
		{"tiny", 1e-7, "+1e-07%"},
		{"half", -0.5, "-0.5%"},
		{"large", 123456789, "+123456789%"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatPercent(tt.p); got != tt.want {
				t.Errorf("FormatPercent(%v) = %q, want %q", tt.p, got, tt.want)
			}
		})
	}
}

// TestPython checks the Python formatting DVC's tables come from against
// what CPython 3 prints for the same values.
func TestPython(t *testing.T) {
	tenth := 0.1 // a variable: Go folds constant arithmetic exactly
	floats := []struct {
		x    float64
		want string // repr(x)
	}{
		{tenth + 2*tenth, "0.30000000000000004"},
		{123, "123.0"},
		{math.Copysign(0, -1), "-0.0"},
		{1e-4, "0.0001"},
		{1e-5, "1e-05"},
		{1.5e-5, "1.5e-05"},
		{1e15, "1000000000000000.0"},
		{1e16, "1e+16"},
		{1.2345678901234567e22, "1.2345678901234568e+22"},
		{-2.5, "-2.5"},
	}
	for _, tt := range floats {
		if got := string(appendPyFloat(nil, tt.x)); got != tt.want {
			t.Errorf("repr(%v) = %q, want %q", tt.x, got, tt.want)
		}
	}
	rounds := []struct {
		x    float64
		n    int
		want float64 // round(x, n)
	}{
		{2.675, 2, 2.67}, // 2.675 is 2.67499999… in binary
		{0.125, 2, 0.12}, // an exact tie goes to even
		{0.375, 2, 0.38},
		{-0.0000001, 5, math.Copysign(0, -1)},
		{123456.789123, 5, 123456.78912},
	}
	for _, tt := range rounds {
		got := pyRound(tt.x, tt.n)
		if got != tt.want || math.Signbit(got) != math.Signbit(tt.want) {
			t.Errorf("round(%v, %d) = %v, want %v", tt.x, tt.n, got, tt.want)
		}
	}
	strs := []struct{ s, want string }{
		{"adam", "'adam'"},
		{"it's", `"it's"`},
		{`a"b'c`, `'a"b\'c'`},
		{"back\\slash", `'back\\slash'`},
		{"tab\tnl\ncr\r", `'tab\tnl\ncr\r'`},
		{"\x00\x7f\u00a0", `'\x00\x7f\xa0'`},
		{"é ü 日本", "'é ü 日本'"},
		{"\u200b\U000e0001", `'\u200b\U000e0001'`},
	}
	for _, tt := range strs {
		if got := string(appendPyStr(nil, tt.s)); got != tt.want {
			t.Errorf("repr(%q) = %s, want %s", tt.s, got, tt.want)
		}
	}
}
