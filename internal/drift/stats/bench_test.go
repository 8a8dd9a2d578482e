package stats

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func normalSample(rng *rand.Rand, n int, shift float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = rng.NormFloat64() + shift
	}
	return x
}

// BenchmarkKS2Samp1Mvs10k is a large reference column against one batch of
// production data, copying and sorting both each time.
func BenchmarkKS2Samp1Mvs10k(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	ref := normalSample(rng, 1_000_000, 0)
	cur := normalSample(rng, 10_000, 0.01)
	for b.Loop() {
		if _, err := KS2Samp(ref, cur, Auto); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKS2SampSorted1Mvs10k is the same with the reference sorted once,
// as a stored profile would be: the cost left is the batch's sort and the
// merge.
func BenchmarkKS2SampSorted1Mvs10k(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	ref := normalSample(rng, 1_000_000, 0)
	cur := normalSample(rng, 10_000, 0.01)
	slices.Sort(ref)
	for b.Loop() {
		c := slices.Clone(cur)
		slices.Sort(c)
		if _, err := KS2SampSorted(ref, c, Auto); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKS2SampExact10kvs9999 is the slowest exact case Auto picks.
func BenchmarkKS2SampExact10kvs9999(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	ref := normalSample(rng, 10_000, 0)
	cur := normalSample(rng, 9_999, 0.05)
	for b.Loop() {
		if _, err := KS2Samp(ref, cur, Auto); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChiSquare50(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	ref := make([]float64, 50)
	cur := make([]float64, 50)
	for i := range ref {
		ref[i] = float64(rng.IntN(1000) + 1)
		cur[i] = float64(rng.IntN(1000) + 1)
	}
	for b.Loop() {
		if _, err := ChiSquare(ref, cur); err != nil {
			b.Fatal(err)
		}
	}
}
