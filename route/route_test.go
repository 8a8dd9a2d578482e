package route

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"testing"
)

type vectorFile struct {
	SharesBP []int `json:"shares_bp"`
	Vectors  []struct {
		RolloutID  string  `json:"rollout_id"`
		Key        string  `json:"key"`
		KeyUTF8Hex *string `json:"key_utf8_hex"`
		Bucket     int     `json:"bucket"`
		OnCanary   []bool  `json:"on_canary"`
	} `json:"vectors"`
}

// The vectors come from testdata/gen_vectors.py (hashlib), so this checks the
// Go code against an implementation of the documented function, not itself.
func TestPublishedVectors(t *testing.T) {
	data, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var f vectorFile
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Vectors) < 10 || len(f.SharesBP) == 0 {
		t.Fatalf("vectors.json has %d vectors and %d shares; regenerate it", len(f.Vectors), len(f.SharesBP))
	}
	for _, v := range f.Vectors {
		name := fmt.Sprintf("%s/%.20q", v.RolloutID, v.Key)
		t.Run(name, func(t *testing.T) {
			if v.KeyUTF8Hex != nil && hex.EncodeToString([]byte(v.Key)) != *v.KeyUTF8Hex {
				t.Fatalf("key bytes %x, the vector says %s", v.Key, *v.KeyUTF8Hex)
			}
			if got := Bucket(v.RolloutID, v.Key); got != v.Bucket {
				t.Errorf("Bucket = %d, want %d", got, v.Bucket)
			}
			for i, bp := range f.SharesBP {
				s := Split{RolloutID: v.RolloutID, Stable: Version{Name: "stable"}, Canary: Version{Name: "canary"}, Basis: bp}
				got, err := s.Resolve(v.Key)
				if err != nil {
					t.Fatal(err)
				}
				if onCanary := got.Name == "canary"; onCanary != v.OnCanary[i] {
					t.Errorf("at %d bp: on canary = %v, want %v", bp, onCanary, v.OnCanary[i])
				}
			}
		})
	}
}

func TestResolve(t *testing.T) {
	stable := Version{Name: "v1.2.0", Digest: "sha256:aa"}
	canary := Version{Name: "v1.3.0", Digest: "sha256:bb"}
	id := RolloutID("digits", "production", "v1.3.0")
	tests := []struct {
		name    string
		split   Split
		key     string
		want    Version
		wantErr error
	}{
		{name: "empty key", split: Split{RolloutID: id, Stable: stable, Canary: canary, Basis: 2000}, key: "", wantErr: ErrEmptyKey},
		{name: "no canary", split: Split{RolloutID: id, Stable: stable, Basis: 2000}, key: "user-63", want: stable},
		{name: "zero share", split: Split{RolloutID: id, Stable: stable, Canary: canary}, key: "user-63", want: stable},
		{name: "bucket 282 at 5%", split: Split{RolloutID: id, Stable: stable, Canary: canary, Basis: 500}, key: "user-63", want: canary},
		{name: "bucket 1735 at 5%", split: Split{RolloutID: id, Stable: stable, Canary: canary, Basis: 500}, key: "user-15", want: stable},
		{name: "bucket 1735 at 20%", split: Split{RolloutID: id, Stable: stable, Canary: canary, Basis: 2000}, key: "user-15", want: canary},
		{name: "bucket 7872 at 100%", split: Split{RolloutID: id, Stable: stable, Canary: canary, Basis: 10000}, key: "user-1", want: canary},
		{name: "bucket 0 at one basis point", split: Split{RolloutID: id, Stable: stable, Canary: canary, Basis: 1}, key: "user-5610", want: canary},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.split.Resolve(tt.key)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("Resolve(%q) = %+v, want %+v", tt.key, got, tt.want)
			}
		})
	}
}

func TestResolveRefusesBasisAboveAll(t *testing.T) {
	s := Split{RolloutID: "m#s@v", Stable: Version{Name: "a"}, Canary: Version{Name: "b"}, Basis: Buckets + 1}
	if _, err := s.Resolve("user-1"); err == nil {
		t.Fatal("a basis above 10000 resolved")
	}
}

// Widening must only move keys from stable to canary: a user who saw the
// canary at 5 % and is sent back to stable at 20 % would see two versions.
func TestWideningIsMonotone(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	shares := []int{1, 500, 2000, 5000, 9999, 10000}
	id := RolloutID("digits", "production", "v1.3.0")
	for range 20000 {
		key := fmt.Sprintf("k%x", r.Uint64())
		was := false
		for _, bp := range shares {
			s := Split{RolloutID: id, Stable: Version{Name: "s"}, Canary: Version{Name: "c"}, Basis: bp}
			v, err := s.Resolve(key)
			if err != nil {
				t.Fatal(err)
			}
			on := v.Name == "c"
			if was && !on {
				t.Fatalf("key %q left the canary when the share widened to %d bp", key, bp)
			}
			was = on
		}
		if !was {
			t.Fatalf("key %q is not on the canary at 100 %%", key)
		}
	}
}

