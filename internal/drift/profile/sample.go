package profile

import (
	"hash/fnv"
	"math"
	"slices"
)

// sampler keeps a uniform sample of k values without replacement by
// bottom-k sampling: each row gets a pseudo-random priority from the
// column's seed and the row's key, and the sample is the k values of
// lowest priority. Unlike a reservoir, which depends on the order values
// arrive in, the result depends only on which rows the table holds, so
// parts of a table sampled on different goroutines merge into exactly the
// sample one pass would draw, and the same file gives the same sample
// however many cores read it.
type sampler struct {
	k    int
	seed uint64
	// thr is a priority no kept value reaches: k values below it are
	// already held, here or in another part. Values at or above it are
	// dropped with one comparison, which is nearly all of them once the
	// first k·ln(n/k) have gone by.
	thr   uint64
	cands []candidate
}

type candidate struct {
	p uint64
	v float64
}

func newSampler(k int, seed uint64, name string) sampler {
	return sampler{k: k, seed: seedFor(seed, name), thr: math.MaxUint64}
}

func (s *sampler) add(key int64, v float64) {
	p := mix64(s.seed + uint64(key)*0x9e3779b97f4a7c15)
	if p >= s.thr {
		return
	}
	if s.cands == nil {
		// The candidates run up to 2k before each shrink: one
		// allocation rather than a doubling series of copies.
		s.cands = make([]candidate, 0, 2*s.k)
	}
	s.cands = append(s.cands, candidate{p, v})
	if len(s.cands) >= 2*s.k {
		s.shrink()
	}
}

// shrink keeps the k candidates of lowest priority and lowers thr to the
// highest of them.
func (s *sampler) shrink() {
	if len(s.cands) <= s.k {
		return
	}
	selectLowest(s.cands, s.k)
	s.cands = s.cands[:s.k]
	top := s.cands[0].p
	for _, c := range s.cands[1:] {
		top = max(top, c.p)
	}
	s.thr = top
}

// merge takes in the candidates of a sample of other rows of the table.
func (s *sampler) merge(o *sampler) {
	s.thr = min(s.thr, o.thr)
	for _, c := range o.cands {
		if c.p < s.thr {
			s.cands = append(s.cands, c)
		}
	}
	if len(s.cands) >= 2*s.k {
		s.shrink()
	}
}

// full reports whether k values are held, so thr bounds the final sample.
func (s *sampler) full() bool { return len(s.cands) >= s.k }

// values returns the sample, sorted.
func (s *sampler) values() []float64 {
	s.shrink()
	out := make([]float64, len(s.cands))
	for i, c := range s.cands {
		out[i] = c.v
	}
	slices.Sort(out)
	return out
}

func (s *sampler) reset() {
	s.thr = math.MaxUint64
	s.cands = s.cands[:0]
}

// selectLowest moves the k candidates of lowest priority (ties by value)
// to the front of c, in no particular order: Hoare's quickselect, linear
// on average, where sorting all 2k would cost a log factor more at every
// shrink.
func selectLowest(c []candidate, k int) {
	less := func(a, b candidate) bool { return a.p < b.p || a.p == b.p && a.v < b.v }
	lo, hi := 0, len(c)-1
	for lo < hi {
		// The median of three as pivot; priorities are hash values, so
		// no input makes this quadratic.
		mid := lo + (hi-lo)/2
		if less(c[mid], c[lo]) {
			c[mid], c[lo] = c[lo], c[mid]
		}
		if less(c[hi], c[lo]) {
			c[hi], c[lo] = c[lo], c[hi]
		}
		if less(c[hi], c[mid]) {
			c[hi], c[mid] = c[mid], c[hi]
		}
		pivot := c[mid]
		i, j := lo, hi
		for i <= j {
			for less(c[i], pivot) {
				i++
			}
			for less(pivot, c[j]) {
				j--
			}
			if i <= j {
				c[i], c[j] = c[j], c[i]
				i++
				j--
			}
		}
		switch {
		case k-1 <= j:
			hi = j
		case k-1 >= i:
			lo = i
		default:
			return
		}
	}
}

// mix64 is SplitMix64's finalizer: consecutive keys give priorities that
// pass for independent uniform draws.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// seedFor derives a column's sample seed from the profile's seed and the
// column's name, so columns are sampled independently and a column keeps
// its sample when others are added or dropped.
func seedFor(seed uint64, name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64() ^ seed
}

// moments are a count, mean and sum of squared deviations, merged with
// Chan et al.'s pairwise update so that parts combine without a second
// pass and without the cancellation of raw sums of squares.
type moments struct {
	n        int64
	mean, m2 float64
}

func (m *moments) merge(o moments) {
	if o.n == 0 {
		return
	}
	if m.n == 0 {
		*m = o
		return
	}
	n := m.n + o.n
	d := o.mean - m.mean
	m.mean += d * float64(o.n) / float64(n)
	m.m2 += o.m2 + d*d*float64(m.n)*float64(o.n)/float64(n)
	m.n = n
}

// shifted sums values less a shift (the first value), which keeps the
// sum of squares exact enough while costing no division per value; it is
// folded into moments once per batch.
type shifted struct {
	n             int64
	shift, s1, s2 float64
}

func (s *shifted) add(v float64) {
	if s.n == 0 {
		s.shift = v
	}
	d := v - s.shift
	s.n++
	s.s1 += d
	s.s2 += d * d
}

func (s *shifted) moments() moments {
	if s.n == 0 {
		return moments{}
	}
	n := float64(s.n)
	return moments{n: s.n, mean: s.shift + s.s1/n, m2: max(0, s.s2-s.s1*s.s1/n)}
}
