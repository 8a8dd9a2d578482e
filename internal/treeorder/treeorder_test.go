package treeorder

import (
	"slices"
	"sort"
	"testing"
)

func TestCompare(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want int // sign
	}{
		{"equal", "a/b", "a/b", 0},
		{"slash before any byte", "a/b", "a-b", -1},
		{"slash before space", "a/z", "a b", -1},
		{"prefix first", "a", "a/b", -1},
		{"bytes otherwise", "b", "a", 1},
		{"siblings by name", "d/a", "d/b", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Compare(tt.a, tt.b)
			if (got < 0) != (tt.want < 0) || (got > 0) != (tt.want > 0) {
				t.Errorf("Compare(%q, %q) = %d, want sign %d", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

// TestDirectoriesContiguous: in this order a directory's entries come
// together, which a plain byte order breaks ("a-b" sorts between "a" and
// "a/b" there).
func TestDirectoriesContiguous(t *testing.T) {
	paths := []string{"a/b", "a-b", "a/c", "a.d", "a/b/c"}
	sorted := slices.Clone(paths)
	sort.Slice(sorted, func(i, j int) bool { return Compare(sorted[i], sorted[j]) < 0 })
	want := []string{"a/b", "a/b/c", "a/c", "a-b", "a.d"}
	if !slices.Equal(sorted, want) {
		t.Errorf("sorted %v, want %v", sorted, want)
	}
}
