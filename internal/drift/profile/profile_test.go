package profile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mlci/mlci/internal/tabular"
)

var update = flag.Bool("update", false, "rewrite golden files")

func buildCSV(t *testing.T, content string, opts Options) *Profile {
	t.Helper()
	path := filepath.Join(t.TempDir(), "t.csv")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := tabular.Open(path, tabular.CSV)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p, err := Build(context.Background(), r, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("built profile does not validate: %v", err)
	}
	return p
}

func TestKindInference(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		kind   Kind
		count  int64
	}{
		{"numbers", []string{"1.5", "-2", "1e3", ""}, KindNumeric, 3},
		{"zero and one stay numeric", []string{"0", "1", "1", "0"}, KindNumeric, 4},
		{"boolean literals", []string{"true", "False", "TRUE", "NA"}, KindBoolean, 3},
		{"text", []string{"a", "b", "a", "null"}, KindCategorical, 3},
		{"numbers then text", []string{"1", "2", "x"}, KindCategorical, 3},
		{"booleans and numbers", []string{"true", "1"}, KindCategorical, 2},
		{"all missing", []string{"", "NA", "NaN"}, KindEmpty, 0},
		{"infinity counts as missing", []string{"1", "inf", "-Infinity"}, KindNumeric, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A second column keeps a row whose value is empty from being
			// an empty line, which CSV skips.
			p := buildCSV(t, "v,w\n"+strings.Join(tt.values, ",w\n")+",w\n", DefaultOptions())
			c := p.Columns[0]
			if c.Kind != tt.kind || c.Count != tt.count || c.Count+c.Missing != int64(len(tt.values)) {
				t.Errorf("kind %s count %d missing %d, want kind %s count %d", c.Kind, c.Count, c.Missing, tt.kind, tt.count)
			}
		})
	}
}

func TestMixedColumnCountsEveryValue(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("v\n")
	for i := 0; i < 3*numericTrack; i++ {
		fmt.Fprintf(&sb, "%d\n", i)
	}
	sb.WriteString("x\n1\n")
	p := buildCSV(t, sb.String(), DefaultOptions())
	c := p.Columns[0].Categorical
	if c == nil {
		t.Fatalf("kind %s, want categorical", p.Columns[0].Kind)
	}
	// The numbers before the text were past the numeric tracking limit,
	// so they are in Other; the two after it are counted by value.
	if c.Other != 3*numericTrack || len(c.Values) != 2 {
		t.Errorf("other %d, values %v", c.Other, c.Values)
	}
}

func TestCategoriesBounded(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("v\n")
	const n = maxTrack + 5000
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "c%d\n", i%(n-10))
	}
	p := buildCSV(t, sb.String(), Options{TopK: 5})
	c := p.Columns[0].Categorical
	if c.Distinct != maxTrack || len(c.Values) != 5 || c.Values[0].Count != 2 {
		t.Errorf("distinct %d, %d values, top %v", c.Distinct, len(c.Values), c.Values[0])
	}
}

func TestSampleIsUniformAndDeterministic(t *testing.T) {
	const n, k = 200_000, 2000
	draw := func(seed uint64, name string) []float64 {
		r := newSampler(k, seed, name)
		for i := 0; i < n; i++ {
			r.add(int64(i), float64(i))
		}
		return r.values()
	}
	a := draw(DefaultSeed, "x")
	if !slices.Equal(a, draw(DefaultSeed, "x")) {
		t.Fatal("same seed and data, different samples")
	}
	if slices.Equal(a, draw(DefaultSeed, "y")) || slices.Equal(a, draw(7, "x")) {
		t.Fatal("another column or seed, same sample")
	}
	if len(a) != k || len(slices.Compact(slices.Clone(a))) != k {
		t.Fatalf("%d values, want %d distinct", len(a), k)
	}
	// Kolmogorov–Smirnov distance from the uniform distribution on [0, n):
	// 1.63/sqrt(k) is its 1% critical value.
	d := 0.0
	for i, v := range a {
		f := v / n
		d = max(d, math.Abs(f-float64(i)/k), math.Abs(f-float64(i+1)/k))
	}
	if d > 1.63/math.Sqrt(k) {
		t.Errorf("sample is not uniform: D = %.4f", d)
	}
}

