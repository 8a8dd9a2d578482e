package datahash

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/mlci/mlci/internal/digest"
)

// TestTreeBuilderMatchesTreeHasher holds the streaming builder to the
// whole-list hasher: same root, same tree objects in the same order.
func TestTreeBuilderMatchesTreeHasher(t *testing.T) {
	deep := []Entry{}
	for i := range 30 {
		deep = append(deep, entry(fmt.Sprintf("d%d/s%d/f", i/10, i%10), 1, byte(i)))
	}
	tests := []struct {
		name    string
		entries []Entry
	}{
		{"single file", []Entry{entry("", 1, 1)}},
		{"flat", []Entry{entry("a", 1, 1), entry("b", 1, 2)}},
		{"dir before sibling file", []Entry{entry("a/x", 1, 1), entry("a.b", 1, 2), entry("z", 1, 3)}},
		{"close two levels", []Entry{entry("a/b/c", 1, 1), entry("a/d", 1, 2), entry("e/f/g/h", 1, 3), entry("i", 1, 4)}},
		{"same subtree twice", []Entry{entry("a/x", 1, 1), entry("b/x", 1, 1)}},
		{"symlink", []Entry{entry("a/x", 1, 1), {Path: "a/y", Type: Symlink, Sum: Sum{9}}}},
		{"nested dirs", deep},
	}
	for _, alg := range []digest.Algorithm{digest.BLAKE3, digest.SHA256} {
		for _, tt := range tests {
			t.Run(string(alg)+"/"+tt.name, func(t *testing.T) {
				var want, got [][]byte
				if err := TreeObjects(alg, tt.entries, func(d digest.Digest, obj []byte) error {
					want = append(want, append([]byte(d+"="), obj...))
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				b := newTreeBuilder(alg, func(s Sum, obj []byte) error {
					got = append(got, append([]byte(digest.New(alg, s[:])+"="), obj...))
					return nil
				})
				for i := range tt.entries {
					if err := b.add(&tt.entries[i]); err != nil {
						t.Fatal(err)
					}
				}
				root, err := b.root()
				if err != nil {
					t.Fatal(err)
				}
				if w := Root(alg, tt.entries); root != w {
					t.Errorf("root = %s, want %s", root, w)
				}
				if len(tt.entries) == 1 && tt.entries[0].Path == "" {
					got = nil // a single file has no tree object
				}
				if !bytes.Equal(bytes.Join(got, []byte("\n")), bytes.Join(want, []byte("\n"))) {
					t.Errorf("tree objects differ: got %d, want %d", len(got), len(want))
				}
			})
		}
	}
}

// TestHashStreamsTreesAndBoundsEntries: the tree objects Hash hands out as
// it walks are TreeObjects' of its entries, and MaxEntries keeps entries
// only up to its bound.
func TestHashStreamsTreesAndBoundsEntries(t *testing.T) {
	root := writeTree(t, sample)
	full := mustHash(t, root, Options{})
	var want []string
	if err := TreeObjects(digest.BLAKE3, full.Entries, func(d digest.Digest, obj []byte) error {
		want = append(want, string(d)+"="+string(obj))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	n := len(full.Entries)
	tests := []struct {
		name        string
		max         int
		wantEntries int
	}{
		{"all by default", 0, n},
		{"at the bound", n, n},
		{"past the bound", n - 1, 0},
		{"none", NoEntries, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			res := mustHash(t, root, Options{MaxEntries: tt.max, Trees: func(d digest.Digest, obj []byte) error {
				got = append(got, string(d)+"="+string(obj))
				return nil
			}})
			if res.Root != full.Root || res.Files != int64(n) || res.Bytes != full.Bytes {
				t.Errorf("got %s, %d files, %d bytes; want %s, %d, %d", res.Root, res.Files, res.Bytes, full.Root, n, full.Bytes)
			}
			if len(res.Entries) != tt.wantEntries {
				t.Errorf("kept %d entries, want %d", len(res.Entries), tt.wantEntries)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("tree objects differ from TreeObjects': got %d, want %d", len(got), len(want))
			}
		})
	}
}
