package datahash

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mlci/mlci/internal/digest"
)

func entry(p string, size int64, b byte) Entry {
	return Entry{Path: p, Type: File, Size: size, Sum: Sum{b}}
}

func TestDiff(t *testing.T) {
	tests := []struct {
		name     string
		old, cur []Entry
		want     Changes
	}{
		{"same", []Entry{entry("a", 1, 1)}, []Entry{entry("a", 1, 1)}, Changes{}},
		{"modified", []Entry{entry("a", 1, 1)}, []Entry{entry("a", 2, 2)},
			Changes{Modified: []Change{{Path: "a", Type: "file", OldSize: 1, NewSize: 2}}}},
		{"added and removed", []Entry{entry("a", 1, 1), entry("c", 3, 3)}, []Entry{entry("b", 2, 2), entry("c", 3, 3)},
			Changes{
				Added:   []Change{{Path: "b", Type: "file", NewSize: 2}},
				Removed: []Change{{Path: "a", Type: "file", OldSize: 1}},
			}},
		{"type change", []Entry{entry("a", 1, 1)}, []Entry{{Path: "a", Type: Symlink, Size: 1, Sum: Sum{1}}},
			Changes{Modified: []Change{{Path: "a", Type: "symlink", OldSize: 1, NewSize: 1}}}},
		{"tree order", []Entry{entry("a/x", 1, 1), entry("a.b", 1, 1)}, []Entry{entry("a/x", 1, 1), entry("a.b", 1, 1)}, Changes{}},
		{"all removed", []Entry{entry("a", 1, 1)}, nil, Changes{Removed: []Change{{Path: "a", Type: "file", OldSize: 1}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Diff(tt.old, tt.cur)
			if d := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("Diff mismatch (-want +got):\n%s", d)
			}
			if got.Empty() != (tt.want.Empty()) {
				t.Errorf("Empty() = %v", got.Empty())
			}
		})
	}
}

func TestRootFromEntriesMatchesDirectoryStructure(t *testing.T) {
	// The same files listed in a different order must be sorted before Root
	// gives the same digest; Sort is what callers use for that.
	a := []Entry{entry("x/1", 1, 1), entry("x.y", 1, 2), entry("z", 1, 3)}
	b := []Entry{entry("z", 1, 3), entry("x.y", 1, 2), entry("x/1", 1, 1)}
	Sort(b)
	if Root(digest.BLAKE3, a) != Root(digest.BLAKE3, b) {
		t.Error("sorted entry lists gave different roots")
	}
	if Root(digest.BLAKE3, a) == Root(digest.SHA256, a) {
		t.Error("algorithms gave the same root")
	}
}

func TestLess(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"a/x", "a.b", true},
		{"a.b", "a/x", false},
		{"a", "a/x", true},
		{"a", "b", true},
		{"b", "a", false},
		{"a", "a", false},
	}
	for _, tt := range tests {
		if got := Less(tt.a, tt.b); got != tt.want {
			t.Errorf("Less(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