func TestReferenceBinsCountEveryRow(t *testing.T) {
	var ref, cur strings.Builder
	ref.WriteString("x,c\n")
	cur.WriteString("x,c\n")
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&ref, "%d,%c\n", i, 'a'+i%3)
		fmt.Fprintf(&cur, "%d,%c\n", i+500, 'a'+i%4)
	}
	rp := buildCSV(t, ref.String(), Options{SampleSize: 100, TopK: 2})
	cp := buildCSV(t, cur.String(), Options{SampleSize: 100, TopK: 1, Reference: rp})
	rb, cb := rp.Columns[0].Numeric.Bins, cp.Columns[0].Numeric.Bins
	if rb.Counted != CountedSample || cb.Counted != CountedRows || !slices.Equal(rb.Edges, cb.Edges) {
		t.Fatalf("reference bins %+v, current %+v", rb, cb)
	}
	if cb.Counts[len(cb.Counts)-1] < 500 {
		t.Errorf("the shifted half is not in the top bin: %v", cb.Counts)
	}
	// The reference's two categories are kept whatever TopK says.
	if got := len(cp.Columns[1].Categorical.Values); got != 2 {
		t.Errorf("%d categories, want the reference's 2 and top 1 overlapping", got)
	}
}

func TestOptionsSelectColumns(t *testing.T) {
	content := "a,b,y,pred\n1,x,0,0.5\n"
	p := buildCSV(t, content, Options{Include: []string{"a"}, Target: "y", Prediction: "pred", Exclude: []string{"b"}})
	var got []string
	for _, c := range p.Columns {
		got = append(got, c.Name+":"+string(c.Role))
	}
	if diff := cmp.Diff([]string{"a:", "y:target", "pred:prediction"}, got); diff != "" {
		t.Errorf("columns (-want +got):\n%s", diff)
	}
	r, err := tabular.Open(writeTemp(t, content), tabular.CSV)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := Build(context.Background(), r, Options{Include: []string{"nope"}}); err == nil {
		t.Error("an unknown included column was accepted")
	}
}

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "t.csv")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestGolden pins the document format: a change here is a format change
// and may need a new FormatVersion.
func TestGolden(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "small.csv"))
	if err != nil {
		t.Fatal(err)
	}
	p := buildCSV(t, string(in), Options{SampleSize: 8, TopK: 2, Target: "label"})
	out := filepath.Join(t.TempDir(), "p.json")
	if err := p.Write(out); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, got, "", "  "); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "small.profile.json")
	if *update {
		if err := os.WriteFile(golden, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), pretty.String()); diff != "" {
		t.Errorf("profile (-want +got):\n%s", diff)
	}
	back, err := Read(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, back); diff != "" {
		t.Errorf("read back (-wrote +read):\n%s", diff)
	}
}

func TestReadRefuses(t *testing.T) {
	valid, err := os.ReadFile(filepath.Join("testdata", "small.profile.json"))
	if err != nil {
		t.Fatal(err)
	}
	edit := func(old, new string) string {
		if !strings.Contains(string(valid), old) {
			t.Fatalf("golden has no %q", old)
		}
		return strings.Replace(string(valid), old, new, 1)
	}
	tests := []struct {
		name, doc, err string
	}{
		{"newer format", edit(`"format_version": 1`, `"format_version": 3`), "profile format 3 is newer than this mlci reads (1); upgrade mlci"},
		{"no version", `{"rows": 1}`, "no format_version"},
		{"unknown field", edit(`"rows":`, `"extra": 1, "rows":`), `unknown field "extra"`},
		{"rows do not add up", edit(`"rows": 12`, `"rows": 13`), "is not the 13 rows"},
		{"unknown kind", edit(`"kind": "boolean"`, `"kind": "date"`), "kind \"date\""},
		{"not json", "nope", "not a profile"},
		{"trailing data", string(valid) + "{}", "data after the document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "p.json")
			if err := os.WriteFile(path, []byte(tt.doc), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Read(path)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error %v, want %q", err, tt.err)
			}
		})
	}
	t.Run("newer format is ErrNewerFormat", func(t *testing.T) {
		if _, err := Parse([]byte(`{"format_version": 2}`)); !errors.Is(err, ErrNewerFormat) {
			t.Errorf("error %v", err)
		}
	})
	t.Run("too large", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "p.json")
		if err := os.WriteFile(path, make([]byte, MaxFileSize+1), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Read(path); err == nil || !strings.Contains(err.Error(), "larger than 64 MiB") {
			t.Fatalf("error %v", err)
		}
	})
}

