package bootstrap

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/zeebo/blake3"
)

// Defaults for zero Options fields.
const (
	DefaultResamples  = 10000
	DefaultConfidence = 0.95
)

// maxResamples bounds Options.Resamples so a typo in a config fails with a
// message instead of an out-of-memory crash (each resample keeps 8 bytes);
// beyond about 10^5 the interval no longer changes visibly anyway.
const maxResamples = 100_000_000

// Options control Paired. The zero value is usable.
type Options struct {
	Resamples  int     // 0 = DefaultResamples
	Confidence float64 // 0 = DefaultConfidence; otherwise in (0, 1)
	Seed       uint64  // callers derive it from the commit id (SeedFrom) so CI results are reproducible
	Workers    int     // 0 = runtime.GOMAXPROCS(0); never changes the result
}

// Interval is the observed change and its bootstrap confidence interval.
type Interval struct {
	Delta      float64 // mean(head - base) on the examples as given
	Lo, Hi     float64 // percentile bounds at Confidence
	Resamples  int     // resamples actually used
	Confidence float64 // confidence actually used
	N          int     // number of paired examples
}

// SeedFrom derives a seed from a string such as a commit id: the first 8
// bytes of BLAKE3(s) as a little-endian uint64. Hashing (rather than parsing
// the hex) accepts any string and spreads similar inputs apart.
func SeedFrom(s string) uint64 {
	sum := blake3.Sum256([]byte(s))
	return binary.LittleEndian.Uint64(sum[:8])
}

// Paired returns the observed mean difference Delta = mean(head-base) and
// the percentile bootstrap interval of it.
//
// Each resample draws n of the paired differences d_i = head_i - base_i
// with replacement and takes their mean. Lo and Hi are the (1-c)/2 and
// (1+c)/2 quantiles of the sorted resample means m_0 <= ... <= m_{R-1} by
// linear interpolation between closest ranks (Hyndman-Fan type 7, the numpy
// and R default): for p, h = (R-1)p and q = m_⌊h⌋ + (h-⌊h⌋)(m_⌊h⌋+1 - m_⌊h⌋).
//
// The result is bit-for-bit reproducible for a given Seed whatever Workers
// is: resample r draws from its own generator seeded from (Seed, r), its sum
// is accumulated in a fixed order, and the means are sorted before use.
// Indices are drawn with Lemire's multiply-shift, (x*n)>>32 for a uniform
// 32-bit x, without its rejection step: each index then has probability
// ⌊2^32/n⌋/2^32 or ⌈2^32/n⌉/2^32, off from 1/n by less than n/2^32
// relative (2.3e-5 at n = 100,000), which moves the interval by far less
// than its own Monte Carlo noise. n must therefore be below 2^32.
//
// Cancelling ctx stops the work within a few milliseconds and returns
// ctx.Err().
func Paired(ctx context.Context, base, head []float64, o Options) (Interval, error) {
	o, err := o.withDefaults()
	if err != nil {
		return Interval{}, err
	}
	if len(base) != len(head) {
		return Interval{}, fmt.Errorf("bootstrap: %d base scores but %d head scores; pair them by id first (Pair)", len(base), len(head))
	}
	n := len(base)
	if n == 0 {
		return Interval{}, errors.New("bootstrap: no examples to compare; check that the score files are not empty")
	}
	if uint64(n) >= 1<<32 { // see the index mapping above
		return Interval{}, fmt.Errorf("bootstrap: %d examples is more than the 2^32-1 supported; subsample the evaluation set", n)
	}
	d := make([]float64, n) // precomputed once; the inner loop only loads
	var sum, maxAbs float64
	for i := range d {
		d[i] = head[i] - base[i]
		if math.IsNaN(d[i]) || math.IsInf(d[i], 0) {
			return Interval{}, fmt.Errorf("bootstrap: example %d: score difference %v - %v is not finite; scores must be finite numbers", i, head[i], base[i])
		}
		sum += d[i]
		maxAbs = max(maxAbs, math.Abs(d[i]))
	}
	// Below this bound no partial sum of n differences, in any resample,
	// can overflow to Inf and turn the quantiles into NaN.
	if maxAbs > math.MaxFloat64/float64(n) {
		return Interval{}, fmt.Errorf("bootstrap: score differences up to %g are too large to average over %d examples; rescale the scores", maxAbs, n)
	}
	if err := ctx.Err(); err != nil {
		return Interval{}, err
	}
	means := make([]float64, o.Resamples)
	if err := resampleAll(ctx, d, means, o.Seed, o.Workers); err != nil {
		return Interval{}, err
	}
	slices.Sort(means)
	alpha := (1 - o.Confidence) / 2
	return Interval{
		Delta:      sum / float64(n),
		Lo:         quantile(means, alpha),
		Hi:         quantile(means, 1-alpha),
		Resamples:  o.Resamples,
		Confidence: o.Confidence,
		N:          n,
	}, nil
}

