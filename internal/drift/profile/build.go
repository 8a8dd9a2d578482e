package profile

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

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

	// partSize overrides the size of the parts a table is cut into, so
	// tests can cut small tables.
	partSize int64
}

// DefaultOptions returns the defaults; Build also fills zero limits
// with them.
func DefaultOptions() Options {
	return Options{SampleSize: DefaultSampleSize, TopK: DefaultTopK, Seed: DefaultSeed}
}

// Build reads r to the end and profiles it, holding per column a sample,
// counters and at most a bounded set of distinct values. A table that can
// be cut into parts (tabular.Splitter) is read on every core, each part
// summarized on its own and the summaries merged in table order, so the
// profile is the same however many cores read it.
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
	specs, err := selectColumns(names, opts)
	if err != nil {
		return nil, err
	}
	p := &Profile{FormatVersion: FormatVersion, SampleSize: opts.SampleSize, TopK: opts.TopK, Seed: opts.Seed}
	var total *table
	if s, ok := r.(tabular.Splitter); ok {
		size := opts.partSize
		if size == 0 {
			size = partSize
		}
		total, _ = buildParts(ctx, s, size, specs, opts)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("profile: %w", ctx.Err())
		}
		// Any other failure of the parts, a quoted line break or a
		// ragged row, is read again in one pass, which reads the first
		// and names the line of the second.
	}
	if total == nil {
		total = newTable(specs, opts)
		err = stream(ctx, r, func(b *tabular.Batch) { total.add(b) })
		if err != nil {
			return nil, fmt.Errorf("profile: %w", err)
		}
	}
	p.Rows = total.rows
	for _, c := range total.cols {
		p.Columns = append(p.Columns, c.finish(opts.TopK))
	}
	return p, nil
}

// partSize is how much of a file one part covers: small, because a part
// read before the merged sample holds its k values cannot drop any value
// and keeps them all as candidates, so the first parts' size is work
// spent on values the sample will not keep; large enough that the other
// per-part work (opening a reader, merging the distinct values) stays
// small against the rows.
const partSize = 1 << 20

