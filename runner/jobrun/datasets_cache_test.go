package jobrun

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mlci/mlci/internal/digest"
)

// testCopy is a pulled copy as a test lays it out: size bytes of content,
// last used at day (days after a fixed date), held by a running job or
// not, and recorded or left for the cache to measure (an older runner's).
type testCopy struct {
	name       string
	size       int
	day        int
	held       bool
	unrecorded bool
}

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func testDigest(name string) digest.Digest {
	h := digest.Default.New()
	h.Write([]byte(name))
	return digest.New(digest.Default, h.Sum(nil))
}

func newTestCache(t *testing.T, maxBytes int64) *datasetCache {
	t.Helper()
	c := &datasetCache{dir: filepath.Join(t.TempDir(), "datasets"), max: maxBytes, logf: t.Logf}
	if err := c.open(); err != nil {
		t.Fatal(err)
	}
	return c
}

// add lays tc out in c. A held copy is locked shared from an open folder
// of its own, as another runner process filling a job's volume holds it,
// until the test ends.
func (c *datasetCache) add(t *testing.T, tc testCopy) {
	t.Helper()
	d := testDigest(tc.name)
	dir := c.copyDir(d)
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub", "data"), []byte(strings.Repeat("x", tc.size)), 0o644); err != nil {
		t.Fatal(err)
	}
	used := epoch.AddDate(0, 0, tc.day)
	if tc.unrecorded {
		if err := os.Chtimes(dir, used, used); err != nil {
			t.Fatal(err)
		}
	} else {
		if err := c.writeRecord(d, cacheRecord{Name: tc.name, Bytes: int64(tc.size), Files: 1}); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(dir+recordSuffix, used, used); err != nil {
			t.Fatal(err)
		}
	}
	if tc.held {
		f, err := os.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		if err := unix.Flock(int(f.Fd()), unix.LOCK_SH); err != nil {
			t.Fatal(err)
		}
	}
}

func names(ds []CachedDataset) []string {
	out := []string{}
	for _, d := range ds {
		out = append(out, d.Name)
	}
	return out
}

func TestDatasetCacheEvict(t *testing.T) {
	tests := []struct {
		name        string
		copies      []testCopy
		max, target int64
		all         bool
		wantEvicted []string
		wantKept    []string // least recently used first
		wantBusy    []string // would have gone, but a job reads them
		wantBytes   int64
	}{
		{
			name:        "under the cap nothing goes",
			copies:      []testCopy{{name: "a", size: 100, day: 1}, {name: "b", size: 100, day: 2}},
			target:      200,
			wantEvicted: []string{},
			wantKept:    []string{"a", "b"},
			wantBytes:   200,
		},
		{
			name: "least recently used go first, until under the cap",
			copies: []testCopy{
				{name: "newest", size: 100, day: 9}, {name: "oldest", size: 100, day: 1},
				{name: "middle", size: 100, day: 5}, {name: "recent", size: 100, day: 7},
			},
			target:      250,
			wantEvicted: []string{"oldest", "middle"},
			wantKept:    []string{"recent", "newest"},
			wantBytes:   200,
		},
		{
			name:        "a copy in use stays even when it is the oldest and over the cap",
			copies:      []testCopy{{name: "used-by-a-job", size: 100, day: 1, held: true}, {name: "b", size: 100, day: 2}, {name: "c", size: 100, day: 3}},
			target:      100,
			wantEvicted: []string{"b", "c"},
			wantKept:    []string{"used-by-a-job"},
			wantBusy:    []string{"used-by-a-job"},
			wantBytes:   100,
		},
		{
			name:        "copies in use stay even if the cache cannot get under the cap",
			copies:      []testCopy{{name: "a", size: 100, day: 1, held: true}, {name: "b", size: 100, day: 2, held: true}},
			target:      0,
			wantEvicted: []string{},
			wantKept:    []string{"a", "b"},
			wantBusy:    []string{"a", "b"},
			wantBytes:   200,
		},
		{
			name:        "all evicts every copy not in use",
			copies:      []testCopy{{name: "a", size: 10, day: 1}, {name: "b", size: 10, day: 2, held: true}, {name: "c", size: 10, day: 3}},
			target:      1000,
			all:         true,
			wantEvicted: []string{"a", "c"},
			wantKept:    []string{"b"},
			wantBusy:    []string{"b"},
			wantBytes:   10,
		},
		{
			name:        "an unrecorded copy is measured and dated by its folder",
			copies:      []testCopy{{name: "recorded", size: 100, day: 2}, {name: "older-runner", size: 100, day: 1, unrecorded: true}},
			target:      150,
			wantEvicted: []string{""}, // an older runner recorded no name
			wantKept:    []string{"recorded"},
			wantBytes:   100,
		},
		{
			name:        "the same last use goes by digest",
			copies:      []testCopy{{name: "x", size: 100, day: 1}, {name: "y", size: 100, day: 1}},
			target:      100,
			wantEvicted: []string{firstByDigest("x", "y")},
			wantKept:    []string{otherName(firstByDigest("x", "y"), "x", "y")},
			wantBytes:   100,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestCache(t, tc.target)
			for _, cp := range tc.copies {
				c.add(t, cp)
			}
			res, err := c.evict(t.Context(), tc.target, tc.all)
			if err != nil {
				t.Fatal(err)
			}
			if got := names(res.Evicted); !slices.Equal(got, tc.wantEvicted) {
				t.Errorf("evicted %q, want %q", got, tc.wantEvicted)
			}
			if got := names(res.Kept); !slices.Equal(got, tc.wantKept) {
				t.Errorf("kept %q, want %q", got, tc.wantKept)
			}
			if got := names(res.Busy); !slices.Equal(got, append([]string{}, tc.wantBusy...)) {
				t.Errorf("busy %q, want %q", got, tc.wantBusy)
			}
			if res.Bytes != tc.wantBytes {
				t.Errorf("bytes = %d, want %d", res.Bytes, tc.wantBytes)
			}
			for _, e := range res.Evicted {
				if _, err := os.Lstat(e.Path); err == nil {
					t.Errorf("evicted %s is still at %s", e.Name, e.Path)
				}
				if _, err := os.Lstat(e.Path + recordSuffix); err == nil {
					t.Errorf("evicted %s left its record", e.Name)
				}
			}
			for _, k := range res.Kept {
				if _, err := os.Lstat(filepath.Join(k.Path, "sub", "data")); err != nil {
					t.Errorf("kept %s: %v", k.Name, err)
				}
			}
			if trash, _ := filepath.Glob(filepath.Join(c.dir, trashPrefix+"*")); len(trash) > 0 {
				t.Errorf("trash left: %v", trash)
			}
			left, err := c.list(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if len(left) != len(tc.wantKept) {
				t.Errorf("list after eviction = %q, want %q", names(left), tc.wantKept)
			}
		})
	}
}

