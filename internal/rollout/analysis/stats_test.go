package analysis

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/mlci/mlci/internal/config"
)

// TestRateDecisionTable holds each bound to values worked by hand. With
// 48 of 98 successes the adjusted proportion is 49/100 = 0.49 and its
// variance 0.49·0.51/100 = 0.002499; 58 of 98 gives 0.59 and 0.002419;
// 8 of 98 gives 0.09 and 0.000819.
func TestRateDecisionTable(t *testing.T) {
	amount := func(v float64) *config.Threshold { return &config.Threshold{Value: v} }
	tests := []struct {
		name           string
		bounds         rateBounds
		canary, stable Counts
		wantZ          float64
		want           Outcome
	}{
		// (0.49 − 0.4) / √0.002499 = 1.80036 > Φ⁻¹(0.95) = 1.64485.
		{name: "min: significantly above passes", bounds: rateBounds{Min: f(0.4), Confidence: 0.95},
			canary: Counts{48, 98}, wantZ: 1.80036, want: Pass},
		// The same z is short of Φ⁻¹(0.99) = 2.32635.
		{name: "min: not significant at 0.99 waits", bounds: rateBounds{Min: f(0.4), Confidence: 0.99},
			canary: Counts{48, 98}, wantZ: 1.80036, want: Inconclusive},
		{name: "max: significantly above fails", bounds: rateBounds{Max: f(0.4), Confidence: 0.95},
			canary: Counts{48, 98}, wantZ: -1.80036, want: Fail},
		// (0.49 − 0.59 + 0.05) / √(0.002499 + 0.002419) = −0.71298.
		{name: "max_drop: a drop within the noise waits", bounds: rateBounds{MaxDrop: amount(0.05), Confidence: 0.95},
			canary: Counts{48, 98}, stable: Counts{58, 98}, wantZ: -0.71298, want: Inconclusive},
		// (0.09 − 0.59 + 0.05) / √(0.000819 + 0.002419) = −7.90814.
		{name: "max_drop: a large drop fails", bounds: rateBounds{MaxDrop: amount(0.05), Confidence: 0.95},
			canary: Counts{8, 98}, stable: Counts{58, 98}, wantZ: -7.90814, want: Fail},
		// δ = 10% of 58/98 = 0.059184; 0.059184 / √(2·0.002419) = 0.85088.
		{name: "max_drop: percent of the stable rate", bounds: rateBounds{MaxDrop: &config.Threshold{Value: 10, Percent: true}, Confidence: 0.80},
			canary: Counts{58, 98}, stable: Counts{58, 98}, wantZ: 0.85088, want: Pass},
		// (0.09 + 0.05 − 0.49) / √(0.000819 + 0.002499) = −6.07617.
		{name: "max_rise: an error rate rising fails", bounds: rateBounds{MaxRise: amount(0.05), Confidence: 0.95},
			canary: Counts{48, 98}, stable: Counts{8, 98}, wantZ: -6.07617, want: Fail},
		// 0.2 / √(2·0.000819) = 4.94166.
		{name: "max_rise: an equal rate passes a wide margin", bounds: rateBounds{MaxRise: amount(0.2), Confidence: 0.95},
			canary: Counts{8, 98}, stable: Counts{8, 98}, wantZ: 4.94166, want: Pass},
		// 20 of 20 against 9900 of 10000 is no evidence: adjusted 21/22.
		{name: "max_drop: a perfect canary with little traffic waits", bounds: rateBounds{MaxDrop: amount(0.01), Confidence: 0.95},
			canary: Counts{20, 20}, stable: Counts{9900, 10000}, wantZ: -0.57083, want: Inconclusive},
		{name: "max_drop: zero margin never passes an equal canary", bounds: rateBounds{MaxDrop: amount(0), Confidence: 0.95},
			canary: Counts{9900, 10000}, stable: Counts{9900, 10000}, wantZ: 0, want: Inconclusive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checks := rateChecks(tt.bounds, tt.canary, tt.stable)
			if len(checks) != 1 {
				t.Fatalf("got %d checks, want 1", len(checks))
			}
			c := checks[0]
			if math.Abs(c.Z-tt.wantZ) > 5e-5 || c.Outcome != tt.want {
				t.Errorf("z = %.5f, %s; want %.5f, %s", c.Z, c.Outcome, tt.wantZ, tt.want)
			}
			if want := normalQuantile(tt.bounds.Confidence); c.ZCrit != want {
				t.Errorf("z* = %v; want %v", c.ZCrit, want)
			}
		})
	}
}

func TestCombine(t *testing.T) {
	tests := []struct {
		name string
		in   []Outcome
		want Outcome
	}{
		{name: "all pass", in: []Outcome{Pass, Pass}, want: Pass},
		{name: "one waits", in: []Outcome{Pass, Inconclusive}, want: Inconclusive},
		{name: "a fail beats a wait", in: []Outcome{Inconclusive, Fail, Pass}, want: Fail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var checks []Check
			for _, o := range tt.in {
				checks = append(checks, Check{Outcome: o})
			}
			if got := combine(checks); got != tt.want {
				t.Errorf("combine = %s; want %s", got, tt.want)
			}
		})
	}
}

