package datahash

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zeebo/blake3"

	"github.com/mlci/mlci/internal/digest"
	"github.com/mlci/mlci/internal/ignore"
	"github.com/mlci/mlci/internal/statecache"
)

var update = flag.Bool("update", false, "rewrite golden files")

// writeTree creates files (path -> content) under a new temp dir, in the
// order given, so tests can build the same tree in different orders.
func writeTree(t *testing.T, files [][2]string) string {
	t.Helper()
	root := t.TempDir()
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f[0]))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f[1]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

var sample = [][2]string{
	{"train/a.csv", "id,label\n1,cat\n"},
	{"train/b.csv", "id,label\n2,dog\n"},
	{"train/sub/c.bin", "\x00\x01\x02"},
	{"val/a.csv", "id,label\n3,cat\n"},
	{"val.csv", "summary"},
	{"README", ""},
}

func mustHash(t *testing.T, root string, opts Options) *Result {
	t.Helper()
	res, err := Hash(context.Background(), root, opts)
	if err != nil {
		t.Fatalf("Hash(%s): %v", root, err)
	}
	return res
}

func TestRootGolden(t *testing.T) {
	root := writeTree(t, sample)
	var got strings.Builder
	for _, alg := range digest.Algorithms() {
		res := mustHash(t, root, Options{Algorithm: alg})
		fmt.Fprintf(&got, "%s files=%d bytes=%d\n", res.Root, res.Files, res.Bytes)
	}
	golden := filepath.Join("testdata", "sample.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	// A change here breaks every lock file users have committed: bump the
	// tree format version instead.
	if got.String() != string(want) {
		t.Errorf("root digests changed:\n got %s\nwant %s", got.String(), want)
	}
}

func TestRootIgnoresMetadataAndOrder(t *testing.T) {
	base := mustHash(t, writeTree(t, sample), Options{}).Root
	reversed := slices.Clone(sample)
	slices.Reverse(reversed)
	tests := []struct {
		name   string
		mutate func(t *testing.T, root string)
		files  [][2]string
	}{
		{"created in reverse order", nil, reversed},
		{"mtime changed", func(t *testing.T, root string) {
			old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
			if err := os.Chtimes(filepath.Join(root, "train/a.csv"), old, old); err != nil {
				t.Fatal(err)
			}
		}, sample},
		{"mode changed", func(t *testing.T, root string) {
			if err := os.Chmod(filepath.Join(root, "val.csv"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, sample},
		{"empty directory added", func(t *testing.T, root string) {
			if err := os.Mkdir(filepath.Join(root, "empty"), 0o755); err != nil {
				t.Fatal(err)
			}
		}, sample},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := writeTree(t, tt.files)
			if tt.mutate != nil {
				tt.mutate(t, root)
			}
			if got := mustHash(t, root, Options{}).Root; got != base {
				t.Errorf("root = %s, want unchanged %s", got, base)
			}
		})
	}
}

func TestRootChangesWithContent(t *testing.T) {
	base := mustHash(t, writeTree(t, sample), Options{}).Root
	tests := []struct {
		name   string
		mutate func(root string) error
	}{
		{"byte changed", func(r string) error {
			return os.WriteFile(filepath.Join(r, "train/a.csv"), []byte("id,label\n1,cow\n"), 0o644)
		}},
		{"file renamed", func(r string) error { return os.Rename(filepath.Join(r, "val.csv"), filepath.Join(r, "val2.csv")) }},
		{"file moved between dirs", func(r string) error {
			return os.Rename(filepath.Join(r, "train/sub/c.bin"), filepath.Join(r, "train/c.bin"))
		}},
		{"file added", func(r string) error { return os.WriteFile(filepath.Join(r, "new"), nil, 0o644) }},
		{"file removed", func(r string) error { return os.Remove(filepath.Join(r, "README")) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := writeTree(t, sample)
			if err := tt.mutate(root); err != nil {
				t.Fatal(err)
			}
			if got := mustHash(t, root, Options{}).Root; got == base {
				t.Errorf("root unchanged after %s", tt.name)
			}
		})
	}
}

func TestSingleFileMatchesStandardTools(t *testing.T) {
	root := writeTree(t, [][2]string{{"model.bin", "weights"}})
	file := filepath.Join(root, "model.bin")
	b3 := blake3.Sum256([]byte("weights"))
	s2 := sha256.Sum256([]byte("weights"))
	tests := []struct {
		alg  digest.Algorithm
		want digest.Digest
	}{
		{digest.BLAKE3, digest.New(digest.BLAKE3, b3[:])},
		{digest.SHA256, digest.New(digest.SHA256, s2[:])},
	}
	for _, tt := range tests {
		t.Run(string(tt.alg), func(t *testing.T) {
			res := mustHash(t, file, Options{Algorithm: tt.alg})
			if res.Root != tt.want || res.Files != 1 || res.Bytes != 7 {
				t.Errorf("got %s files=%d bytes=%d, want %s files=1 bytes=7", res.Root, res.Files, res.Bytes, tt.want)
			}
		})
	}
}

func TestEntriesInTreeOrder(t *testing.T) {
	// "a" sorts before "a.b" as a name, but "a.b" before "a/x" as a byte
	// string: the walk must give tree order.
	root := writeTree(t, [][2]string{{"a.b", "1"}, {"a/x", "2"}, {"a-c/y", "3"}, {"b", "4"}})
	res := mustHash(t, root, Options{})
	var paths []string
	for _, e := range res.Entries {
		paths = append(paths, e.Path)
	}
	want := []string{"a/x", "a-c/y", "a.b", "b"}
	if !slices.Equal(paths, want) {
		t.Errorf("paths = %q, want %q", paths, want)
	}
}

func TestSymlinks(t *testing.T) {
	root := writeTree(t, [][2]string{{"data/x.bin", "xyz"}, {"other/y.bin", "y"}})
	ds := filepath.Join(root, "data")
	if err := os.Symlink("x.bin", filepath.Join(ds, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../other", filepath.Join(ds, "dirlink")); err != nil {
		t.Fatal(err)
	}
	t.Run("recorded as links", func(t *testing.T) {
		res := mustHash(t, ds, Options{})
		got := map[string]Type{}
		for _, e := range res.Entries {
			got[e.Path] = e.Type
		}
		want := map[string]Type{"x.bin": File, "link": Symlink, "dirlink": Symlink}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("entries = %v, want %v", got, want)
		}
	})
	t.Run("retargeting a link changes the root", func(t *testing.T) {
		before := mustHash(t, ds, Options{}).Root
		os.Remove(filepath.Join(ds, "link"))
		if err := os.Symlink("./x.bin", filepath.Join(ds, "link")); err != nil {
			t.Fatal(err)
		}
		if mustHash(t, ds, Options{}).Root == before {
			t.Error("root unchanged after the link target changed")
		}
	})
	t.Run("followed", func(t *testing.T) {
		res := mustHash(t, ds, Options{FollowSymlinks: true})
		var paths []string
		for _, e := range res.Entries {
			if e.Type != File {
				t.Errorf("%s is %v, want file when following", e.Path, e.Type)
			}
			paths = append(paths, e.Path)
		}
		if want := []string{"dirlink/y.bin", "link", "x.bin"}; !slices.Equal(paths, want) {
			t.Errorf("paths = %q, want %q", paths, want)
		}
	})
	t.Run("loop", func(t *testing.T) {
		if err := os.Symlink("..", filepath.Join(root, "other", "up")); err != nil {
			t.Fatal(err)
		}
		_, err := Hash(context.Background(), ds, Options{FollowSymlinks: true})
		if !errors.Is(err, ErrLoop) {
			t.Fatalf("err = %v, want ErrLoop", err)
		}
		if !strings.Contains(err.Error(), "up") {
			t.Errorf("error %q does not name the link", err)
		}
	})
	t.Run("dangling when followed", func(t *testing.T) {
		root := writeTree(t, [][2]string{{"a", "1"}})
		if err := os.Symlink("missing", filepath.Join(root, "gone")); err != nil {
			t.Fatal(err)
		}
		if _, err := Hash(context.Background(), root, Options{}); err != nil {
			t.Errorf("not following: dangling link is data, got %v", err)
		}
		_, err := Hash(context.Background(), root, Options{FollowSymlinks: true})
		if err == nil || !strings.Contains(err.Error(), "gone") {
			t.Errorf("following: err = %v, want one naming the link", err)
		}
	})
}

func TestSpecialFilesSkippedWithWarning(t *testing.T) {
	root := writeTree(t, [][2]string{{"a", "1"}})
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", filepath.Join(root, "sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var warnings []string
	res := mustHash(t, root, Options{Warn: func(m string) { warnings = append(warnings, m) }})
	if res.Files != 1 {
		t.Errorf("files = %d, want 1", res.Files)
	}
	joined := strings.Join(warnings, "\n")
	if len(warnings) != 2 || !strings.Contains(joined, "fifo: a FIFO") || !strings.Contains(joined, "sock: a socket") {
		t.Errorf("warnings = %q, want one naming the FIFO and one the socket", warnings)
	}
}

func TestExclude(t *testing.T) {
	root := writeTree(t, append(slices.Clone(sample), [2]string{"train/x.tmp", "junk"}, [2]string{"cache/z", "junk"}))
	m, err := ignore.Compile([]string{"*.tmp", "cache/"})
	if err != nil {
		t.Fatal(err)
	}
	got := mustHash(t, root, Options{Exclude: m}).Root
	if want := mustHash(t, writeTree(t, sample), Options{}).Root; got != want {
		t.Errorf("root with excluded junk = %s, want %s", got, want)
	}
}

func TestBadInput(t *testing.T) {
	root := writeTree(t, [][2]string{{"a", "1"}})
	long := strings.Repeat("n", 255)
	tests := []struct {
		name    string
		path    func() string
		wantErr error
		wantMsg string
	}{
		{"missing path", func() string { return filepath.Join(root, "nope") }, os.ErrNotExist, "nope"},
		{"empty dataset", func() string { d := filepath.Join(root, "empty"); os.Mkdir(d, 0o755); return d }, ErrEmpty, "empty"},
		{"only excluded or empty dirs", func() string {
			d := filepath.Join(root, "hollow/x/y")
			os.MkdirAll(d, 0o755)
			return filepath.Join(root, "hollow")
		}, ErrEmpty, "hollow"},
		{"fifo as dataset", func() string {
			p := filepath.Join(root, "pipe")
			syscall.Mkfifo(p, 0o644)
			return p
		}, nil, "FIFO"},
		{"long and non-utf8 names are data", func() string {
			d := filepath.Join(root, "names")
			os.Mkdir(d, 0o755)
			os.WriteFile(filepath.Join(d, long), []byte("x"), 0o644)
			os.WriteFile(filepath.Join(d, "\xff\xfe.bin"), []byte("y"), 0o644)
			return d
		}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Hash(context.Background(), tt.path(), Options{})
			if tt.wantMsg == "" {
				if err != nil || res.Files != 2 {
					t.Fatalf("got %v, %v; want 2 files", res, err)
				}
				return
			}
			if err == nil {
				t.Fatal("want error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %q, want it to mention %q", err, tt.wantMsg)
			}
		})
	}
}

func TestFileChangedWhileHashed(t *testing.T) {
	root := writeTree(t, [][2]string{{"a", "1"}, {"b", "2"}})
	opts := Options{afterRead: func(p string) {
		if filepath.Base(p) == "b" {
			f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			f.Write([]byte("more"))
			f.Close()
		}
	}}
	_, err := Hash(context.Background(), root, opts)
	if !errors.Is(err, ErrChanged) || !strings.Contains(err.Error(), filepath.Join(root, "b")) {
		t.Fatalf("err = %v, want ErrChanged naming b", err)
	}
}

func TestCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Hash(ctx, writeTree(t, sample), Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func openCache(t *testing.T, dir, dataset string, window time.Duration) *statecache.Cache {
	c := statecache.Open(dir, dataset, "blake3")
	c.Window = window
	return c
}

func TestStateCache(t *testing.T) {
	cacheDir := t.TempDir()
	root := writeTree(t, sample)
	first := mustHash(t, root, Options{Cache: openCache(t, cacheDir, root, 0)})
	if first.Hashed != first.Files || first.Cached != 0 {
		t.Fatalf("cold run: hashed=%d cached=%d, want all hashed", first.Hashed, first.Cached)
	}
	second := mustHash(t, root, Options{Cache: openCache(t, cacheDir, root, 0)})
	if second.Hashed != 0 || second.Cached != first.Files || second.Root != first.Root {
		t.Fatalf("warm run: hashed=%d cached=%d root=%s, want none read and same root", second.Hashed, second.Cached, second.Root)
	}
	// Same size, new content: the key changes through mtime/ctime.
	if err := os.WriteFile(filepath.Join(root, "val.csv"), []byte("SUMMARY"), 0o644); err != nil {
		t.Fatal(err)
	}
	third := mustHash(t, root, Options{Cache: openCache(t, cacheDir, root, 0)})
	if third.Hashed != 1 || third.Root == first.Root {
		t.Fatalf("after edit: hashed=%d root changed=%v, want 1 file re-read and a new root", third.Hashed, third.Root != first.Root)
	}
	if want := mustHash(t, root, Options{}).Root; third.Root != want {
		t.Errorf("cached root %s != uncached root %s", third.Root, want)
	}
}

func TestStateCacheRacyClean(t *testing.T) {
	cacheDir := t.TempDir()
	root := writeTree(t, sample)
	// Files written a moment ago are inside the default window: their
	// digests must not be trusted on the next run.
	mustHash(t, root, Options{Cache: openCache(t, cacheDir, root, statecache.DefaultRacyWindow)})
	res := mustHash(t, root, Options{Cache: openCache(t, cacheDir, root, statecache.DefaultRacyWindow)})
	if res.Cached != 0 {
		t.Errorf("cached = %d, want 0 for files modified within the racy window", res.Cached)
	}
}

func TestStateCacheUntrusted(t *testing.T) {
	root := writeTree(t, sample)
	want := mustHash(t, root, Options{}).Root
	tests := []struct {
		name   string
		spoil  func(t *testing.T, cacheDir string)
		reason string
	}{
		{"garbage", func(t *testing.T, dir string) {
			overwriteCache(t, dir, func([]byte) []byte { return []byte("garbage") })
		}, "not an mlci state cache"},
		{"flipped byte", func(t *testing.T, dir string) {
			overwriteCache(t, dir, func(b []byte) []byte { b[len(b)/2] ^= 0xff; return b })
		}, "checksum"},
		{"truncated", func(t *testing.T, dir string) { overwriteCache(t, dir, func(b []byte) []byte { return b[:len(b)-5] }) }, "checksum"},
		{"other dataset", func(t *testing.T, dir string) {
			// Put another dataset's cache under this dataset's file name.
			mine, _ := os.ReadDir(dir)
			other := writeTree(t, sample)
			mustHash(t, other, Options{Cache: openCache(t, dir, other, 0)})
			all, _ := os.ReadDir(dir)
			for _, e := range all {
				if e.Name() != mine[0].Name() {
					data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
					os.WriteFile(filepath.Join(dir, mine[0].Name()), data, 0o644)
				}
			}
		}, "another dataset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			mustHash(t, root, Options{Cache: openCache(t, dir, root, 0)})
			tt.spoil(t, dir)
			c := openCache(t, dir, root, 0)
			if c.Len() != 0 || !strings.Contains(c.Reason, tt.reason) {
				t.Fatalf("spoiled cache loaded %d records, reason %q; want 0 and %q", c.Len(), c.Reason, tt.reason)
			}
			res := mustHash(t, root, Options{Cache: c})
			if res.Root != want || res.Cached != 0 {
				t.Errorf("root=%s cached=%d, want %s and nothing from the cache", res.Root, res.Cached, want)
			}
			if again := mustHash(t, root, Options{Cache: openCache(t, dir, root, 0)}); again.Cached != res.Files {
				t.Errorf("rebuilt cache served %d of %d files", again.Cached, res.Files)
			}
		})
	}
}

func overwriteCache(t *testing.T, dir string, f func([]byte) []byte) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) == 0 {
		t.Fatalf("no cache written in %s: %v", dir, err)
	}
	p := filepath.Join(dir, entries[0].Name())
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, f(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestStateCacheConcurrentRuns(t *testing.T) {
	root := writeTree(t, sample)
	dir := t.TempDir()
	want := mustHash(t, root, Options{}).Root
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := Hash(context.Background(), root, Options{Cache: openCache(t, dir, root, 0)})
			if err == nil && res.Root != want {
				err = fmt.Errorf("root %s, want %s", res.Root, want)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	c := openCache(t, dir, root, 0)
	if c.Len() != len(sample) {
		t.Errorf("after concurrent runs the cache holds %d records (%s), want %d", c.Len(), c.Reason, len(sample))
	}
}
