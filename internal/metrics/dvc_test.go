package metrics

import (
	"bytes"
	"encoding/json"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The tests here hold mlci to DVC's answers: testdata/dvc/cases.json has
// inputs and expected outputs taken from DVC's own tests, derived.json
// those that derive.py got by running DVC's code (see the README there).

type dvcShow struct {
	Name, Source, Kind, Path, Content string
	Want                              map[string]json.RawMessage
}

type dvcDiff struct {
	Name, Source, Kind string
	All                bool
	Old, New           map[string]string
	// Want is DVC's diff: path, metric, then "old", "new" and "diff".
	Want  map[string]map[string]map[string]json.RawMessage
	Table [][]string // the cells dvc metrics/params diff prints
}

type dvcFormat struct {
	Source, Kind, Value string
	Precision           *int
	Want                string
}

type dvcCases struct {
	Show   []dvcShow
	Diff   []dvcDiff
	Format []dvcFormat
}

func loadDVC(t *testing.T) dvcCases {
	t.Helper()
	var all dvcCases
	for _, name := range []string{"cases.json", "derived.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", "dvc", name))
		if err != nil {
			t.Fatal(err)
		}
		var c dvcCases
		if err := json.Unmarshal(data, &c); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		all.Show = append(all.Show, c.Show...)
		all.Diff = append(all.Diff, c.Diff...)
		all.Format = append(all.Format, c.Format...)
	}
	return all
}

func parseKind(kind, path string, data []byte) (*File, error) {
	if kind == "params" {
		return ParseParams(path, data)
	}
	return Parse(path, data)
}

// sameValue compares a value mlci read with one DVC gave, as JSON: null is
// a missing value or a null, and a number is an integer or not as Python
// has it ("1" or "1.0").
func sameValue(v *Value, want json.RawMessage) string {
	dec := json.NewDecoder(bytes.NewReader(want))
	dec.UseNumber()
	var w any
	if err := dec.Decode(&w); err != nil {
		return err.Error()
	}
	got := "missing"
	if v != nil {
		got = v.Kind.String() + " " + formatValue(*v, -1)
	}
	ok := false
	switch w := w.(type) {
	case nil:
		ok = v == nil || v.Kind == Null
	case bool:
		ok = v != nil && v.Kind == Bool && v.Bool == w
	case string:
		ok = v != nil && v.Kind == String && v.Str == w
	case json.Number:
		f, _ := w.Float64()
		ok = v != nil && v.Kind == Number && v.Num == f && v.Int == isIntText(w.String())
	}
	if ok {
		return ""
	}
	return "got " + got + ", DVC has " + string(want)
}

func TestDVCShow(t *testing.T) {
	for _, tc := range loadDVC(t).Show {
		t.Run(tc.Name, func(t *testing.T) {
			f, err := parseKind(tc.Kind, tc.Path, []byte(tc.Content))
			if err != nil {
				t.Fatalf("%s: %v", tc.Source, err)
			}
			if d := cmp.Diff(slices.Sorted(maps.Keys(tc.Want)), f.Keys()); d != "" {
				t.Errorf("%s: keys (-DVC +mlci):\n%s", tc.Source, d)
			}
			for k, want := range tc.Want {
				var v *Value
				if x, ok := f.Values[k]; ok {
					v = &x
				}
				if msg := sameValue(v, want); msg != "" {
					t.Errorf("%s: %q: %s", tc.Source, k, msg)
				}
			}
		})
	}
}

func TestDVCDiff(t *testing.T) {
	for _, tc := range loadDVC(t).Diff {
		t.Run(tc.Name, func(t *testing.T) {
			read := func(files map[string]string) []*File {
				var out []*File
				for _, p := range slices.Sorted(maps.Keys(files)) {
					f, err := parseKind(tc.Kind, p, []byte(files[p]))
					if err != nil {
						t.Fatalf("%s: %v", tc.Source, err)
					}
					out = append(out, f)
				}
				return out
			}
			var rows []Row
			for _, r := range Diff(read(tc.Old), read(tc.New)) {
				if tc.All || r.Status != StatusUnchanged {
					rows = append(rows, r)
				}
			}
			if tc.Want != nil {
				checkDVCDiff(t, tc, rows)
			}
			if tc.Table != nil {
				got := [][]string{}
				for _, r := range rows {
					c := cells(r, RenderOptions{})
					// mlci's own: a sign on changes, markers for added and
					// removed rows where DVC leaves the cell empty ("-").
					change := strings.TrimPrefix(c[4], "+")
					if change == "(new)" || change == "(removed)" {
						change = "-"
					}
					got = append(got, []string{c[0], c[1], c[2], c[3], change})
				}
				if d := cmp.Diff(tc.Table, got); d != "" {
					t.Errorf("%s: table (-DVC +mlci):\n%s", tc.Source, d)
				}
			}
		})
	}
}

func checkDVCDiff(t *testing.T, tc dvcDiff, rows []Row) {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range rows {
		id := r.Path + " " + r.Metric
		seen[id] = true
		want, ok := tc.Want[r.Path][r.Metric]
		if !ok {
			t.Errorf("%s: mlci shows %s (%s), DVC does not", tc.Source, id, r.Status)
			continue
		}
		if msg := sameValue(r.Base, want["old"]); msg != "" {
			t.Errorf("%s: %s old: %s", tc.Source, id, msg)
		}
		if msg := sameValue(r.Head, want["new"]); msg != "" {
			t.Errorf("%s: %s new: %s", tc.Source, id, msg)
		}
		d, hasDiff := want["diff"]
		switch {
		case hasDiff != (r.Change != nil):
			t.Errorf("%s: %s: change %v, DVC's diff %s", tc.Source, id, r.Change, d)
		case hasDiff:
			var w float64
			if err := json.Unmarshal(d, &w); err != nil || math.Abs(w-*r.Change) != 0 {
				t.Errorf("%s: %s: change %v, DVC's diff %s", tc.Source, id, *r.Change, d)
			}
		}
	}
	for p, metrics := range tc.Want {
		for m := range metrics {
			if !seen[p+" "+m] {
				t.Errorf("%s: DVC shows %s %s, mlci does not", tc.Source, p, m)
			}
		}
	}
}

func TestDVCFormat(t *testing.T) {
	for _, tc := range loadDVC(t).Format {
		name := tc.Value
		if tc.Precision != nil {
			name += "/" + strconv.Itoa(*tc.Precision)
		}
		t.Run(name, func(t *testing.T) {
			f, err := parseKind(tc.Kind, "v.json", []byte(`{"v": `+tc.Value+`}`))
			if err != nil {
				t.Fatal(err)
			}
			// compare._format_field rounds only for a precision that is
			// set and not 0; the CLI always sets one for metrics.
			decimals := -1
			if tc.Precision != nil && *tc.Precision != 0 {
				decimals = *tc.Precision
			}
			got := missing
			if v, ok := f.Values["v"]; ok {
				got = formatValue(v, decimals)
			}
			if got != tc.Want {
				t.Errorf("%s: %s at precision %v is %q, DVC writes %q", tc.Source, tc.Value, decimals, got, tc.Want)
			}
		})
	}
}
