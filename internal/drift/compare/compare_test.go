package compare

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlci/mlci/internal/drift/profile"
)

var update = flag.Bool("update", false, "rewrite golden files")

var abcd = []string{"a", "b", "c", "d"}

// TestMillionRowsTrivialShiftDoesNotDrift is the reason for the two-part
// rule: at a million rows every shift is significant, and only the ones
// with an effect worth acting on drift.
func TestMillionRowsTrivialShiftDoesNotDrift(t *testing.T) {
	if testing.Short() {
		t.Skip("a million rows")
	}
	const rows = 1_000_000
	p := []float64{.4, .3, .2, .1}
	ref := []genColumn{
		{"x_same", normal(0, 1)},
		{"x_trivial", normal(0, 1)},
		{"x_real", normal(0, 1)},
		{"x_scale", normal(0, 1)},
		{"c_same", categories(p, abcd...)},
		{"c_trivial", categories(p, abcd...)},
		{"c_real", categories(p, abcd...)},
		{"b_real", boolean(.3)},
		{"pred", normal(0, 1)},
	}
	cur := slices.Clone(ref)
	cur[1].gen = normal(0.02, 1)
	cur[2].gen = normal(0.5, 1)
	cur[3].gen = normal(0, 2)
	cur[5].gen = categories([]float64{.39, .31, .2, .1}, abcd...)
	cur[6].gen = categories([]float64{.1, .2, .3, .4}, abcd...)
	cur[7].gen = boolean(.6)
	opts := profile.DefaultOptions()
	opts.Prediction = "pred"
	rp := build(t, rows, 1, ref, opts)
	opts.Reference = rp
	cp := build(t, rows, 2, cur, opts)
	rep, err := Compare(rp, cp, DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	var drifted []string
	for _, c := range rep.Columns {
		if c.Drifted {
			drifted = append(drifted, c.Name)
		}
		if c.Name == "c_trivial" && *c.Q > rep.Rules.Alpha {
			t.Errorf("c_trivial: q = %v; a 1-point shift over a million rows should be significant, and stopped by its effect size", *c.Q)
		}
	}
	if diff := cmp.Diff([]string{"x_real", "x_scale", "c_real", "b_real"}, drifted); diff != "" {
		t.Errorf("drifted columns (-want +got):\n%s\n%s", diff, rep.Markdown())
	}
	if !rep.Drift || rep.PredictionDrift || rep.Features != 8 || rep.Drifted != 4 {
		t.Errorf("verdict: %s", rep.Summary())
	}
}

// scenario is a small reference and current table with one column per
// finding the report can hold.
func scenario(t *testing.T) (*profile.Profile, *profile.Profile, Rules) {
	t.Helper()
	const rows = 2000
	ref := []genColumn{
		{"x_same", normal(10, 2)},
		{"x_shift", normal(10, 2)},
		{"x_warn", normal(0, 1)},
		{"const_same", constant(5)},
		{"const_moved", constant(5)},
		{"gone", normal(0, 1)},
		{"kind", normal(0, 1)},
		{"emptied", normal(0, 1)},
		{"was_empty", missing},
		{"holes", withMissing(.01, normal(0, 1))},
		{"c_mild", categories([]float64{.5, .5}, "x", "y")},
		{"c_psi", categories([]float64{.5, .5}, "x", "y")},
		{"c_new", categories([]float64{.6, .4}, "x", "y")},
		{"flag", boolean(.5)},
		{"skip", normal(0, 1)},
		{"label", boolean(.2)},
		{"score", normal(0, 1)},
	}
	cur := slices.Clone(ref)
	set := func(name string, gen genColumn) {
		i := slices.IndexFunc(cur, func(c genColumn) bool { return c.name == name })
		cur[i] = gen
	}
	set("x_shift", genColumn{"x_shift", normal(11, 2)})
	set("x_warn", genColumn{"x_warn", normal(1, 1)})
	set("const_moved", genColumn{"const_moved", constant(6)})
	set("kind", genColumn{"kind", text("n/a yet")})
	set("emptied", genColumn{"emptied", missing})
	set("was_empty", genColumn{"was_empty", normal(0, 1)})
	set("holes", genColumn{"holes", withMissing(.2, normal(0, 1))})
	set("c_mild", genColumn{"c_mild", categories([]float64{.42, .58}, "x", "y")})
	set("c_psi", genColumn{"c_psi", categories([]float64{.42, .58}, "x", "y")})
	set("c_new", genColumn{"c_new", categories([]float64{.3, .3, .4}, "x", "y", "z")})
	set("skip", genColumn{"skip", normal(5, 1)})
	set("score", genColumn{"score", normal(0.5, 1)})
	cur = slices.DeleteFunc(cur, func(c genColumn) bool { return c.name == "gone" || c.name == "label" })
	cur = append(cur, genColumn{"added", normal(0, 1)})
	opts := profile.Options{SampleSize: 1000, Target: "label", Prediction: "score"}
	rp := build(t, rows, 1, ref, opts)
	cp := build(t, rows, 2, cur, opts)
	rules := DefaultRules()
	psi := 0.01
	rules.Columns = map[string]ColumnRule{
		"x_warn": {WarnOnly: true},
		"c_psi":  {MaxPSI: &psi},
		"skip":   {Ignore: true},
		"typo":   {Ignore: true},
	}
	return rp, cp, rules
}

func TestFindings(t *testing.T) {
	rp, cp, rules := scenario(t)
	rep, err := Compare(rp, cp, rules)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		status  Status
		drifted bool
	}{
		"x_same":      {StatusOK, false},
		"x_shift":     {StatusDrift, true},
		"x_warn":      {StatusDrift, true},
		"const_same":  {StatusOK, false},
		"const_moved": {StatusDrift, true},
		"gone":        {StatusMissingColumn, true},
		"kind":        {StatusKindChanged, true},
		"emptied":     {StatusAllMissing, true},
		"was_empty":   {StatusAllMissing, true},
		"holes":       {StatusDrift, true},
		"c_mild":      {StatusOK, false},
		"c_psi":       {StatusDrift, true},
		"c_new":       {StatusDrift, true},
		"flag":        {StatusOK, false},
		"skip":        {StatusIgnored, false},
		"label":       {StatusMissingColumn, false},
		"score":       {StatusDrift, true},
		"added":       {StatusNewColumn, false},
	}
	if len(rep.Columns) != len(want) {
		t.Errorf("%d columns, want %d", len(rep.Columns), len(want))
	}
	for _, c := range rep.Columns {
		w, ok := want[c.Name]
		if !ok {
			t.Errorf("unexpected column %q", c.Name)
			continue
		}
		if c.Status != w.status || c.Drifted != w.drifted {
			t.Errorf("%s: status %s drifted %v (%s), want %s %v", c.Name, c.Status, c.Drifted, c.Reason, w.status, w.drifted)
		}
	}
	// Features: 17 columns less ignored, new, target and prediction; the
	// warn-only one drifts without counting.
	if rep.Features != 14 || rep.Drifted != 9 || !rep.Drift || !rep.PredictionDrift || rep.TargetDrift {
		t.Errorf("verdict: features %d drifted %d: %s", rep.Features, rep.Drifted, rep.Summary())
	}
	if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], `"typo"`) {
		t.Errorf("warnings %q", rep.Warnings)
	}
}