// The keys are fixed, so the fraction is too: the bound cannot flake.
func TestShareIsHonoured(t *testing.T) {
	const n = 100000
	id := RolloutID("digits", "production", "v1.3.0")
	for _, percent := range []float64{5, 20, 50} {
		t.Run(fmt.Sprint(percent), func(t *testing.T) {
			bp, err := BasisFromPercent(percent)
			if err != nil {
				t.Fatal(err)
			}
			on := 0
			for i := range n {
				if Bucket(id, fmt.Sprintf("user-%d", i)) < bp {
					on++
				}
			}
			got := float64(on) / n * 100
			// Within 1 % of the share, relative: 19.8 to 20.2 % at 20 %.
			if tol := percent / 100; got < percent-tol || got > percent+tol {
				t.Errorf("%.3f %% of %d keys on the canary, want %v ± %v", got, n, percent, tol)
			}
		})
	}
}

func TestBasisFromPercent(t *testing.T) {
	tests := []struct {
		name    string
		percent float64
		want    int
		wantErr bool
	}{
		{name: "five", percent: 5, want: 500},
		{name: "twenty", percent: 20, want: 2000},
		{name: "all", percent: 100, want: 10000},
		{name: "one basis point", percent: 0.01, want: 1},
		{name: "decimal not exact in binary", percent: 0.07, want: 7},
		{name: "zero", percent: 0, wantErr: true},
		{name: "negative", percent: -5, wantErr: true},
		{name: "above all", percent: 100.01, wantErr: true},
		{name: "finer than a basis point", percent: 12.345, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := BasisFromPercent(tt.percent)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrShare) {
				t.Errorf("err = %v, want ErrShare", err)
			}
			if got != tt.want {
				t.Errorf("BasisFromPercent(%v) = %d, want %d", tt.percent, got, tt.want)
			}
		})
	}
}

func TestParsePercent(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    int
		wantErr bool
	}{
		{name: "bare", in: "20", want: 2000},
		{name: "with sign", in: "20%", want: 2000},
		{name: "spaced", in: " 0.5 % ", want: 50},
		{name: "all", in: "100", want: 10000},
		{name: "empty", in: "", wantErr: true},
		{name: "word", in: "twenty", wantErr: true},
		{name: "not a number", in: "NaN", wantErr: true},
		{name: "infinite", in: "Inf", wantErr: true},
		{name: "zero", in: "0%", wantErr: true},
		{name: "too fine", in: "0.001", wantErr: true},
		{name: "hex float", in: "0x14", wantErr: true},
		{name: "digit separator", in: "2_0", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePercent(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ParsePercent(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestRolloutID(t *testing.T) {
	if got, want := RolloutID("digits", "production", "v1.3.0"), "digits#production@v1.3.0"; got != want {
		t.Errorf("RolloutID = %q, want %q", got, want)
	}
}

func TestResolveDoesNotAllocate(t *testing.T) {
	s := Split{RolloutID: RolloutID("digits", "production", "v1.3.0"), Stable: Version{Name: "a"}, Canary: Version{Name: "b"}, Basis: 2000}
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := s.Resolve("8f14e45f-ceea-467a-9575-bd1a4ee3b1b6"); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Resolve allocates %v times per call", allocs)
	}
}

func BenchmarkResolve(b *testing.B) {
	s := Split{
		RolloutID: RolloutID("digits", "production", "v1.3.0"),
		Stable:    Version{Name: "v1.2.0", Digest: "sha256:aa"},
		Canary:    Version{Name: "v1.3.0", Digest: "sha256:bb"},
		Basis:     2000,
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Resolve("8f14e45f-ceea-467a-9575-bd1a4ee3b1b6"); err != nil {
			b.Fatal(err)
		}
	}
}

// vectors.json must be what the generator prints, so that nobody edits the
// vectors by hand to match the code.
func TestVectorsMatchGenerator(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found")
	}
	out, err := exec.Command(py, "testdata/gen_vectors.py").Output()
	if err != nil {
		t.Fatalf("gen_vectors.py: %v", err)
	}
	want, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, want) {
		t.Error("testdata/vectors.json differs from what gen_vectors.py prints; run python3 testdata/gen_vectors.py > testdata/vectors.json")
	}
}
