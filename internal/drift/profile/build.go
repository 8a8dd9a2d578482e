package profile

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"slices"
	"strconv"

	"github.com/mlci/mlci/internal/tabular"
)

// Defaults for Options.
const (
	// DefaultSampleSize keeps the KS test's resolution near 0.01 in D and
	// a numeric column's profile near 200 KB.
	DefaultSampleSize = 10_000
	// DefaultTopK categories cover nearly every categorical feature a
	// model takes; the long tail is pooled into "other".
	DefaultTopK = 100
	// DefaultSeed is the seed unless one is given, so that profiling the
	// same file twice gives the same profile.
	DefaultSeed = 0x6d6c6369 // "mlci"
)

// Limits on the distinct values tracked per column, so memory depends on
// columns and not rows. A column that is numeric so far tracks its
// distinct numbers only up to numericTrack (enough for codes and small
// integers), in case text turns up later and it becomes categorical;
// past that, its numbers are counted in "other" should that happen.
const (
	maxTrack     = 10_000
	numericTrack = 1_000
)

// Options says which columns to profile and how.
type Options struct {
	// Include, when not empty, lists the columns to profile (the target
	// and prediction are added); Exclude drops columns.
	Include, Exclude []string
	// Target and Prediction name the columns with those roles.
	Target, Prediction string
	SampleSize         int
	TopK               int
	Seed               uint64
	// Reference, when set, is the profile this one will be compared with:
	// numeric columns are then counted, every value, in the reference's
	// bins, and the reference's categories are always counted, so the
	// comparison needs no estimate from the sample.
	Reference *Profile
}

// DefaultOptions returns the defaults; Build also fills zero limits
// with them.
func DefaultOptions() Options {
	return Options{SampleSize: DefaultSampleSize, TopK: DefaultTopK, Seed: DefaultSeed}
}

