// Package profile summarizes a table, column by column, into a small
// versioned JSON document: the reference a later run's data is compared
// with to tell whether what a model sees has drifted.
package profile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"

	"github.com/mlci/mlci/internal/atomicfile"
)

// FormatVersion is the profile format this package writes. A reader
// refuses a newer one, since a field it does not know might change what
// the ones it knows mean; an older one is read as it is.
const FormatVersion = 1

// MaxFileSize bounds what Read accepts: a profile of the default sample
// size is about 200 KB per numeric column, so 64 MiB is some 300 such
// columns, and a file past it is not a profile this package wrote.
const MaxFileSize = 64 << 20

// Kind is what a column holds, inferred from its values.
type Kind string

const (
	// KindNumeric: every non-missing value is a finite number.
	KindNumeric Kind = "numeric"
	// KindBoolean: every non-missing value is a native boolean or one of the
	// literals true/false (any of true, True, TRUE). Columns of 0 and 1
	// stay KindNumeric: a 2 turning up later is then a shift a test sees,
	// rather than a change of kind.
	KindBoolean Kind = "boolean"
	// KindCategorical: anything else, numbers and text mixed included.
	KindCategorical Kind = "categorical"
	// KindEmpty: no value at all; every cell is missing.
	KindEmpty Kind = "empty"
)

// Role marks the columns a model reads or writes rather than a feature.
type Role string

const (
	Feature    Role = ""
	Target     Role = "target"
	Prediction Role = "prediction"
)

// Profile is one dataset's summary.
type Profile struct {
	FormatVersion int   `json:"format_version"`
	Rows          int64 `json:"rows"`
	// SampleSize and TopK are the limits the profile was built with;
	// Seed, with each column's name, seeds that column's sample.
	SampleSize int      `json:"sample_size"`
	TopK       int      `json:"top_k"`
	Seed       uint64   `json:"seed"`
	Columns    []Column `json:"columns"`
}

// Column summarizes one column; exactly the field its Kind names is set
// (none for KindEmpty).
type Column struct {
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	Role Role   `json:"role,omitempty"`
	// Count is the non-missing values; Count + Missing is Profile.Rows.
	Count       int64        `json:"count"`
	Missing     int64        `json:"missing"`
	Numeric     *Numeric     `json:"numeric,omitempty"`
	Categorical *Categorical `json:"categorical,omitempty"`
	Boolean     *Boolean     `json:"boolean,omitempty"`
}

// MissingRate is the share of rows without a value; 0 for no rows.
func (c *Column) MissingRate() float64 {
	if n := c.Count + c.Missing; n > 0 {
		return float64(c.Missing) / float64(n)
	}
	return 0
}

// Numeric summarizes a numeric column.
type Numeric struct {
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
	// Std is the population standard deviation (ddof 0), the scale
	// stats.NormalizedWasserstein1 divides by.
	Std float64 `json:"std"`
	// Sample is a uniform sample of the values without replacement, in
	// ascending order; every value when there are at most SampleSize.
	Sample []float64 `json:"sample"`
	Bins   Bins      `json:"bins"`
}

// Bins is a histogram for the population stability index. Edges are
// ascending inner edges: bin i holds the values v with
// Edges[i-1] < v <= Edges[i], the first bin everything up to Edges[0] and
// the last everything above the last edge.
type Bins struct {
	Edges  []float64 `json:"edges"`
	Counts []int64   `json:"counts"`
	// Counted says what Counts counts: CountedSample (the column's
	// sample, in edges at its own deciles) or CountedRows (every value,
	// in edges taken from the reference profile given to Build).
	Counted string `json:"counted"`
}

const (
	CountedSample = "sample"
	CountedRows   = "rows"
)

// Categorical summarizes a categorical column.
type Categorical struct {
	// Values are the TopK most frequent values, by count then value,
	// and, in a profile built with a reference, the reference's values
	// besides; Other counts the rest, values beyond TopK and beyond the
	// distinct values Build tracks alike.
	Values []Category `json:"values"`
	Other  int64      `json:"other"`
	// Distinct is the number of distinct values seen, a lower bound when
	// there were more than Build tracks.
	Distinct int `json:"distinct"`
}

// Category is one value of a categorical column and its count.
type Category struct {
	Value string `json:"value"`
	Count int64  `json:"count"`
}

// Boolean summarizes a boolean column.
type Boolean struct {
	True  int64 `json:"true"`
	False int64 `json:"false"`
}

// Column returns the column called name, or nil.
func (p *Profile) Column(name string) *Column {
	for i := range p.Columns {
		if p.Columns[i].Name == name {
			return &p.Columns[i]
		}
	}
	return nil
}

// ErrNewerFormat is wrapped by Read for a profile written by a newer mlci.
var ErrNewerFormat = errors.New("newer profile format")

// Write stores p at path atomically: a reader sees the old profile or the
// new one, never a torn file.
func (p *Profile) Write(path string) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("write profile %s: %w", path, err)
	}
	data, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("write profile %s: %w", path, err)
	}
	if err := atomicfile.Write(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write profile %s: %w", path, err)
	}
	return nil
}

// Read loads and validates the profile at path.
func Read(path string) (*Profile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read profile: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read profile %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("read profile %s: larger than %d MiB; not a profile", path, MaxFileSize>>20)
	}
	p, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("read profile %s: %w", path, err)
	}
	return p, nil
}

