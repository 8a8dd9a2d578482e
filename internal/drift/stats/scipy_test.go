package stats

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// sampleSpec is a sample as testdata/gen.py describes it: stored values, or
// a generator both sides expand identically so large samples stay out of
// the JSON.
type sampleSpec struct {
	Values []float64 `json:"values"`
	Gen    string    `json:"gen"`
	Seed   uint64    `json:"seed"`
	N      int       `json:"n"`
	Lo     float64   `json:"lo"`
	Hi     float64   `json:"hi"`
	Floor  bool      `json:"floor"`
}

func (s sampleSpec) expand(t testing.TB) []float64 {
	t.Helper()
	if s.Gen == "" {
		return s.Values
	}
	us := make([]float64, s.N)
	switch s.Gen {
	case "lcg":
		// Knuth's MMIX LCG; the top 53 bits, centred, as gen.py's
		// lcg_uniform.
		state := s.Seed
		for i := range us {
			state = 6364136223846793005*state + 1442695040888963407
			us[i] = (float64(state>>11) + 0.5) / (1 << 53)
		}
	case "steps":
		for k := range us {
			us[k] = (float64(k) + 0.5) / float64(s.N)
		}
	default:
		t.Fatalf("unknown generator %q", s.Gen)
	}
	out := make([]float64, s.N)
	for i, u := range us {
		// float64(...) forbids a fused multiply-add, which Python never
		// does, so both sides round identically.
		out[i] = s.Lo + float64((s.Hi-s.Lo)*u)
		if s.Floor {
			out[i] = math.Floor(out[i])
		}
	}
	return out
}

type scipyCases struct {
	SciPyVersion string `json:"scipy_version"`
	KS           []struct {
		Name   string     `json:"name"`
		A      sampleSpec `json:"a"`
		B      sampleSpec `json:"b"`
		Method string     `json:"method"`
		D      float64    `json:"d"`
		P      float64    `json:"p"`
	} `json:"ks_2samp"`
	Chi2 []struct {
		Name string    `json:"name"`
		Ref  []float64 `json:"ref"`
		Cur  []float64 `json:"cur"`
		Stat float64   `json:"stat"`
		P    float64   `json:"p"`
		DOF  int       `json:"dof"`
	} `json:"chi2_contingency"`
	Wasserstein []struct {
		Name string     `json:"name"`
		A    sampleSpec `json:"a"`
		B    sampleSpec `json:"b"`
		W    float64    `json:"w"`
	} `json:"wasserstein_distance"`
	JS []struct {
		Name string    `json:"name"`
		P    []float64 `json:"p"`
		Q    []float64 `json:"q"`
		JS   float64   `json:"js"`
	} `json:"jensenshannon"`
	BH []struct {
		Name string    `json:"name"`
		P    []float64 `json:"p"`
		Q    []float64 `json:"q"`
	} `json:"benjamini_hochberg"`
}