func firstByDigest(a, b string) string {
	if testDigest(a) < testDigest(b) {
		return a
	}
	return b
}

func otherName(n, a, b string) string {
	if n == a {
		return b
	}
	return a
}

// A runner killed while evicting leaves trash, a record without its copy,
// or both; the next start removes them and keeps every whole copy.
func TestDatasetCacheCleansAfterACrash(t *testing.T) {
	tests := []struct {
		name  string
		crash func(t *testing.T, c *datasetCache, victim string)
	}{
		{
			name: "between the rename to trash and the removal",
			crash: func(t *testing.T, c *datasetCache, victim string) {
				mustRename(t, victim, filepath.Join(c.dir, trashPrefix+filepath.Base(victim)+"-0123456789abcdef"))
			},
		},
		{
			name: "with the record removed, the trash not",
			crash: func(t *testing.T, c *datasetCache, victim string) {
				mustRename(t, victim, filepath.Join(c.dir, trashPrefix+filepath.Base(victim)+"-0123456789abcdef"))
				if err := os.Remove(victim + recordSuffix); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "halfway through removing the trash",
			crash: func(t *testing.T, c *datasetCache, victim string) {
				trash := filepath.Join(c.dir, trashPrefix+filepath.Base(victim)+"-0123456789abcdef")
				mustRename(t, victim, trash)
				if err := os.Remove(filepath.Join(trash, "sub", "data")); err != nil {
					t.Fatal(err)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestCache(t, 1<<20)
			c.add(t, testCopy{name: "victim", size: 10, day: 1})
			c.add(t, testCopy{name: "survivor", size: 10, day: 2})
			victim := c.copyDir(testDigest("victim"))
			tc.crash(t, c, victim)

			if err := c.open(); err != nil {
				t.Fatal(err)
			}
			entries, err := os.ReadDir(c.dir)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range entries {
				got = append(got, e.Name())
			}
			survivor := filepath.Base(c.copyDir(testDigest("survivor")))
			if want := []string{survivor, survivor + recordSuffix}; !slices.Equal(got, want) {
				t.Errorf("after restart the cache holds %q, want %q", got, want)
			}
			list, err := c.list(t.Context())
			if err != nil || len(list) != 1 || list[0].Name != "survivor" || list[0].Bytes != 10 {
				t.Errorf("list = %+v, %v; want the survivor alone", list, err)
			}
		})
	}
}

func mustRename(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}

func TestDatasetCacheUse(t *testing.T) {
	c := newTestCache(t, 1<<20)
	c.add(t, testCopy{name: "a", size: 10, day: 1})
	d := testDigest("a")

	held, ok := c.use(d)
	if !ok {
		t.Fatal("use found no copy")
	}
	list, err := c.list(t.Context())
	if err != nil || len(list) != 1 {
		t.Fatalf("list = %+v, %v", list, err)
	}
	if !list[0].LastUsed.After(epoch.AddDate(0, 0, 1)) {
		t.Errorf("last use %s not moved by the use", list[0].LastUsed)
	}
	if !list[0].InUse {
		t.Error("a copy being read is not listed in use")
	}
	if res, err := c.evict(t.Context(), 0, true); err != nil || len(res.Evicted) != 0 {
		t.Errorf("evicted a copy in use: %+v, %v", res, err)
	}
	held.release()
	if list, _ := c.list(t.Context()); len(list) != 1 || list[0].InUse {
		t.Errorf("after release: %+v", list)
	}
	if res, err := c.evict(t.Context(), 0, false); err != nil || len(res.Evicted) != 1 {
		t.Errorf("released copy not evicted: %+v, %v", res, err)
	}
	if _, ok := c.use(d); ok {
		t.Error("use found an evicted copy")
	}
}

// A reader that opened the copy before eviction renamed it must not hold
// the trash as if it were the copy.
func TestDatasetCacheUseSeesAMovedCopy(t *testing.T) {
	c := newTestCache(t, 1<<20)
	c.add(t, testCopy{name: "a", size: 10, day: 1})
	dir := c.copyDir(testDigest("a"))
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mustRename(t, dir, filepath.Join(c.dir, trashPrefix+"moved"))
	if samePath(f, dir) {
		t.Error("an open folder renamed away still counts as the copy")
	}
}
