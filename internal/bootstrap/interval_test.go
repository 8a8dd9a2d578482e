package bootstrap

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// randomScores returns n base scores in [0,1) and head = base + shift + noise·N(0,1).
func randomScores(seed uint64, n int, shift, noise float64) (base, head []float64) {
	rng := rand.New(rand.NewPCG(seed, 0))
	base = make([]float64, n)
	head = make([]float64, n)
	for i := range base {
		base[i] = rng.Float64()
		head[i] = base[i] + shift + noise*rng.NormFloat64()
	}
	return base, head
}

func TestPaired(t *testing.T) {
	tests := []struct {
		name       string
		base, head []float64
		opts       Options
		check      func(t *testing.T, iv Interval)
	}{
		{"identical inputs", []float64{0.1, 0.5, 0.9, 1}, []float64{0.1, 0.5, 0.9, 1}, Options{Resamples: 500},
			func(t *testing.T, iv Interval) {
				if iv.Delta != 0 || iv.Lo != 0 || iv.Hi != 0 {
					t.Errorf("got %+v, want all zero", iv)
				}
			}},
		{"constant shift", func() []float64 { b, _ := randomScores(1, 1000, 0, 0); return b }(),
			func() []float64 { _, h := randomScores(1, 1000, 0.1, 0); return h }(), Options{Resamples: 500},
			func(t *testing.T, iv Interval) {
				for _, v := range []float64{iv.Delta, iv.Lo, iv.Hi} {
					if math.Abs(v-0.1) > 1e-12 {
						t.Errorf("got %+v, want Delta, Lo, Hi = 0.1", iv)
					}
				}
			}},
		{"clear improvement", func() []float64 { b, _ := randomScores(2, 500, 0, 0); return b }(),
			func() []float64 { _, h := randomScores(2, 500, 0.2, 0.3); return h }(), Options{},
			func(t *testing.T, iv Interval) {
				if !(iv.Lo > 0.1 && iv.Hi < 0.3) {
					t.Errorf("got [%v, %v], want an interval well above 0 around 0.2", iv.Lo, iv.Hi)
				}
			}},
		{"bool accuracies", []float64{1, 0, 1, 1, 0, 1, 0, 0, 1, 1}, []float64{1, 1, 1, 1, 0, 1, 1, 0, 1, 1}, Options{},
			func(t *testing.T, iv Interval) {
				// d has two 1s in ten, so every resample mean is k/10.
				if iv.Delta != 0.2 || iv.Lo != 0 || iv.Hi != 0.5 {
					t.Errorf("got %+v, want Delta 0.2 in [0, 0.5]", iv)
				}
			}},
		{"one example", []float64{0.5}, []float64{0.75}, Options{Resamples: 3},
			func(t *testing.T, iv Interval) {
				if diff := cmp.Diff(Interval{Delta: 0.25, Lo: 0.25, Hi: 0.25, Resamples: 3, Confidence: 0.95, N: 1}, iv); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			}},
		{"defaults filled in", []float64{0, 1, 0}, []float64{1, 1, 0}, Options{},
			func(t *testing.T, iv Interval) {
				if iv.Resamples != DefaultResamples || iv.Confidence != DefaultConfidence || iv.N != 3 {
					t.Errorf("got %+v, want defaults and N=3", iv)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iv, err := Paired(context.Background(), tt.base, tt.head, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			// The slack allows for rounding: Delta and the resample means are
			// sums in different orders, which differ in the last bits when
			// the interval has collapsed to a point.
			const slack = 1e-12
			if !(iv.Lo-slack <= iv.Delta && iv.Delta <= iv.Hi+slack) {
				t.Errorf("interval [%v, %v] does not contain Delta %v", iv.Lo, iv.Hi, iv.Delta)
			}
			tt.check(t, iv)
		})
	}
}

func TestPairedErrors(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name       string
		ctx        context.Context
		base, head []float64
		opts       Options
		want       string
	}{
		{"empty", context.Background(), nil, nil, Options{},
			"bootstrap: no examples to compare; check that the score files are not empty"},
		{"mismatched lengths", context.Background(), []float64{1, 2}, []float64{1}, Options{},
			"bootstrap: 2 base scores but 1 head scores; pair them by id first (Pair)"},
		{"NaN", context.Background(), []float64{1, math.NaN()}, []float64{1, 2}, Options{},
			"bootstrap: example 1: score difference 2 - NaN is not finite; scores must be finite numbers"},
		{"negative resamples", context.Background(), []float64{1}, []float64{1}, Options{Resamples: -1},
			"bootstrap: resamples must be between 1 and 100000000, got -1"},
		{"too many resamples", context.Background(), []float64{1}, []float64{1}, Options{Resamples: 100_000_001},
			"bootstrap: resamples must be between 1 and 100000000, got 100000001"},
		{"overflowing differences", context.Background(), []float64{0, 0, 0}, []float64{1e308, 1e308, 0}, Options{},
			"bootstrap: score differences up to 1e+308 are too large to average over 3 examples; rescale the scores"},
		{"confidence 1", context.Background(), []float64{1}, []float64{1}, Options{Confidence: 1},
			"bootstrap: confidence must be between 0 and 1 (e.g. 0.95), got 1"},
		{"confidence NaN", context.Background(), []float64{1}, []float64{1}, Options{Confidence: math.NaN()},
			"bootstrap: confidence must be between 0 and 1 (e.g. 0.95), got NaN"},
		{"negative workers", context.Background(), []float64{1}, []float64{1}, Options{Workers: -2},
			"bootstrap: workers must be positive, got -2"},
		{"canceled", canceled, []float64{1}, []float64{1}, Options{}, context.Canceled.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iv, err := Paired(tt.ctx, tt.base, tt.head, tt.opts)
			if err == nil {
				t.Fatalf("no error, got %+v", iv)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error\n got: %s\nwant: %s", got, tt.want)
			}
		})
	}
}