func TestNormal(t *testing.T) {
	tests := []struct {
		name        string
		z, p        float64
		invertsOnly bool
	}{
		{name: "median", z: 0, p: 0.5},
		{name: "one-sided 0.95", z: 1.6448536269514722, p: 0.95},
		{name: "one-sided 0.99", z: 2.3263478740408408, p: 0.99},
		{name: "lower tail", z: -1.959963984540054, p: 0.025},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := normalCDF(tt.z); math.Abs(got-tt.p) > 1e-12 {
				t.Errorf("Φ(%v) = %v; want %v", tt.z, got, tt.p)
			}
			if got := normalQuantile(tt.p); math.Abs(got-tt.z) > 1e-9 {
				t.Errorf("Φ⁻¹(%v) = %v; want %v", tt.p, got, tt.z)
			}
		})
	}
}

// scipyScript recomputes z from the counts as the package doc states it,
// and Φ and Φ⁻¹ with scipy.stats.norm, independently of the Go code.
const scipyScript = `
import json, sys
from math import sqrt
from scipy.stats import norm
out = []
for c in json.load(sys.stdin):
    def adj(s, n):
        p = (s + 1) / (n + 2)
        return p, p * (1 - p) / (n + 2)
    pc, vc = adj(c["cs"], c["cn"])
    ps, vs = adj(c["ss"], c["sn"])
    d = c["delta"] / 100 * c["ss"] / c["sn"] if c["percent"] else c["delta"]
    z = (pc - ps + d) / sqrt(vc + vs)
    out.append({"z": z, "cdf": norm.cdf(z), "crit": norm.ppf(c["conf"])})
json.dump(out, sys.stdout)
`

// TestRateAgainstScipy checks the max_drop statistic, Φ and Φ⁻¹ against
// scipy over a grid of counts; it runs where /usr/bin/python3 has scipy
// (python3-scipy on Debian) and is skipped elsewhere.
func TestRateAgainstScipy(t *testing.T) {
	const python = "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		t.Skip("no /usr/bin/python3")
	}
	type tc struct {
		CS      float64 `json:"cs"`
		CN      float64 `json:"cn"`
		SS      float64 `json:"ss"`
		SN      float64 `json:"sn"`
		Delta   float64 `json:"delta"`
		Percent bool    `json:"percent"`
		Conf    float64 `json:"conf"`
	}
	var cases []tc
	for _, cn := range []float64{1, 10, 97, 1000, 123457} {
		for _, rate := range []float64{0, 0.013, 0.5, 0.98, 1} {
			for _, th := range []config.Threshold{{Value: 0.01}, {Value: 2.5, Percent: true}, {Value: 0}} {
				for _, conf := range []float64{0.8, 0.95, 0.999} {
					cases = append(cases, tc{CS: math.Round(cn * rate), CN: cn, SS: 9870, SN: 10000, Delta: th.Value, Percent: th.Percent, Conf: conf})
				}
			}
		}
	}
	in, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, "-c", scipyScript)
	cmd.Stdin = bytes.NewReader(in)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	outJSON, err := cmd.Output()
	switch {
	case err != nil && strings.Contains(stderr.String(), "No module named 'scipy'") && os.Getenv("CI") == "":
		t.Skip("/usr/bin/python3 has no scipy (apt-get install python3-scipy)")
	case err != nil:
		t.Fatalf("python: %v\n%s", err, stderr.String())
	}
	var want []struct{ Z, CDF, Crit float64 }
	if err := json.Unmarshal(outJSON, &want); err != nil || len(want) != len(cases) {
		t.Fatalf("python answered %d results (%v) for %d cases", len(want), err, len(cases))
	}
	for i, c := range cases {
		th := config.Threshold{Value: c.Delta, Percent: c.Percent}
		checks := rateChecks(rateBounds{MaxDrop: &th, Confidence: c.Conf}, Counts{c.CS, c.CN}, Counts{c.SS, c.SN})
		got, w := checks[0], want[i]
		name := fmt.Sprintf("%v/%v vs %v/%v, max_drop %v, confidence %v", c.CS, c.CN, c.SS, c.SN, th, c.Conf)
		if math.Abs(got.Z-w.Z) > 1e-9*math.Max(1, math.Abs(w.Z)) {
			t.Errorf("%s: z = %v; scipy's %v", name, got.Z, w.Z)
		}
		if cdf := normalCDF(got.Z); math.Abs(cdf-w.CDF) > 1e-12 {
			t.Errorf("%s: Φ(z) = %v; scipy's %v", name, cdf, w.CDF)
		}
		if math.Abs(got.ZCrit-w.Crit) > 1e-9 {
			t.Errorf("%s: z* = %v; scipy's %v", name, got.ZCrit, w.Crit)
		}
	}
}