func TestMaxDriftedShare(t *testing.T) {
	rp, cp, rules := scenario(t)
	rules.MaxDriftedShare = 0.65
	rep, err := Compare(rp, cp, rules)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Drift {
		t.Errorf("%s, want no drift with 65%% allowed", rep.Summary())
	}
}

func TestGolden(t *testing.T) {
	rp, cp, rules := scenario(t)
	rep, err := Compare(rp, cp, rules)
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		t.Fatalf("report does not marshal (a NaN?): %v", err)
	}
	var table bytes.Buffer
	if err := rep.Table(&table); err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]string{
		"report.md":   rep.Markdown(),
		"report.txt":  table.String(),
		"report.json": string(js) + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name)
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", name, diff)
			}
		})
	}
}

func TestRulesRefused(t *testing.T) {
	rp, cp, _ := scenario(t)
	neg := -1.0
	tests := []struct {
		name  string
		edit  func(*Rules)
		error string
	}{
		{"alpha zero", func(r *Rules) { r.Alpha = 0 }, "alpha 0"},
		{"negative psi", func(r *Rules) { r.MinPSI = -1 }, "min_psi -1"},
		{"share one", func(r *Rules) { r.MaxDriftedShare = 1 }, "max_drifted_share 1"},
		{"column max psi", func(r *Rules) { r.Columns = map[string]ColumnRule{"x": {MaxPSI: &neg}} }, `column "x": max_psi -1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := DefaultRules()
			tt.edit(&r)
			if _, err := Compare(rp, cp, r); err == nil || !strings.Contains(err.Error(), tt.error) {
				t.Errorf("error %v, want %q", err, tt.error)
			}
		})
	}
}

func TestCategoryCounts(t *testing.T) {
	cats := func(other int64, kv ...any) *profile.Categorical {
		c := &profile.Categorical{Other: other}
		for i := 0; i < len(kv); i += 2 {
			c.Values = append(c.Values, profile.Category{Value: kv[i].(string), Count: int64(kv[i+1].(int))})
		}
		return c
	}
	tests := []struct {
		name     string
		ref, cur *profile.Categorical
		r, k     []float64
	}{
		{"same values", cats(0, "a", 5, "b", 3), cats(0, "b", 4, "a", 1), []float64{5, 3}, []float64{1, 4}},
		{"new value, complete reference", cats(0, "a", 5), cats(0, "a", 1, "z", 2), []float64{5, 0}, []float64{1, 2}},
		{"new value joins other when the reference has one", cats(7, "a", 5), cats(1, "a", 1, "z", 2), []float64{5, 7}, []float64{1, 3}},
		{"value gone", cats(0, "a", 5, "b", 1), cats(0, "a", 3), []float64{5, 1}, []float64{3, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, k := categoryCounts(tt.ref, tt.cur)
			if diff := cmp.Diff([][]float64{tt.r, tt.k}, [][]float64{r, k}); diff != "" {
				t.Errorf("counts (-want +got):\n%s", diff)
			}
		})
	}
}