func loadSciPy(t testing.TB) scipyCases {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "scipy_cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c scipyCases
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// Tolerances the SciPy comparison holds to.
const (
	pAbsTol   = 1e-6
	statRelTo = 1e-9
)

// relDiff is |got-want| relative to the larger magnitude, 0 when both are 0.
func relDiff(got, want float64) float64 {
	d := math.Abs(got - want)
	if d == 0 {
		return 0
	}
	return d / math.Max(math.Abs(got), math.Abs(want))
}

var methods = map[string]Method{"auto": Auto, "exact": Exact, "asymp": Asymptotic}

func TestKS2SampMatchesSciPy(t *testing.T) {
	c := loadSciPy(t)
	var maxP, maxD float64
	for _, tc := range c.KS {
		t.Run(tc.Name, func(t *testing.T) {
			m, ok := methods[tc.Method]
			if !ok {
				t.Fatalf("method %q", tc.Method)
			}
			got, err := KS2Samp(tc.A.expand(t), tc.B.expand(t), m)
			if err != nil {
				t.Fatal(err)
			}
			dp, dd := math.Abs(got.P-tc.P), relDiff(got.D, tc.D)
			maxP, maxD = max(maxP, dp), max(maxD, dd)
			t.Logf("%-32s D=%.6g go p=%.12g scipy p=%.12g |diff|=%.2g (%v)", tc.Name, got.D, got.P, tc.P, dp, got.Method)
			if dp > pAbsTol {
				t.Errorf("p = %.15g, SciPy %s says %.15g (|diff| %.3g)", got.P, c.SciPyVersion, tc.P, dp)
			}
			if dd > statRelTo {
				t.Errorf("D = %.17g, SciPy %s says %.17g", got.D, c.SciPyVersion, tc.D)
			}
		})
	}
	t.Logf("ks_2samp: %d cases, max |p diff| %.3g, max rel D diff %.3g", len(c.KS), maxP, maxD)
}

func TestChiSquareMatchesSciPy(t *testing.T) {
	c := loadSciPy(t)
	var maxP, maxS float64
	for _, tc := range c.Chi2 {
		t.Run(tc.Name, func(t *testing.T) {
			got, err := ChiSquare(tc.Ref, tc.Cur)
			if err != nil {
				t.Fatal(err)
			}
			dp, ds := math.Abs(got.P-tc.P), relDiff(got.Stat, tc.Stat)
			maxP, maxS = max(maxP, dp), max(maxS, ds)
			t.Logf("%-28s stat=%.6g go p=%.12g scipy p=%.12g |diff|=%.2g", tc.Name, got.Stat, got.P, tc.P, dp)
			if dp > pAbsTol || ds > statRelTo || got.DOF != tc.DOF {
				t.Errorf("got %+v, SciPy %s says stat %.17g p %.17g dof %d", got, c.SciPyVersion, tc.Stat, tc.P, tc.DOF)
			}
		})
	}
	t.Logf("chi2_contingency: %d cases, max |p diff| %.3g, max rel stat diff %.3g", len(c.Chi2), maxP, maxS)
}

func TestWasserstein1MatchesSciPy(t *testing.T) {
	c := loadSciPy(t)
	for _, tc := range c.Wasserstein {
		t.Run(tc.Name, func(t *testing.T) {
			got, err := Wasserstein1(tc.A.expand(t), tc.B.expand(t))
			if err != nil {
				t.Fatal(err)
			}
			if d := relDiff(got, tc.W); d > statRelTo {
				t.Errorf("W1 = %.17g, SciPy says %.17g (rel %.3g)", got, tc.W, d)
			}
		})
	}
}

func TestJensenShannonMatchesSciPy(t *testing.T) {
	c := loadSciPy(t)
	for _, tc := range c.JS {
		t.Run(tc.Name, func(t *testing.T) {
			got, err := JensenShannon(tc.P, tc.Q)
			if err != nil {
				t.Fatal(err)
			}
			if d := relDiff(got, tc.JS); d > statRelTo {
				t.Errorf("JS = %.17g, SciPy says %.17g (rel %.3g)", got, tc.JS, d)
			}
		})
	}
}

func TestBenjaminiHochbergMatchesReference(t *testing.T) {
	c := loadSciPy(t)
	for _, tc := range c.BH {
		t.Run(tc.Name, func(t *testing.T) {
			got, err := BenjaminiHochberg(tc.P)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.Q) {
				t.Fatalf("%d q-values, want %d", len(got), len(tc.Q))
			}
			for i := range got {
				if d := relDiff(got[i], tc.Q[i]); d > statRelTo {
					t.Errorf("q[%d] = %.17g, want %.17g", i, got[i], tc.Q[i])
				}
			}
		})
	}
}

func TestSciPyCasesCoverEnough(t *testing.T) {
	c := loadSciPy(t)
	n := len(c.KS) + len(c.Chi2) + len(c.Wasserstein) + len(c.JS) + len(c.BH)
	if n < 30 {
		t.Errorf("%d SciPy cases, want at least 30", n)
	}
	if c.SciPyVersion == "" {
		t.Error("scipy_cases.json records no SciPy version")
	}
}