// Parse decodes and validates a profile document.
func Parse(data []byte) (*Profile, error) {
	var head struct {
		FormatVersion *int `json:"format_version"`
	}
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&head); err != nil {
		return nil, fmt.Errorf("not a profile: %w", err)
	}
	switch {
	case head.FormatVersion == nil:
		return nil, errors.New("not a profile: no format_version")
	case *head.FormatVersion > FormatVersion:
		return nil, fmt.Errorf("profile format %d is newer than this mlci reads (%d); upgrade mlci: %w", *head.FormatVersion, FormatVersion, ErrNewerFormat)
	case *head.FormatVersion < 1:
		return nil, fmt.Errorf("profile format %d is not a version", *head.FormatVersion)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Profile
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	if dec.More() {
		return nil, errors.New("profile: data after the document")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Validate checks what Compare relies on, so a hand-edited or damaged
// profile fails here with a reason rather than later with a NaN.
func (p *Profile) Validate() error {
	if p.FormatVersion < 1 || p.FormatVersion > FormatVersion {
		return fmt.Errorf("profile: format version %d, want 1 to %d", p.FormatVersion, FormatVersion)
	}
	if p.Rows < 0 || p.SampleSize < 1 || p.TopK < 1 {
		return fmt.Errorf("profile: rows %d, sample size %d, top k %d: want rows >= 0 and limits >= 1", p.Rows, p.SampleSize, p.TopK)
	}
	seen := make(map[string]bool, len(p.Columns))
	for i := range p.Columns {
		c := &p.Columns[i]
		if seen[c.Name] {
			return fmt.Errorf("profile: column %q appears twice", c.Name)
		}
		seen[c.Name] = true
		if err := p.validateColumn(c); err != nil {
			return fmt.Errorf("profile: column %q: %w", c.Name, err)
		}
	}
	return nil
}

func (p *Profile) validateColumn(c *Column) error {
	if c.Count < 0 || c.Missing < 0 || c.Count+c.Missing != p.Rows {
		return fmt.Errorf("count %d + missing %d is not the %d rows", c.Count, c.Missing, p.Rows)
	}
	switch c.Role {
	case Feature, Target, Prediction:
	default:
		return fmt.Errorf("unknown role %q", c.Role)
	}
	set := 0
	for _, ok := range []bool{c.Numeric != nil, c.Categorical != nil, c.Boolean != nil} {
		if ok {
			set++
		}
	}
	want := 1
	if c.Kind == KindEmpty {
		want = 0
	}
	if set != want {
		return fmt.Errorf("kind %q with %d summaries", c.Kind, set)
	}
	switch c.Kind {
	case KindEmpty:
		if c.Count != 0 {
			return fmt.Errorf("kind empty with %d values", c.Count)
		}
	case KindNumeric:
		if c.Numeric == nil {
			return errors.New("numeric column without numeric summary")
		}
		return p.validateNumeric(c)
	case KindCategorical:
		if c.Categorical == nil {
			return errors.New("categorical column without categorical summary")
		}
		sum := c.Categorical.Other
		for _, v := range c.Categorical.Values {
			if v.Count <= 0 {
				return fmt.Errorf("category %q has count %d", v.Value, v.Count)
			}
			sum += v.Count
		}
		if c.Categorical.Other < 0 || sum != c.Count {
			return fmt.Errorf("category counts add up to %d, not the %d values", sum, c.Count)
		}
	case KindBoolean:
		if c.Boolean == nil {
			return errors.New("boolean column without boolean summary")
		}
		if b := c.Boolean; b.True < 0 || b.False < 0 || b.True+b.False != c.Count {
			return fmt.Errorf("true %d + false %d is not the %d values", b.True, b.False, c.Count)
		}
	default:
		return fmt.Errorf("unknown kind %q", c.Kind)
	}
	return nil
}

func (p *Profile) validateNumeric(c *Column) error {
	n := c.Numeric
	if c.Count == 0 || len(n.Sample) == 0 || int64(len(n.Sample)) > c.Count || len(n.Sample) > p.SampleSize {
		return fmt.Errorf("sample of %d for %d values and sample size %d", len(n.Sample), c.Count, p.SampleSize)
	}
	for _, v := range []float64{n.Min, n.Max, n.Mean, n.Std} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return errors.New("min, max, mean and std must be finite")
		}
	}
	for i, v := range n.Sample {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < n.Min || v > n.Max {
			return fmt.Errorf("sample value %v is not finite within [min, max]", v)
		}
		if i > 0 && v < n.Sample[i-1] {
			return errors.New("sample is not sorted")
		}
	}
	b := n.Bins
	if len(b.Counts) != len(b.Edges)+1 {
		return fmt.Errorf("%d bin counts for %d edges, want one more", len(b.Counts), len(b.Edges))
	}
	if !slices.IsSorted(b.Edges) || len(slices.Compact(slices.Clone(b.Edges))) != len(b.Edges) {
		return errors.New("bin edges are not strictly ascending")
	}
	for _, e := range b.Edges {
		if math.IsNaN(e) || math.IsInf(e, 0) {
			return errors.New("bin edges must be finite")
		}
	}
	var total int64
	for _, k := range b.Counts {
		if k < 0 {
			return errors.New("negative bin count")
		}
		total += k
	}
	switch b.Counted {
	case CountedSample:
		if total != int64(len(n.Sample)) {
			return fmt.Errorf("bins count %d sample values, the sample has %d", total, len(n.Sample))
		}
	case CountedRows:
		if total != c.Count {
			return fmt.Errorf("bins count %d values, the column has %d", total, c.Count)
		}
	default:
		return fmt.Errorf("bins counted %q, want %q or %q", b.Counted, CountedSample, CountedRows)
	}
	return nil
}