// buildParts reads the parts of s on every core and merges their
// summaries in table order. It returns nil, and the caller reads the
// table in one pass, when s cannot be cut or a part fails.
func buildParts(ctx context.Context, s tabular.Splitter, size int64, specs []*spec, opts Options) (*table, error) {
	parts, err := s.Parts(size)
	if err != nil || len(parts) == 0 {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	workers := min(runtime.GOMAXPROCS(0), len(parts))
	// A part's summary waits for the ones before it to be merged; a
	// bounded pool of summaries bounds the memory of those waiting.
	free := make(chan *table, workers+2)
	for range cap(free) {
		free <- newTable(specs, opts)
	}
	type result struct {
		t   *table
		err error
	}
	results := make([]chan result, len(parts))
	for i := range results {
		results[i] = make(chan result, 1)
	}
	// hints carry each column's sample threshold from the merged summary
	// to the parts being read, so they drop what cannot make the sample.
	hints := make([]atomic.Uint64, len(specs))
	for i := range hints {
		hints[i].Store(math.MaxUint64)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var b tabular.Batch
			for {
				var t *table
				select {
				case t = <-free:
				case <-ctx.Done():
					return
				}
				// Claim a part only with a summary in hand, so every
				// claimed part can finish and the merge never waits on a
				// part that waits on the merge.
				i := int(next.Add(1)) - 1
				if i >= len(parts) {
					free <- t
					return
				}
				t.reset()
				t.hints = hints
				var err error
				if v, ok := parts[i].(tabular.Visitable); ok {
					err = v.Visit(t)
					t.flush()
				} else {
					for err == nil && ctx.Err() == nil {
						t.flush()
						if err = parts[i].Next(&b); err == nil {
							t.add(&b)
						}
					}
					if errors.Is(err, io.EOF) {
						err = nil
					}
				}
				results[i] <- result{t, err}
			}
		}()
	}
	// Workers waiting for a free summary end on the cancel.
	defer func() {
		cancel()
		wg.Wait()
	}()
	total := newTable(specs, opts)
	for i := range parts {
		var r result
		select {
		case r = <-results[i]:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if r.err != nil {
			return nil, r.err
		}
		total.merge(r.t)
		free <- r.t
		for j, c := range total.cols {
			if c.sample.full() {
				hints[j].Store(c.sample.thr)
			}
		}
	}
	return total, nil
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

// spec is what a column's summary needs to know and never changes: its
// place, role, and what the reference says to count.
type spec struct {
	name  string
	index int
	role  Role
	// edges are the reference's bins, when it has this column as
	// numeric; every value is counted in them.
	edges []float64
	// pinned are the reference's categories, always tracked.
	pinned map[string]bool
}

func selectColumns(names []string, opts Options) ([]*spec, error) {
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
	var specs []*spec
	for i, n := range names {
		if !keep[i] {
			continue
		}
		s := &spec{name: n, index: i}
		switch n {
		case opts.Target:
			s.role = Target
		case opts.Prediction:
			s.role = Prediction
		}
		if opts.Reference != nil {
			switch ref := opts.Reference.Column(n); {
			case ref == nil:
			case ref.Kind == KindNumeric:
				s.edges = ref.Numeric.Bins.Edges
			case ref.Kind == KindCategorical:
				s.pinned = make(map[string]bool, len(ref.Categorical.Values))
				for _, v := range ref.Categorical.Values {
					s.pinned[v.Value] = true
				}
			}
		}
		specs = append(specs, s)
	}
	return specs, nil
}

// table is the summary of some rows of a table: a part's, or all of it.
// It takes rows a batch at a time (add) or, as a tabular.Visitor, a cell
// at a time.
type table struct {
	rows int64
	cols []*columnState
	// byIndex is cols by the column's place in the file; nil for the
	// columns not profiled.
	byIndex []*columnState
	// hints, for a part, are the merged summary's sample thresholds.
	hints []atomic.Uint64
	key   int64 // the current row's, for Cell
	// pending counts the rows since the last flush.
	pending int
}

// flushRows is how many rows a visited table takes between flushes of
// its running sums into the moments and of the hints into its samples.
const flushRows = tabular.BatchRows

func newTable(specs []*spec, opts Options) *table {
	t := &table{}
	for _, s := range specs {
		c := newColumnState(s, opts)
		t.cols = append(t.cols, c)
		for len(t.byIndex) <= s.index {
			t.byIndex = append(t.byIndex, nil)
		}
		t.byIndex[s.index] = c
	}
	return t
}

func (t *table) add(b *tabular.Batch) {
	keys := b.Keys
	if len(keys) != b.Len {
		keys = nil
	}
	for _, c := range t.cols {
		col := &b.Columns[c.spec.index]
		for i := 0; i < b.Len; i++ {
			key := t.rows + int64(i)
			if keys != nil {
				key = keys[i]
			}
			c.add(col.Kinds[i], key, col.Nums[i], col.Texts[i])
		}
		c.flush()
	}
	t.rows += int64(b.Len)
}

// Row and Cell make a table a tabular.Visitor.
func (t *table) Row(key int64) {
	if t.pending == flushRows {
		t.flush()
	}
	t.pending++
	t.key = key
	t.rows++
}

func (t *table) Cell(col int, kind tabular.Kind, num float64, text []byte) {
	if c := t.byIndex[col]; c != nil {
		c.add(kind, t.key, num, text)
	}
}

// flush folds running sums into moments and lowers each sample's
// threshold to the merged summary's.
func (t *table) flush() {
	for j, c := range t.cols {
		c.flush()
		if t.hints != nil {
			c.sample.thr = min(c.sample.thr, t.hints[j].Load())
		}
	}
	t.pending = 0
}

func (t *table) reset() {
	t.rows, t.pending = 0, 0
	for _, c := range t.cols {
		c.reset()
	}
}

// merge adds the summary of the rows that follow t's.
func (t *table) merge(o *table) {
	t.rows += o.rows
	for i, c := range t.cols {
		c.merge(o.cols[i])
	}
}

// columnState is one column's summary while the table streams by. Until
// the end it does not know the column's kind, so it keeps the numeric
// summary while every value has been a number, the boolean counts, and
// the distinct values, each dropped once it cannot be the answer.
type columnState struct {
	spec *spec

	missing             int64
	nums, bools, texts  int64 // cells of each kind; boolean literals count as bools
	boolTrue, boolFalse int64

	// Numeric summary (while texts == 0 && bools == 0).
	min, max  float64
	mom       moments
	batch     shifted
	sample    sampler
	refCounts []int64

	// Distinct values in the order first seen (so that merging, and
	// with it which values fall past the limits, does not depend on map
	// order): text (and boolean literals) by text, small non-negative
	// integers in an array, other numbers by value. untracked counts the
	// values that fell past the limits.
	textIdx   map[string]int32
	textNames []string
	textCount []int64
	small     []int64 // counts of the integers 0..smallInts-1
	smallSeen int     // how many of them are not zero
	numIdx    map[float64]int32
	numVals   []float64
	numCount  []int64
	untracked int64
	numGaveUp bool
}

// smallInts is how many small integers are counted in an array rather
// than a map: codes, counts and labels, the numeric columns a map would
// otherwise be asked about on every row.
const smallInts = 1024

func newColumnState(s *spec, opts Options) *columnState {
	c := &columnState{
		spec:    s,
		min:     math.Inf(1),
		max:     math.Inf(-1),
		sample:  newSampler(opts.SampleSize, opts.Seed, s.name),
		textIdx: map[string]int32{},
		numIdx:  map[float64]int32{},
	}
	if s.edges != nil {
		c.refCounts = make([]int64, len(s.edges)+1)
	}
	return c
}

func (c *columnState) reset() {
	s := c.spec
	sample, refCounts := c.sample, c.refCounts
	textIdx, numIdx := c.textIdx, c.numIdx
	clear(textIdx)
	clear(numIdx)
	sample.reset()
	*c = columnState{
		spec: s, min: math.Inf(1), max: math.Inf(-1), sample: sample,
		textIdx: textIdx, textNames: c.textNames[:0], textCount: c.textCount[:0],
		numIdx: numIdx, numVals: c.numVals[:0], numCount: c.numCount[:0], small: c.small,
	}
	clear(c.small)
	if refCounts != nil {
		clear(refCounts)
		c.refCounts = refCounts
	}
}

func (c *columnState) numericStill() bool { return c.texts == 0 && c.bools == 0 }

// add takes one cell; key is its row's.
func (c *columnState) add(kind tabular.Kind, key int64, num float64, text []byte) {
	switch kind {
	case tabular.Missing:
		c.missing++
	case tabular.Number:
		c.addNumber(key, num)
	case tabular.Bool:
		c.addBool(num != 0, nil)
	case tabular.Text:
		if t, ok := boolLiteral(text); ok {
			c.addBool(t, text)
		} else {
			c.addText(text)
		}
	}
}

// flush folds the running sums into the moments.
func (c *columnState) flush() {
	if c.batch.n > 0 {
		c.mom.merge(c.batch.moments())
		c.batch = shifted{}
	}
}

// addNumber takes a number. NaN and ±Inf count as missing: no sample or
// histogram can place them, and JSON cannot carry them.
func (c *columnState) addNumber(key int64, v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		c.missing++
		return
	}
	c.nums++
	if c.numericStill() {
		c.min = min(c.min, v)
		c.max = max(c.max, v)
		c.batch.add(v)
		c.sample.add(key, v)
		if c.refCounts != nil {
			c.refCounts[binOf(c.spec.edges, v)]++
		}
	}
	if c.numGaveUp && c.numericStill() {
		c.untracked++
		return
	}
	c.countNumber(v, 1)
}

// countNumber counts k occurrences of the number v among the distinct
// values, within the limits.
func (c *columnState) countNumber(v float64, k int64) {
	if v >= 0 && v < smallInts && v == math.Trunc(v) {
		if c.small == nil {
			c.small = make([]int64, smallInts)
		}
		i := int(v)
		if c.small[i] > 0 {
			c.small[i] += k
			return
		}
		if c.full() {
			c.untracked += k
			return
		}
		c.small[i] = k
		c.smallSeen++
		return
	}
	if i, ok := c.numIdx[v]; ok {
		c.numCount[i] += k
		return
	}
	if c.full() {
		c.untracked += k
		return
	}
	c.numIdx[v] = int32(len(c.numVals))
	c.numVals = append(c.numVals, v)
	c.numCount = append(c.numCount, k)
}

// distinct is how many values are tracked.
func (c *columnState) distinct() int { return len(c.textNames) + len(c.numVals) + c.smallSeen }

// full reports whether a new value would pass the limits. A column that
// is numeric so far tracks its distinct numbers only up to numericTrack
// and then gives up on them (see numericTrack); otherwise up to maxTrack
// values are tracked besides the reference's categories.
func (c *columnState) full() bool {
	if c.numericStill() {
		if c.distinct() >= numericTrack {
			c.giveUpNumbers()
			return true
		}
		return false
	}
	return c.distinct() >= maxTrack+len(c.spec.pinned)
}

// giveUpNumbers stops tracking a numeric column's distinct numbers: one
// with this many will almost surely never need them, and a map of them
// would be asked about on every row.
func (c *columnState) giveUpNumbers() {
	c.numGaveUp = true
	for _, k := range c.numCount {
		c.untracked += k
	}
	for _, k := range c.small {
		c.untracked += k
	}
	clear(c.numIdx)
	c.numVals, c.numCount = c.numVals[:0], c.numCount[:0]
	clear(c.small)
	c.smallSeen = 0
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
	c.countText(literal, 1)
}

func (c *columnState) addText(b []byte) {
	c.leaveNumeric()
	c.texts++
	c.countText(b, 1)
}

// countText counts k occurrences of the text b among the distinct values.
func (c *columnState) countText(b []byte, k int64) {
	// One lookup, which does not copy b, for the values already seen.
	if i, ok := c.textIdx[string(b)]; ok {
		c.textCount[i] += k
		return
	}
	if c.full() && !c.spec.pinned[string(b)] {
		c.untracked += k
		return
	}
	s := string(b)
	c.textIdx[s] = int32(len(c.textNames))
	c.textNames = append(c.textNames, s)
	c.textCount = append(c.textCount, k)
}

// leaveNumeric drops the numeric summary once a value that is not a
// number arrives.
func (c *columnState) leaveNumeric() {
	if c.numericStill() {
		c.sample.reset()
		c.refCounts = nil
		c.mom, c.batch = moments{}, shifted{}
	}
}

// merge adds the summary of rows that follow c's.
func (c *columnState) merge(o *columnState) {
	c.missing += o.missing
	c.nums += o.nums
	c.boolTrue += o.boolTrue
	c.boolFalse += o.boolFalse
	wasNumeric := c.numericStill()
	if !o.numericStill() {
		c.leaveNumeric()
	}
	c.bools += o.bools
	c.texts += o.texts
	if c.numericStill() {
		c.min = min(c.min, o.min)
		c.max = max(c.max, o.max)
		c.mom.merge(o.mom)
		c.sample.merge(&o.sample)
		for i, k := range o.refCounts {
			c.refCounts[i] += k
		}
	}
	for i, s := range o.textNames {
		c.countText([]byte(s), o.textCount[i])
	}
	if wasNumeric && c.numericStill() && (c.numGaveUp || o.numGaveUp) {
		if !c.numGaveUp {
			c.giveUpNumbers()
		}
		c.untracked += o.untracked
		for _, k := range o.numCount {
			c.untracked += k
		}
		for _, k := range o.small {
			c.untracked += k
		}
		return
	}
	c.untracked += o.untracked
	for v, k := range o.small {
		if k > 0 {
			c.countNumber(float64(v), k)
		}
	}
	for i, v := range o.numVals {
		c.countNumber(v, o.numCount[i])
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

// binOf is the bin of v: how many edges are below it. The reference has
// ten bins at most, where a linear scan beats a binary search's
// mispredicted branches.
func binOf(edges []float64, v float64) int {
	i := 0
	for _, e := range edges {
		if e < v {
			i++
		}
	}
	return i
}

func (c *columnState) finish(topK int) Column {
	col := Column{Name: c.spec.name, Role: c.spec.role, Missing: c.missing, Count: c.nums + c.bools + c.texts}
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
	n := &Numeric{Min: c.min, Max: c.max, Mean: c.mom.mean, Std: math.Sqrt(c.mom.m2 / float64(c.mom.n)), Sample: s}
	if c.refCounts != nil {
		n.Bins = Bins{Edges: c.spec.edges, Counts: c.refCounts, Counted: CountedRows}
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
	cats := make([]Category, 0, c.distinct())
	for i, v := range c.textNames {
		if k := c.textCount[i]; k > 0 {
			cats = append(cats, Category{Value: v, Count: k})
		}
	}
	for v, k := range c.small {
		if k > 0 {
			cats = append(cats, Category{Value: strconv.Itoa(v), Count: k})
		}
	}
	for i, v := range c.numVals {
		cats = append(cats, Category{Value: strconv.FormatFloat(v, 'g', -1, 64), Count: c.numCount[i]})
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
		if i < topK || c.spec.pinned[v.Value] {
			out.Values = append(out.Values, v)
		} else {
			out.Other += v.Count
		}
	}
	return out
}