// endless is a reader that never ends, to show Build stops when asked.
type endless struct{}

func (endless) Columns() []string { return []string{"x"} }
func (endless) Close() error      { return nil }
func (endless) Next(b *tabular.Batch) error {
	if len(b.Columns) == 0 {
		b.Columns = make([]tabular.Column, 1)
	}
	c := &b.Columns[0]
	c.Kinds, c.Nums, c.Texts = append(c.Kinds[:0], tabular.Number), append(c.Nums[:0], 1), append(c.Texts[:0], nil)
	b.Len = 1
	return nil
}

func TestBuildStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	go cancel()
	if _, err := Build(ctx, endless{}, DefaultOptions()); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

type failing struct{ endless }

func (failing) Next(*tabular.Batch) error { return errors.New("disk on fire") }

func TestBuildReturnsReadErrors(t *testing.T) {
	if _, err := Build(context.Background(), failing{}, DefaultOptions()); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("error %v", err)
	}
}

// oneByOne hides that a reader can be cut into parts.
type oneByOne struct{ tabular.Reader }

// TestPartsMergeToOnePass profiles one table read in parts, on one core
// and on several, and in one sequential pass: the profiles agree, the
// sample exactly (it is chosen by row, not by arrival), the moments to
// rounding (they are summed in another order).
func TestPartsMergeToOnePass(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("x,code,city,mixed,flag\n")
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 30_000 {
		mixed := strconv.Itoa(rng.IntN(5))
		if i%7919 == 0 {
			mixed = "n/a"
		}
		if i == 20_000 {
			mixed = "text"
		}
		fmt.Fprintf(&sb, "%.6f,%d,city%d,%s,%v\n", rng.NormFloat64()*3+1e4, rng.IntN(1500), rng.IntN(40), mixed, rng.IntN(3) == 0)
	}
	path := writeTemp(t, sb.String())
	ref := buildCSV(t, sb.String(), Options{})
	build := func(split bool, procs int) *Profile {
		t.Helper()
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		r, err := tabular.Open(path, tabular.CSV)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		opts := Options{Reference: ref, partSize: 64 << 10}
		if !split {
			r = oneByOne{r}
		}
		p, err := Build(context.Background(), r, opts)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	one := build(false, 2)
	for _, procs := range []int{1, 2, 5} {
		got := build(true, procs)
		if diff := cmp.Diff(one, got, cmpopts.EquateApprox(1e-12, 0)); diff != "" {
			t.Errorf("%d cores (-one pass +parts):\n%s", procs, diff)
		}
	}
	if one.Rows != 30_000 || one.Columns[0].Numeric == nil || len(one.Columns[0].Numeric.Sample) != DefaultSampleSize {
		t.Fatalf("profile of %d rows, column %+v", one.Rows, one.Columns[0])
	}
}

// TestPartsFallBackToOnePass: a quoted line break makes the parts give
// up, and the table is read in one pass, to the same profile.
func TestPartsFallBackToOnePass(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("x,note\n")
	for i := range 5000 {
		note := "plain"
		if i == 4000 {
			note = "\"two\nlines\""
		}
		fmt.Fprintf(&sb, "%d,%s\n", i, note)
	}
	path := writeTemp(t, sb.String())
	r, err := tabular.Open(path, tabular.CSV)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p, err := Build(context.Background(), r, Options{partSize: 1 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if p.Rows != 5000 || p.Columns[1].Categorical.Distinct != 2 {
		t.Fatalf("%d rows, note %+v", p.Rows, p.Columns[1].Categorical)
	}
}

// TestPartsRaggedRowNamesItsLine: the one-pass reread names the line.
func TestPartsRaggedRowNamesItsLine(t *testing.T) {
	content := "x,y\n" + strings.Repeat("1,2\n", 3000) + "3\n" + strings.Repeat("1,2\n", 10)
	path := writeTemp(t, content)
	r, err := tabular.Open(path, tabular.CSV)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_, err = Build(context.Background(), r, Options{partSize: 1 << 10})
	if err == nil || !strings.Contains(err.Error(), "line 3002 has 1 fields") {
		t.Fatalf("got %v", err)
	}
}
