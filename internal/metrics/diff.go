package metrics

import (
	"maps"
	"math"
	"slices"
)

// Row statuses.
const (
	StatusChanged   = "changed"
	StatusUnchanged = "unchanged"
	StatusAdded     = "added"   // only in head
	StatusRemoved   = "removed" // only in base
)

// Row is one metric compared between base and head.
type Row struct {
	Path    string   // the file, as given
	Metric  string   // flattened key
	Base    *Value   // nil when missing in base
	Head    *Value   // nil when missing in head
	Change  *float64 // head-base when both are numbers (and the difference is finite)
	Percent *float64 // 100*(head-base)/|base| when both are numbers, base != 0 (and the result is finite)
	Status  string   // StatusChanged, StatusUnchanged, StatusAdded or StatusRemoved
	// Params: the row compares params (File.Params), shown as written.
	Params bool
}

// Diff compares metrics files of two versions. Files are matched by Path
// exactly as given (callers pass the paths from the config, which name the
// same file on both sides); a file on one side only gives all its metrics
// added or removed. If one side lists a Path twice, the later file's values
// win. Rows are sorted by Path, then Metric, in byte order.
//
// Numbers are unchanged only if exactly equal: rounding for display is the
// renderer's business, and a gate may care about the last digit. As in
// DVC, where they are Python's bool, booleans compare and subtract as the
// numbers 0 and 1 (true and 1 are equal), and 1 equals 1.0. Other values
// are changed when their kind or text differs.
func Diff(base, head []*File) []Row {
	b, h := byPath(base), byPath(head)
	params := map[string]bool{}
	for _, f := range append(append([]*File{}, base...), head...) {
		if f != nil && f.Params {
			params[f.Path] = true
		}
	}
	paths := slices.Collect(maps.Keys(b))
	for p := range h {
		if _, ok := b[p]; !ok {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)

	n := 0
	for _, vals := range b {
		n += len(vals)
	}
	for _, vals := range h {
		n += len(vals)
	}
	// One backing array for the values and numbers rows point at, instead
	// of an allocation per pointer; a diff of large files has many rows.
	vals := make([]Value, 0, n)
	nums := make([]float64, 0, n)
	keep := func(v Value) *Value {
		vals = append(vals, v)
		return &vals[len(vals)-1]
	}
	num := func(x float64) *float64 {
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return nil
		}
		nums = append(nums, x)
		return &nums[len(nums)-1]
	}

	rows := make([]Row, 0, n/2)
	for _, p := range paths {
		bv, hv := b[p], h[p]
		// One sort of the union of keys beats sorting each side and
		// merging: sorting, not lookups, dominates on large files.
		keys := make([]string, 0, max(len(bv), len(hv)))
		for k := range bv {
			keys = append(keys, k)
		}
		for k := range hv {
			if _, ok := bv[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			row := Row{Path: p, Metric: k, Params: params[p]}
			x, inBase := bv[k]
			y, inHead := hv[k]
			switch {
			case !inHead:
				row.Base, row.Status = keep(x), StatusRemoved
			case !inBase:
				row.Head, row.Status = keep(y), StatusAdded
			default:
				row.Base, row.Head, row.Status = keep(x), keep(y), StatusChanged
				if equal(x, y) {
					row.Status = StatusUnchanged
				}
				xn, xok := numeric(x)
				yn, yok := numeric(y)
				if xok && yok {
					row.Change = num(yn - xn)
					if xn != 0 {
						row.Percent = num(100 * (yn - xn) / math.Abs(xn))
					}
				}
			}
			rows = append(rows, row)
		}
	}
	return rows
}

func byPath(files []*File) map[string]map[string]Value {
	out := make(map[string]map[string]Value, len(files))
	copied := map[string]bool{}
	for _, f := range files {
		if f == nil {
			continue
		}
		prev, ok := out[f.Path]
		if !ok {
			out[f.Path] = f.Values
			continue
		}
		// Copy before merging so the caller's File is left alone.
		if !copied[f.Path] {
			prev = maps.Clone(prev)
			if prev == nil {
				prev = map[string]Value{}
			}
			out[f.Path], copied[f.Path] = prev, true
		}
		maps.Copy(prev, f.Values)
	}
	return out
}

// numeric is v as a number, for a Number or a Bool.
func numeric(v Value) (float64, bool) {
	switch v.Kind {
	case Number:
		return v.Num, true
	case Bool:
		if v.Bool {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func equal(x, y Value) bool {
	if xn, ok := numeric(x); ok {
		yn, ok := numeric(y)
		return ok && xn == yn
	}
	if x.Kind != y.Kind {
		return false
	}
	switch x.Kind {
	case String:
		return x.Str == y.Str
	}
	return true
}