func (o Options) withDefaults() (Options, error) {
	if o.Resamples == 0 {
		o.Resamples = DefaultResamples
	}
	if o.Confidence == 0 {
		o.Confidence = DefaultConfidence
	}
	if o.Workers == 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	switch {
	case o.Resamples < 0 || o.Resamples > maxResamples:
		return o, fmt.Errorf("bootstrap: resamples must be between 1 and %d, got %d", maxResamples, o.Resamples)
	case !(o.Confidence > 0 && o.Confidence < 1): // also rejects NaN
		return o, fmt.Errorf("bootstrap: confidence must be between 0 and 1 (e.g. 0.95), got %v", o.Confidence)
	case o.Workers < 0:
		return o, fmt.Errorf("bootstrap: workers must be positive, got %d", o.Workers)
	}
	return o, nil
}

// quantile is the type 7 quantile of sorted xs (see Paired).
func quantile(xs []float64, p float64) float64 {
	h := float64(len(xs)-1) * p
	i := int(h)
	if i >= len(xs)-1 {
		return xs[len(xs)-1]
	}
	lo, hi := xs[i], xs[i+1]
	q := lo + (h-float64(i))*(hi-lo)
	return min(max(q, lo), hi) // rounding must not step outside the bracket
}

// resampleAll fills means[r] with the mean of resample r. Workers take
// chunks of resamples from a shared counter, which balances load on a
// shared CI machine; which worker computes a resample does not matter since
// its value depends only on (seed, r).
func resampleAll(ctx context.Context, d, means []float64, seed uint64, workers int) error {
	// Chunks of about 2^22 draws (a few milliseconds) bound how long a
	// cancellation waits, without paying for a check per resample.
	chunk := max(1, min(256, (1<<22)/len(d)))
	chunks := (len(means) + chunk - 1) / chunk
	workers = min(workers, chunks)
	base := mix64(seed) // hashed once so nearby seeds give unrelated streams
	var next atomic.Int64
	var stopped atomic.Bool
	done := ctx.Done()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				c := int(next.Add(1) - 1)
				if c >= chunks || stopped.Load() {
					return
				}
				select {
				case <-done:
					stopped.Store(true)
					return
				default:
				}
				for r := c * chunk; r < min((c+1)*chunk, len(means)); r++ {
					means[r] = resampleMean(d, streamSeed(base, r))
				}
			}
		})
	}
	wg.Wait()
	if stopped.Load() {
		return ctx.Err()
	}
	return nil
}

// The generator is wyrand (Wang Yi's 64-bit-state generator, also used by
// the Go runtime): a Weyl sequence through a 128-bit multiply mix. Its state
// update is a single add, so consecutive draws do not wait on each other;
// that, not statistical strength beyond what resampling needs, is why it
// was chosen over math/rand/v2's PCG (128-bit state) for 10^9 draws.
const (
	wyInc = 0xa0761d6478bd642f
	wyMix = 0xe7037ed1a0b428db
)

// streamSeed gives resample r its own starting state. mix64 is a bijection,
// so distinct r never share a start; as Weyl sequences, two streams overlap
// only if their starts are within n*wyInc steps, which for 10^4 streams of
// 10^5 draws has probability about 10^-6.
func streamSeed(base uint64, r int) uint64 {
	return mix64(base + uint64(r)*0x9e3779b97f4a7c15)
}

// mix64 is the SplitMix64 finaliser (Stafford's Mix13).
func mix64(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// resampleMean returns the mean of len(d) draws from d with replacement.
// Each 64-bit output gives two 32-bit halves, each mapped to an index by
// multiply-shift; halving the generator work and keeping the loop short
// (so more loads are in flight) made it about 1.5x faster than one 64-bit
// output per draw. Four accumulators (draw k goes to k%4, a tail of
// len(d)%4 draws to s0, added as (s0+s1)+(s2+s3)) hide the floating-point
// add latency; the order is fixed, so results stay reproducible.
// len(d) must be below 2^32 so the 32x32-bit products fit in 64 bits.
func resampleMean(d []float64, state uint64) float64 {
	n := uint64(len(d))
	var s0, s1, s2, s3 float64
	k := len(d) &^ 3
	for i := 0; i < k; i += 4 {
		state += wyInc
		h, l := bits.Mul64(state, state^wyMix)
		r := h ^ l
		state += wyInc
		h, l = bits.Mul64(state, state^wyMix)
		q := h ^ l
		s0 += d[(r&0xffffffff*n)>>32]
		s1 += d[(r>>32*n)>>32]
		s2 += d[(q&0xffffffff*n)>>32]
		s3 += d[(q>>32*n)>>32]
	}
	for i := k; i < len(d); i++ {
		state += wyInc
		h, l := bits.Mul64(state, state^wyMix)
		s0 += d[((h^l)>>32*n)>>32]
	}
	return ((s0 + s1) + (s2 + s3)) / float64(len(d))
}