// TestPairedCancelMidway cancels while workers run and checks that they stop
// early with ctx.Err(): uncancelled, this would be 10^11 draws (minutes).
func TestPairedCancelMidway(t *testing.T) {
	base, head := randomScores(3, 100_000, 0, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Paired(ctx, base, head, Options{Resamples: 1_000_000, Workers: 2})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want context.DeadlineExceeded", err)
	}
	if took := time.Since(start); took > 10*time.Second { // generous: shared CI machines, -race
		t.Errorf("took %v to notice the cancellation", took)
	}
}

func TestPairedReproducible(t *testing.T) {
	base, head := randomScores(4, 1003, 0.01, 0.5) // odd n exercises the tail of the unrolled loop
	run := func(seed uint64, workers int) Interval {
		t.Helper()
		iv, err := Paired(context.Background(), base, head, Options{Resamples: 1001, Seed: seed, Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		return iv
	}
	want := run(SeedFrom("0123abc"), 1)
	for _, w := range []int{2, 7, 2000} {
		if diff := cmp.Diff(want, run(SeedFrom("0123abc"), w)); diff != "" {
			t.Errorf("Workers=%d differs from Workers=1 (-want +got):\n%s", w, diff)
		}
	}
	if other := run(SeedFrom("0123abd"), 2); other.Lo == want.Lo && other.Hi == want.Hi {
		t.Errorf("different seeds gave the same interval %+v", other)
	}
}

// TestPairedCoverage is a statistical sanity check: for differences drawn
// from N(0.05, 1), the 95% interval should cover 0.05 about 95% of the time.
// With 200 repetitions the standard error is about 1.5 points, so 90-99% is
// wide; the test is deterministic anyway since every draw is seeded.
func TestPairedCoverage(t *testing.T) {
	const (
		reps, n = 200, 2000
		mu      = 0.05
	)
	rng := rand.New(rand.NewPCG(5, 6))
	zero := make([]float64, n)
	d := make([]float64, n)
	covered := 0
	for r := range reps {
		for i := range d {
			d[i] = mu + rng.NormFloat64()
		}
		iv, err := Paired(context.Background(), zero, d, Options{Resamples: 1000, Seed: uint64(r)})
		if err != nil {
			t.Fatal(err)
		}
		if iv.Lo <= mu && mu <= iv.Hi {
			covered++
		}
	}
	if pct := 100 * float64(covered) / reps; pct < 90 || pct > 99 {
		t.Errorf("95%% interval covered the true mean in %.1f%% of %d repetitions, want 90-99%%", pct, reps)
	} else {
		t.Logf("coverage %.1f%%", pct)
	}
}

func TestQuantile(t *testing.T) {
	xs := []float64{1, 2, 3, 4, 5}
	tests := []struct {
		name string
		p    float64
		want float64
	}{
		{"min", 0, 1},
		{"max", 1, 5},
		{"median", 0.5, 3},
		{"between ranks", 0.1, 1.4}, // h = 0.4
		{"upper tail", 0.975, 4.9},  // h = 3.9
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := quantile(xs, tt.p); math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("quantile(%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func TestSeedFrom(t *testing.T) {
	// Pinned so a change of hash or byte order, which would silently change
	// every CI result, fails here.
	// BLAKE3("abc") starts 64 37 b3 ac 38 46 51 33.
	if got, want := SeedFrom("abc"), uint64(0x33514638acb33764); got != want {
		t.Fatalf("SeedFrom(\"abc\") = %#x, want %#x", got, want)
	}
	if SeedFrom("a") == SeedFrom("b") {
		t.Error("different strings gave the same seed")
	}
}

// TestResampleMeanUniform checks the index mapping: every example is drawn
// with frequency close to 1/n.
func TestResampleMeanUniform(t *testing.T) {
	const n, resamples = 7, 20000
	counts := make([]float64, n)
	for k := range n {
		d := make([]float64, n)
		d[k] = 1
		for r := range resamples {
			counts[k] += resampleMean(d, streamSeed(mix64(9), r))
		}
	}
	for k, c := range counts {
		if f := c / resamples; math.Abs(f-1.0/n) > 0.005 {
			t.Errorf("index %d drawn with frequency %.4f, want %.4f", k, f, 1.0/n)
		}
	}
}
