package datahash

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mlci/mlci/internal/digest"
)

// memStore is an object store in a map that counts loads.
type memStore struct {
	objs  map[digest.Digest][]byte
	loads int
}

func storeTrees(t *testing.T, s *memStore, alg digest.Algorithm, entries []Entry) digest.Digest {
	t.Helper()
	if s.objs == nil {
		s.objs = map[digest.Digest][]byte{}
	}
	var last digest.Digest
	err := TreeObjects(alg, entries, func(d digest.Digest, obj []byte) error {
		s.objs[d] = bytes.Clone(obj)
		last = d
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return last
}

func (s *memStore) load(_ context.Context, d digest.Digest) ([]byte, error) {
	s.loads++
	obj, ok := s.objs[d]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return obj, nil
}

func TestTreeObjectsRootIsRootDigest(t *testing.T) {
	entries := []Entry{entry("a", 1, 1), entry("d/b", 1, 2), entry("d/e/c", 1, 3), entry("d.x", 1, 4)}
	for _, alg := range digest.Algorithms() {
		t.Run(string(alg), func(t *testing.T) {
			var s memStore
			var order []digest.Digest
			err := TreeObjects(alg, entries, func(d digest.Digest, obj []byte) error {
				h := alg.New()
				h.Write(obj)
				if got := digest.New(alg, h.Sum(nil)); got != d {
					t.Errorf("object emitted as %s hashes to %s", d, got)
				}
				order = append(order, d)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			root := storeTrees(t, &s, alg, entries)
			if want := Root(alg, entries); root != want || order[len(order)-1] != want {
				t.Errorf("last object %s, want the root %s", root, want)
			}
			// d/e, d and the root: one object per directory.
			if len(order) != 3 {
				t.Errorf("emitted %d objects, want 3", len(order))
			}
		})
	}
}

func TestTreeObjectBytes(t *testing.T) {
	entries := []Entry{entry("a", 1, 1), {Path: "d/l", Type: Symlink, Sum: Sum{2}}}
	var objs [][]byte
	if err := TreeObjects(digest.BLAKE3, entries, func(_ digest.Digest, obj []byte) error {
		objs = append(objs, bytes.Clone(obj))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sub := "mlci tree 1\nl l\x00\x02" + strings.Repeat("\x00", 31)
	h := digest.BLAKE3.New()
	h.Write([]byte(sub))
	root := "mlci tree 1\nf a\x00\x01" + strings.Repeat("\x00", 31) + "d d\x00" + string(h.Sum(nil))
	if d := cmp.Diff([]string{sub, root}, []string{string(objs[0]), string(objs[1])}); d != "" {
		t.Errorf("tree objects (-want +got):\n%s", d)
	}
}

func TestTreeObjectsSingleFile(t *testing.T) {
	calls := 0
	err := TreeObjects(digest.BLAKE3, []Entry{entry("", 1, 1)}, func(digest.Digest, []byte) error { calls++; return nil })
	if err != nil || calls != 0 {
		t.Errorf("single file: %d objects, err %v; want none", calls, err)
	}
}

func TestTreeObjectsEmitError(t *testing.T) {
	boom := errors.New("disk full")
	err := TreeObjects(digest.BLAKE3, []Entry{entry("a/b", 1, 1)}, func(digest.Digest, []byte) error { return boom })
	if !errors.Is(err, boom) {
		t.Errorf("err = %v, want the emit error", err)
	}
}

func TestParseTreeRefuses(t *testing.T) {
	sum := strings.Repeat("\x07", 32)
	tests := []struct {
		name, obj, want string
	}{
		{"no header", "f a\x00" + sum, "header"},
		{"other version", "mlci tree 2\n", "header"},
		{"unknown type", "mlci tree 1\nx a\x00" + sum, "unknown child type"},
		{"no space", "mlci tree 1\nfa\x00" + sum, "no space"},
		{"no NUL", "mlci tree 1\nf a", "no NUL"},
		{"empty name", "mlci tree 1\nf \x00" + sum, "not a file name"},
		{"slash", "mlci tree 1\nf a/b\x00" + sum, "not a file name"},
		{"dot", "mlci tree 1\nd .\x00" + sum, "not a file name"},
		{"dot dot", "mlci tree 1\nd ..\x00" + sum, "not a file name"},
		{"repeated", "mlci tree 1\nf a\x00" + sum + "f a\x00" + sum, "out of order"},
		{"out of order", "mlci tree 1\nf b\x00" + sum + "f a\x00" + sum, "out of order"},
		{"short digest", "mlci tree 1\nf a\x00" + sum[:31], "cut short"},
		{"trailing byte", "mlci tree 1\nf a\x00" + sum + "f", "no space"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTree([]byte(tt.obj))
			if !errors.Is(err, ErrBadTree) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseTree = %v, want ErrBadTree mentioning %q", err, tt.want)
			}
		})
	}
}

func TestExpandRoundTrip(t *testing.T) {
	entries := []Entry{entry("a", 1, 1), entry("a.b/c", 1, 2), {Path: "a0/l", Type: Symlink, Size: 3, Sum: Sum{3}}, entry("z", 1, 4)}
	var s memStore
	root := storeTrees(t, &s, digest.SHA256, entries)
	var got []Entry
	if err := Expand(context.Background(), digest.SHA256, root, s.load, func(e Entry) error { got = append(got, e); return nil }); err != nil {
		t.Fatal(err)
	}
	want := make([]Entry, len(entries))
	for i, e := range entries {
		e.Size = -1
		want[i] = e
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Expand (-want +got):\n%s", d)
	}
}

func TestExpandRefusesBadObjects(t *testing.T) {
	entries := []Entry{entry("d/a", 1, 1), entry("e", 1, 2)}
	var s memStore
	root := storeTrees(t, &s, digest.BLAKE3, entries)
	sub := Root(digest.BLAKE3, []Entry{entry("a", 1, 1)})
	tests := []struct {
		name   string
		tamper func(objs map[digest.Digest][]byte)
		want   string
	}{
		{"changed bytes", func(o map[digest.Digest][]byte) { o[sub] = bytes.Replace(o[sub], []byte("f a"), []byte("f b"), 1) }, "hashes to"},
		{"missing", func(o map[digest.Digest][]byte) { delete(o, sub) }, "file does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s2 := memStore{objs: map[digest.Digest][]byte{}}
			for d, o := range s.objs {
				s2.objs[d] = bytes.Clone(o)
			}
			tt.tamper(s2.objs)
			err := Expand(context.Background(), digest.BLAKE3, root, s2.load, func(Entry) error { return nil })
			if err == nil || !strings.Contains(err.Error(), string(sub)) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Expand = %v, want an error naming %s and %q", err, sub, tt.want)
			}
		})
	}
}

// randomEntries builds a dataset of n files in a few levels of directories,
// with names chosen to exercise the tree order ("a" before "a.b", a
// directory "a" before a file "a0").
func randomEntries(r *rand.Rand, n int) []Entry {
	names := []string{"a", "a.b", "a0", "b", "c-d", "x"}
	seen := map[string]bool{}
	var out []Entry
	for len(out) < n {
		depth := 1 + r.IntN(3)
		parts := make([]string, depth)
		for i := range parts {
			parts[i] = names[r.IntN(len(names))]
		}
		p := strings.Join(parts, "/")
		clash := false
		for q := range seen {
			if strings.HasPrefix(q, p+"/") || strings.HasPrefix(p, q+"/") || q == p {
				clash = true
				break
			}
		}
		if clash {
			continue
		}
		seen[p] = true
		typ := File
		if r.IntN(5) == 0 {
			typ = Symlink
		}
		out = append(out, Entry{Path: p, Type: typ, Size: -1, Sum: Sum{byte(r.IntN(3))}})
	}
	Sort(out)
	return out
}

// TestDiffTreesMatchesDiff checks the tree walk against the merge of two
// full lists on random pairs, including files that became directories.
func TestDiffTreesMatchesDiff(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		old, cur := randomEntries(r, 1+r.IntN(12)), randomEntries(r, 1+r.IntN(12))
		if i%3 == 0 {
			// Mostly the same: change a few sums only.
			cur = append([]Entry(nil), old...)
			cur[r.IntN(len(cur))].Sum[1]++
		}
		var s memStore
		oldRoot, curRoot := storeTrees(t, &s, digest.BLAKE3, old), storeTrees(t, &s, digest.BLAKE3, cur)
		got, err := DiffTrees(context.Background(), digest.BLAKE3, oldRoot, curRoot, s.load)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(Diff(old, cur), got, cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("case %d: DiffTrees differs from Diff (-Diff +DiffTrees):\n%s", i, d)
		}
	}
}

func TestDiffTreesReadsOnlyChangedPaths(t *testing.T) {
	// 10,000 files in 100 directories of 100; three change, in two
	// directories.
	var old []Entry
	for d := range 100 {
		for f := range 100 {
			old = append(old, entry(fmt.Sprintf("d%03d/f%03d", d, f), 1, byte(f)))
		}
	}
	cur := append([]Entry(nil), old...)
	cur[5*100+7].Sum[1] = 1
	cur[5*100+8].Sum[1] = 1
	cur[42*100+99].Sum[1] = 1
	var s memStore
	oldRoot, curRoot := storeTrees(t, &s, digest.BLAKE3, old), storeTrees(t, &s, digest.BLAKE3, cur)
	s.loads = 0
	got, err := DiffTrees(context.Background(), digest.BLAKE3, oldRoot, curRoot, s.load)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, c := range got.Modified {
		paths = append(paths, c.Path)
	}
	if d := cmp.Diff([]string{"d005/f007", "d005/f008", "d042/f099"}, paths); d != "" || len(got.Added)+len(got.Removed) > 0 {
		t.Errorf("changes %+v (-want +got modified):\n%s", got, d)
	}
	// Both roots and both versions of the two changed directories.
	if s.loads != 6 {
		t.Errorf("loaded %d tree objects, want 6", s.loads)
	}
}

func TestDiffTreesSameRootLoadsNothing(t *testing.T) {
	var s memStore
	got, err := DiffTrees(context.Background(), digest.BLAKE3, "blake3:00", "blake3:00", s.load)
	if err != nil || !got.Empty() || s.loads != 0 {
		t.Errorf("same roots: %+v, %v, %d loads", got, err, s.loads)
	}
}

func FuzzParseTree(f *testing.F) {
	for _, entries := range [][]Entry{
		{entry("a", 1, 1)},
		{entry("a/b", 1, 1), entry("a.c", 1, 2), {Path: "l", Type: Symlink, Sum: Sum{3}}},
	} {
		if err := TreeObjects(digest.BLAKE3, entries, func(_ digest.Digest, obj []byte) error {
			f.Add(bytes.Clone(obj))
			return nil
		}); err != nil {
			f.Fatal(err)
		}
	}
	f.Add([]byte("mlci tree 1\n"))
	f.Fuzz(func(t *testing.T, obj []byte) {
		children, err := ParseTree(obj)
		if err != nil {
			return
		}
		if again := EncodeTree(children); !bytes.Equal(again, obj) {
			t.Errorf("re-encoded %q as %q", obj, again)
		}
	})
}

func TestMarkTrees(t *testing.T) {
	// Two versions of a dataset that share d/e; the second adds f/.
	v1 := []Entry{entry("a", 1, 1), entry("d/b", 1, 2), entry("d/e/c", 1, 3)}
	v2 := []Entry{entry("a", 1, 1), entry("d/b", 1, 9), entry("d/e/c", 1, 3), entry("f/g", 1, 4)}
	subtree := func(entries []Entry, dir string) digest.Digest {
		var below []Entry
		for _, e := range entries {
			if rest, ok := strings.CutPrefix(e.Path, dir+"/"); ok {
				below = append(below, Entry{Path: rest, Type: e.Type, Size: e.Size, Sum: e.Sum})
			}
		}
		return Root(digest.BLAKE3, below)
	}
	tests := []struct {
		name      string
		roots     [][]Entry
		drop      []string // directories of v2 whose objects are not in the store
		want      []digest.Digest
		wantLoads int
		wantBad   []digest.Digest
	}{
		{
			name:      "one root",
			roots:     [][]Entry{v1},
			want:      []digest.Digest{Root(digest.BLAKE3, v1), subtree(v1, "d"), subtree(v1, "d/e")},
			wantLoads: 3,
		},
		{
			name:  "a shared subtree is loaded once",
			roots: [][]Entry{v1, v2},
			want: []digest.Digest{Root(digest.BLAKE3, v1), subtree(v1, "d"), subtree(v1, "d/e"),
				Root(digest.BLAKE3, v2), subtree(v2, "d"), subtree(v2, "f")},
			wantLoads: 6,
		},
		{
			name:      "a missing tree is reported and its children not reached",
			roots:     [][]Entry{v2},
			drop:      []string{"d"},
			want:      []digest.Digest{Root(digest.BLAKE3, v2), subtree(v2, "d"), subtree(v2, "f")},
			wantLoads: 3,
			wantBad:   []digest.Digest{subtree(v2, "d")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s memStore
			var roots []digest.Digest
			for _, r := range tt.roots {
				roots = append(roots, storeTrees(t, &s, digest.BLAKE3, r))
			}
			storeTrees(t, &s, digest.BLAKE3, v2) // in the store, unmarked unless a root
			for _, dir := range tt.drop {
				delete(s.objs, subtree(v2, dir))
			}
			s.loads = 0
			live := map[digest.Digest]bool{}
			var bad []digest.Digest
			for _, root := range roots {
				err := MarkTrees(context.Background(), digest.BLAKE3, root, s.load, live, func(d digest.Digest, err error) error {
					if !errors.Is(err, fs.ErrNotExist) {
						t.Errorf("tree %s: %v, want it missing", d, err)
					}
					bad = append(bad, d)
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			want := map[digest.Digest]bool{}
			for _, d := range tt.want {
				want[d] = true
			}
			if d := cmp.Diff(want, live); d != "" {
				t.Errorf("live (-want +got):\n%s", d)
			}
			if s.loads != tt.wantLoads {
				t.Errorf("%d loads, want %d", s.loads, tt.wantLoads)
			}
			if d := cmp.Diff(tt.wantBad, bad); d != "" {
				t.Errorf("unreadable (-want +got):\n%s", d)
			}
		})
	}
}

func TestMarkTreesStopsWhenAsked(t *testing.T) {
	var s memStore
	root := storeTrees(t, &s, digest.BLAKE3, []Entry{entry("d/a", 1, 1)})
	s.objs[root] = []byte("mlci tree 1\nq x\x00")
	stop := errors.New("stop")
	err := MarkTrees(context.Background(), digest.BLAKE3, root, s.load, map[digest.Digest]bool{}, func(d digest.Digest, err error) error {
		if !errors.Is(err, ErrBadTree) {
			t.Errorf("tree %s: %v, want ErrBadTree", d, err)
		}
		return stop
	})
	if !errors.Is(err, stop) {
		t.Errorf("MarkTrees: %v, want the error unreadable returned", err)
	}
}