// Build reads r to the end and profiles it, holding per column a sample,
// counters and at most a bounded set of distinct values.
func Build(ctx context.Context, r tabular.Reader, opts Options) (*Profile, error) {
	if opts.SampleSize <= 0 {
		opts.SampleSize = DefaultSampleSize
	}
	if opts.TopK <= 0 {
		opts.TopK = DefaultTopK
	}
	if opts.Seed == 0 {
		opts.Seed = DefaultSeed
	}
	names := r.Columns()
	cols, err := selectColumns(names, opts)
	if err != nil {
		return nil, err
	}
	p := &Profile{FormatVersion: FormatVersion, SampleSize: opts.SampleSize, TopK: opts.TopK, Seed: opts.Seed}
	err = stream(ctx, r, func(b *tabular.Batch) {
		p.Rows += int64(b.Len)
		for _, c := range cols {
			c.addBatch(&b.Columns[c.index], b.Len)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	for _, c := range cols {
		p.Columns = append(p.Columns, c.finish(opts.TopK))
	}
	return p, nil
}

// inFlight is how many batches the reader may fill ahead of the summary.
const inFlight = 3

// stream hands fn every batch of r. Reading (parsing text, decoding
// pages) runs in its own goroutine, a few batches ahead, so parsing and
// summarizing take a core each: together they are about as fast as the
// slower of the two alone.
func stream(ctx context.Context, r tabular.Reader, fn func(*tabular.Batch)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	full := make(chan *tabular.Batch, inFlight)
	free := make(chan *tabular.Batch, inFlight)
	for range inFlight {
		free <- new(tabular.Batch)
	}
	done := make(chan error, 1)
	go func() {
		defer close(full)
		for {
			var b *tabular.Batch
			select {
			case b = <-free:
			case <-ctx.Done():
				done <- ctx.Err()
				return
			}
			// A batch's cells stay valid until it is passed to Next
			// again, which happens only once fn is done with it.
			err := r.Next(b)
			if errors.Is(err, io.EOF) {
				done <- nil
				return
			}
			if err != nil {
				done <- err
				return
			}
			full <- b
		}
	}()
	for b := range full {
		if ctx.Err() != nil {
			continue // drain, so the reader ends
		}
		fn(b)
		free <- b
	}
	if err := <-done; err != nil {
		return err
	}
	return ctx.Err()
}

func selectColumns(names []string, opts Options) ([]*columnState, error) {
	index := make(map[string]int, len(names))
	for i, n := range names {
		index[n] = i
	}
	keep := make([]bool, len(names))
	if len(opts.Include) == 0 {
		for i := range keep {
			keep[i] = true
		}
	}
	for _, n := range opts.Include {
		i, ok := index[n]
		if !ok {
			return nil, fmt.Errorf("profile: included column %q is not in the table", n)
		}
		keep[i] = true
	}
	for _, n := range []string{opts.Target, opts.Prediction} {
		if i, ok := index[n]; ok && n != "" {
			keep[i] = true
		}
	}
	for _, n := range opts.Exclude {
		if i, ok := index[n]; ok {
			keep[i] = false
		}
	}
	var cols []*columnState
	for i, n := range names {
		if !keep[i] {
			continue
		}
		c := newColumnState(n, i, opts)
		switch n {
		case opts.Target:
			c.role = Target
		case opts.Prediction:
			c.role = Prediction
		}
		cols = append(cols, c)
	}
	return cols, nil
}

// columnState is one column's summary while the table streams by. Until
// the end it does not know the column's kind, so it keeps the numeric
// summary while every value has been a number, the boolean counts, and
// the distinct values, each dropped once it cannot be the answer.
type columnState struct {
	name  string
	index int
	role  Role

	missing             int64
	nums, bools, texts  int64 // cells of each kind; boolean literals count as bools
	boolTrue, boolFalse int64

	// Numeric summary (while texts == 0 && bools == 0).
	min, max, mean, m2 float64
	sample             reservoir
	refEdges           []float64
	refCounts          []int64

	// Distinct values: text (and boolean literals) by text, numbers by
	// value; untracked counts the values that fell past the limits.
	textCats  map[string]int // index into textCount
	textCount []int64
	numCats   map[float64]int64
	untracked int64
	numGaveUp bool
	pinned    map[string]bool // the reference's categories, always kept
}

func newColumnState(name string, index int, opts Options) *columnState {
	c := &columnState{
		name: name, index: index,
		min: math.Inf(1), max: math.Inf(-1),
		sample:   newReservoir(opts.SampleSize, opts.Seed, name),
		textCats: map[string]int{},
		numCats:  map[float64]int64{},
	}
	if opts.Reference == nil {
		return c
	}
	ref := opts.Reference.Column(name)
	switch {
	case ref == nil:
	case ref.Kind == KindNumeric:
		c.refEdges = ref.Numeric.Bins.Edges
		c.refCounts = make([]int64, len(c.refEdges)+1)
	case ref.Kind == KindCategorical:
		c.pinned = make(map[string]bool, len(ref.Categorical.Values))
		for _, v := range ref.Categorical.Values {
			c.textCats[v.Value] = len(c.textCount)
			c.textCount = append(c.textCount, 0)
			c.pinned[v.Value] = true
		}
	}
	return c
}

func (c *columnState) numericStill() bool { return c.texts == 0 && c.bools == 0 }

func (c *columnState) addBatch(col *tabular.Column, n int) {
	for i := 0; i < n; i++ {
		switch col.Kinds[i] {
		case tabular.Missing:
			c.missing++
		case tabular.Number:
			c.addNumber(col.Nums[i])
		case tabular.Bool:
			c.addBool(col.Nums[i] != 0, nil)
		case tabular.Text:
			if t, ok := boolLiteral(col.Texts[i]); ok {
				c.addBool(t, col.Texts[i])
			} else {
				c.addText(col.Texts[i])
			}
		}
	}
}

// addNumber takes a number. NaN and ±Inf count as missing: no sample or
// histogram can place them, and JSON cannot carry them.
func (c *columnState) addNumber(v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		c.missing++
		return
	}
	c.nums++
	if c.numericStill() {
		c.min = min(c.min, v)
		c.max = max(c.max, v)
		d := v - c.mean
		c.mean += d / float64(c.nums)
		c.m2 += d * (v - c.mean)
		c.sample.add(v)
		if c.refCounts != nil {
			c.refCounts[binOf(c.refEdges, v)]++
		}
	}
	if c.numGaveUp && c.numericStill() {
		c.untracked++
		return
	}
	if k, ok := c.numCats[v]; ok {
		c.numCats[v] = k + 1
		return
	}
	limit := maxTrack + len(c.pinned) - len(c.textCats)
	if c.numericStill() {
		limit = numericTrack
	}
	if len(c.numCats) >= limit {
		if c.numericStill() {
			// A numeric column with many distinct values: stop paying
			// for a map it will almost surely never need.
			c.numGaveUp = true
			for _, k := range c.numCats {
				c.untracked += k
			}
			c.numCats = map[float64]int64{}
		}
		c.untracked++
		return
	}
	c.numCats[v] = 1
}

func (c *columnState) addBool(t bool, literal []byte) {
	c.leaveNumeric()
	c.bools++
	if t {
		c.boolTrue++
	} else {
		c.boolFalse++
	}
	if literal == nil {
		literal = []byte(strconv.FormatBool(t))
	}
	c.count(literal)
}

func (c *columnState) addText(b []byte) {
	c.leaveNumeric()
	c.texts++
	c.count(b)
}

func (c *columnState) count(b []byte) {
	// One lookup, which does not copy b, for the values already seen.
	if i, ok := c.textCats[string(b)]; ok {
		c.textCount[i]++
		return
	}
	if len(c.textCats)+len(c.numCats) >= maxTrack+len(c.pinned) {
		c.untracked++
		return
	}
	c.textCats[string(b)] = len(c.textCount)
	c.textCount = append(c.textCount, 1)
}

// leaveNumeric drops the numeric summary once a value that is not a
// number arrives.
func (c *columnState) leaveNumeric() {
	if c.numericStill() {
		c.sample = reservoir{}
		c.refEdges, c.refCounts = nil, nil
	}
}

// boolLiteral reads the literals a boolean column may hold as text.
func boolLiteral(b []byte) (value, ok bool) {
	switch string(b) {
	case "true", "True", "TRUE":
		return true, true
	case "false", "False", "FALSE":
		return false, true
	}
	return false, false
}

func binOf(edges []float64, v float64) int {
	i, _ := slices.BinarySearch(edges, v)
	return i
}

func (c *columnState) finish(topK int) Column {
	col := Column{Name: c.name, Role: c.role, Missing: c.missing, Count: c.nums + c.bools + c.texts}
	switch {
	case col.Count == 0:
		col.Kind = KindEmpty
	case c.numericStill():
		col.Kind = KindNumeric
		col.Numeric = c.finishNumeric()
	case c.nums == 0 && c.texts == 0:
		col.Kind = KindBoolean
		col.Boolean = &Boolean{True: c.boolTrue, False: c.boolFalse}
	default:
		col.Kind = KindCategorical
		col.Categorical = c.finishCategorical(topK)
	}
	return col
}

func (c *columnState) finishNumeric() *Numeric {
	s := c.sample.values()
	slices.Sort(s)
	n := &Numeric{Min: c.min, Max: c.max, Mean: c.mean, Std: math.Sqrt(c.m2 / float64(c.nums)), Sample: s}
	if c.refCounts != nil {
		n.Bins = Bins{Edges: c.refEdges, Counts: c.refCounts, Counted: CountedRows}
		return n
	}
	n.Bins = decileBins(s)
	return n
}

// decileBins puts edges at the sample's deciles, merging equal ones, so
// each bin holds about a tenth of the reference and PSI, which weighs
// every bin alike, sees shifts anywhere in the distribution.
func decileBins(sorted []float64) Bins {
	var edges []float64
	for q := 1; q < 10; q++ {
		e := sorted[(len(sorted)-1)*q/10]
		if len(edges) == 0 || e > edges[len(edges)-1] {
			edges = append(edges, e)
		}
	}
	counts := make([]int64, len(edges)+1)
	for _, v := range sorted {
		counts[binOf(edges, v)]++
	}
	return Bins{Edges: edges, Counts: counts, Counted: CountedSample}
}

func (c *columnState) finishCategorical(topK int) *Categorical {
	cats := make([]Category, 0, len(c.textCats)+len(c.numCats))
	for v, i := range c.textCats {
		if k := c.textCount[i]; k > 0 {
			cats = append(cats, Category{Value: v, Count: k})
		}
	}
	for v, k := range c.numCats {
		cats = append(cats, Category{Value: strconv.FormatFloat(v, 'g', -1, 64), Count: k})
	}
	// A number and a text of the same spelling ("1" from a CSV and 1 from
	// the numbers) are one category.
	slices.SortFunc(cats, func(a, b Category) int { return cmp.Compare(a.Value, b.Value) })
	merged := cats[:0]
	for _, v := range cats {
		if n := len(merged); n > 0 && merged[n-1].Value == v.Value {
			merged[n-1].Count += v.Count
			continue
		}
		merged = append(merged, v)
	}
	slices.SortStableFunc(merged, func(a, b Category) int { return cmp.Compare(b.Count, a.Count) })
	out := &Categorical{Distinct: len(merged), Other: c.untracked}
	for i, v := range merged {
		if i < topK || c.pinned[v.Value] {
			out.Values = append(out.Values, v)
		} else {
			out.Other += v.Count
		}
	}
	return out
}

// seedFor derives a column's sample seed from the profile's seed and the
// column's name, so columns are sampled independently and a column keeps
// its sample when others are added or dropped.
func seedFor(seed uint64, name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64() ^ seed
}
