package profile

import (
	"math"
	"math/rand/v2"
)

// reservoir keeps a uniform sample of k values from a stream of unknown
// length (Li's Algorithm L): after the first k it draws how many values to
// skip rather than a number per value, so a million-row column costs some
// k·ln(n/k) draws, not n. It is deterministic given its seed and the
// order of the values.
type reservoir struct {
	k    int
	s    []float64
	n    int64 // values seen
	next int64 // 1-based index of the next value to take once full
	w    float64
	rng  *rand.Rand
}

func newReservoir(k int, seed uint64, name string) reservoir {
	return reservoir{k: k, rng: rand.New(rand.NewPCG(seed, seedFor(seed, name)))}
}

// u is uniform on (0, 1], safe to take the logarithm of.
func (r *reservoir) u() float64 { return 1 - r.rng.Float64() }

func (r *reservoir) add(v float64) {
	if r.rng == nil {
		return
	}
	r.n++
	if len(r.s) < r.k {
		r.s = append(r.s, v)
		if len(r.s) == r.k {
			r.w = math.Exp(math.Log(r.u()) / float64(r.k))
			r.skip()
		}
		return
	}
	if r.n == r.next {
		r.s[r.rng.IntN(r.k)] = v
		r.w *= math.Exp(math.Log(r.u()) / float64(r.k))
		r.skip()
	}
}

func (r *reservoir) skip() {
	gap := math.Floor(math.Log(r.u()) / math.Log1p(-r.w))
	if gap > math.MaxInt64/4 || math.IsNaN(gap) {
		gap = math.MaxInt64 / 4
	}
	r.next = r.n + int64(gap) + 1
}

func (r *reservoir) values() []float64 { return r.s }
