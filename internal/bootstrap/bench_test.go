package bootstrap

import (
	"context"
	"math/rand/v2"
	"testing"
)

// BenchmarkPaired100kx10k is the speed goal: 100,000 paired examples and
// 10,000 resamples (10^9 draws) in one op, on all GOMAXPROCS.
func BenchmarkPaired100kx10k(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := make([]float64, 100_000)
	head := make([]float64, len(base))
	for i := range base {
		base[i] = rng.Float64()
		head[i] = base[i] + rng.NormFloat64()*0.1
	}
	for b.Loop() {
		if _, err := Paired(context.Background(), base, head, Options{Resamples: 10_000, Seed: 42}); err != nil {
			b.Fatal(err)
		}
	}
}
