package datasync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mlci/mlci/internal/datahash"
	"github.com/mlci/mlci/internal/digest"
	"github.com/mlci/mlci/internal/lockfile"
	"github.com/mlci/mlci/internal/remote"
)

// file is one entry of a crafted lock: its path and content (a link's
// target when link is set).
type file struct {
	path, content string
	link          bool
}

// craft builds the set a lock listing files would give, as a pull request
// can write it, and a local remote holding every object.
func craft(t *testing.T, dsPath string, files []file) (*Set, remote.Store) {
	t.Helper()
	store, err := remote.OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var entries []datahash.Entry
	for _, f := range files {
		h := digest.BLAKE3.New()
		h.Write([]byte(f.content))
		e := datahash.Entry{Path: f.path, Type: datahash.File, Size: int64(len(f.content))}
		if f.link {
			e.Type = datahash.Symlink
		}
		copy(e.Sum[:], h.Sum(nil))
		entries = append(entries, e)
		d := digest.New(digest.BLAKE3, e.Sum[:])
		if err := store.Put(context.Background(), d, e.Size, strings.NewReader(f.content)); err != nil {
			t.Fatal(err)
		}
	}
	datahash.Sort(entries)
	ds := &lockfile.Dataset{Path: dsPath, Digest: datahash.Root(digest.BLAKE3, entries), Files: int64(len(entries))}
	return NewSet("ds", ds, entries), store
}

// outside is a folder beside the project, which no pull may write into.
func outside(t *testing.T) (project, out string) {
	base := t.TempDir()
	project, out = filepath.Join(base, "project"), filepath.Join(base, "outside")
	for _, d := range []string{project, out} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return project, out
}

func empty(t *testing.T, dir string) {
	t.Helper()
	if left, err := os.ReadDir(dir); err != nil || len(left) > 0 {
		t.Fatalf("%s holds %v (%v); pull wrote outside the dataset", dir, left, err)
	}
}

// A committed link on the way to a dataset's files must not carry pull's
// writes outside the project: the attack this guards against, tested as
// it would succeed through a plain join of the paths.
func TestPullRefusesLinkOnTheWay(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("links need privileges on Windows")
	}
	tests := []struct {
		name   string
		link   string // path in the project made a link
		target string // relative to the project; "" for the outside folder
	}{
		{"dataset folder is a link", "data/ds", ""},
		{"a parent is a link", "data", ""},
		{"a subfolder is a link", "data/ds/sub", ""},
		// os.Root alone allows this one: the link stays in the project.
		{"a subfolder links to git's hooks", "data/ds/sub", ".git/hooks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			project, out := outside(t)
			link := filepath.Join(project, filepath.FromSlash(tt.link))
			if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
				t.Fatal(err)
			}
			target := out
			if tt.target != "" {
				target = filepath.Join(project, filepath.FromSlash(tt.target))
				if err := os.MkdirAll(target, 0o755); err != nil {
					t.Fatal(err)
				}
				out = target
				rel, err := filepath.Rel(filepath.Dir(link), target)
				if err != nil {
					t.Fatal(err)
				}
				target = rel
			}
			if err := os.Symlink(target, link); err != nil {
				t.Fatal(err)
			}
			s, store := craft(t, "data/ds", []file{{path: "sub/evil.sh", content: "#!/bin/sh\necho owned\n"}, {path: "top", content: "x"}})
			_, err := Pull(context.Background(), project, store, s, PullOptions{})
			if !errors.Is(err, ErrUnsafePath) || !strings.Contains(err.Error(), "is a link") {
				t.Fatalf("Pull = %v, want ErrUnsafePath naming the link", err)
			}
			empty(t, out)
		})
	}
}

func TestPullRefusesUnsafePaths(t *testing.T) {
	tests := []struct {
		name   string
		dsPath string
		files  []file
	}{
		{"entry climbs out", "data/ds", []file{{path: "../../../outside/x", content: "x"}, {path: "a", content: "a"}}},
		{"dataset outside the project", "../outside", []file{{path: "x", content: "x"}, {path: "y", content: "y"}}},
		{"absolute dataset", "/tmp/mlci-pull-abs", []file{{path: "x", content: "x"}, {path: "y", content: "y"}}},
		{"git hook", ".", []file{{path: ".git/hooks/post-checkout", content: "#!/bin/sh\n"}, {path: "a", content: "a"}}},
		{"git hook in another case", ".", []file{{path: ".GIT/hooks/post-checkout", content: "#!/bin/sh\n"}, {path: "a", content: "a"}}},
		{"dataset inside git", ".git/hooks", []file{{path: "pre-commit", content: "#!/bin/sh\n"}, {path: "x", content: "x"}}},
		{"mlci's own lock", ".", []file{{path: "mlci.lock", content: "{}"}, {path: "a", content: "a"}}},
		{"dataset in mlci's store", ".mlci/objects", []file{{path: "x", content: "x"}, {path: "y", content: "y"}}},
		{"link to an absolute path", "data/ds", []file{{path: "passwd", content: "/etc/passwd", link: true}, {path: "a", content: "a"}}},
		{"link out of the dataset", "data/ds", []file{{path: "sub/up", content: "../../../outside", link: true}, {path: "a", content: "a"}}},
		{"link into git", ".", []file{{path: "hooks", content: ".git/hooks", link: true}, {path: "a", content: "a"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			project, out := outside(t)
			s, store := craft(t, tt.dsPath, tt.files)
			_, err := Pull(context.Background(), project, store, s, PullOptions{})
			if !errors.Is(err, ErrUnsafePath) {
				t.Fatalf("Pull = %v, want ErrUnsafePath", err)
			}
			empty(t, out)
			if _, err := os.Lstat(filepath.Join(project, ".git")); err == nil {
				t.Fatal("pull wrote into .git")
			}
			if _, err := os.Lstat(filepath.Join(project, "mlci.lock")); err == nil {
				t.Fatal("pull wrote mlci.lock")
			}
		})
	}
}

func TestPullPlacesFilesAndLinks(t *testing.T) {
	project := t.TempDir()
	files := []file{
		{path: "a", content: "same"},
		{path: "b/c", content: "same"},
		{path: "b/d", content: "other"},
		{path: "b/link", content: "../a", link: true},
		{path: "same-as-link", content: "../a"},
	}
	s, store := craft(t, "data/ds", files)
	st, err := Pull(context.Background(), project, store, s, PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Files != 5 || st.Transferred != 3 {
		t.Errorf("stats = %+v, want 5 files from 3 objects", st)
	}
	for _, f := range files {
		p := filepath.Join(project, "data", "ds", filepath.FromSlash(f.path))
		if f.link {
			if got, err := os.Readlink(p); err != nil || got != f.content {
				t.Errorf("link %s -> %q, %v; want %q", f.path, got, err, f.content)
			}
			continue
		}
		if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, []byte(f.content)) {
			t.Errorf("%s = %q, %v; want %q", f.path, got, err, f.content)
		}
	}
}

func TestDirsPostOrder(t *testing.T) {
	var entries []datahash.Entry
	for _, p := range []string{"a/b/c", "a/b/d/e", "a/f", "g", "h/i"} {
		entries = append(entries, datahash.Entry{Path: p, Type: datahash.File})
	}
	got := dirsPostOrder(entries)
	want := []string{"a/b/d", "a/b", "a", "h", ""}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("dirsPostOrder = %q, want %q", got, want)
	}
	n := 0
	if err := datahash.TreeObjects(digest.BLAKE3, entries, func(digest.Digest, []byte) error { n++; return nil }); err != nil || n != len(want) {
		t.Fatalf("TreeObjects emitted %d objects, want %d", n, len(want))
	}
}

// cancelAfter is a store whose Get cancels the pull after n objects, as a
// kill midway would stop it.
type cancelAfter struct {
	remote.Store
	n      atomic.Int64
	cancel context.CancelFunc
}

func (c *cancelAfter) Get(ctx context.Context, d digest.Digest) (io.ReadCloser, error) {
	if c.n.Add(-1) < 0 {
		c.cancel()
		return nil, context.Canceled
	}
	return c.Store.Get(ctx, d)
}

// have hashes what a folder holds, as data pull's Have does through the
// state cache.
func have(t *testing.T, dir string) func(context.Context) ([]datahash.Entry, error) {
	return func(ctx context.Context) ([]datahash.Entry, error) {
		res, err := datahash.Hash(ctx, dir, datahash.Options{Algorithm: digest.BLAKE3})
		if err != nil {
			return nil, err
		}
		return res.Entries, nil
	}
}

// A pull stopped midway leaves whole files only, and a rerun fetches just
// the rest.
func TestPullInterruptedThenRerun(t *testing.T) {
	project := t.TempDir()
	var files []file
	for i := range 40 {
		files = append(files, file{path: fmt.Sprintf("d%d/f%02d", i%4, i), content: strings.Repeat(string(rune('a'+i%26)), 1000+i)})
	}
	s, store := craft(t, "data/ds", files)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopping := &cancelAfter{Store: store, cancel: cancel}
	stopping.n.Store(10)
	dir := filepath.Join(project, "data", "ds")
	first, err := Pull(ctx, project, stopping, s, PullOptions{Transfer: remote.TransferOptions{Workers: 2}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted pull: %v", err)
	}
	placed, err := have(t, dir)(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(placed) == 0 || len(placed) >= len(files) || int64(len(placed)) != first.Files {
		t.Fatalf("the interrupted pull placed %d files (stats %d); want some, not all", len(placed), first.Files)
	}
	for _, e := range placed {
		var want string
		for _, f := range files {
			if f.path == e.Path {
				want = f.content
			}
		}
		if got, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(e.Path))); string(got) != want {
			t.Fatalf("%s is torn: %q", e.Path, got)
		}
	}
	second, err := Pull(context.Background(), project, store, s, PullOptions{Have: have(t, dir)})
	if err != nil {
		t.Fatal(err)
	}
	if second.Present != int64(len(placed)) || second.Transferred != int64(len(files)-len(placed)) {
		t.Fatalf("rerun: %+v; want %d present and the other %d fetched", second, len(placed), len(files)-len(placed))
	}
	if left, _ := os.ReadDir(filepath.Join(project, ".mlci", "tmp")); len(left) > 0 {
		t.Errorf("staging left behind: %v", left)
	}
}

// A dataset that is one file is pulled to its path, and pushed from it.
func TestSingleFileDataset(t *testing.T) {
	project := t.TempDir()
	s, store := craft(t, "labels/train.csv", []file{{path: "", content: "id,label\n1,cat\n"}})
	if _, err := Pull(context.Background(), project, store, s, PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(project, "labels", "train.csv")); err != nil || string(got) != "id,label\n1,cat\n" {
		t.Fatalf("pulled %q, %v", got, err)
	}
	other, err := remote.OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st, err := Push(context.Background(), project, other, s, remote.TransferOptions{})
	if err != nil || st.Transferred != 1 {
		t.Fatalf("push: %+v, %v; want the one object sent", st, err)
	}
	res, err := Check(context.Background(), other, s, CheckOptions{Batch: 1})
	if err != nil || len(res.Missing) != 0 || res.Objects != 1 {
		t.Fatalf("check: %+v, %v", res, err)
	}
}

// Pull does not fsync each file, so a crash before its final sync can
// leave a placed file emptied; a file can also be edited in place. Either
// way a rerun trusts a file only by its content, and fetches it again.
func TestPullRefetchesWhatNoLongerMatches(t *testing.T) {
	tests := []struct {
		name  string
		spoil func(t *testing.T, path string)
	}{
		{"emptied, as a crash before the sync can leave it", func(t *testing.T, path string) {
			if err := os.Truncate(path, 0); err != nil {
				t.Fatal(err)
			}
		}},
		{"same size and time, other content", func(t *testing.T, path string) {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, bytes.Repeat([]byte("x"), int(fi.Size())), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			project := t.TempDir()
			files := []file{{path: "a", content: "first file"}, {path: "sub/b", content: "second file"}}
			s, store := craft(t, "data", files)
			dir := filepath.Join(project, "data")
			if _, err := Pull(context.Background(), project, store, s, PullOptions{}); err != nil {
				t.Fatal(err)
			}
			tt.spoil(t, filepath.Join(dir, "sub", "b"))
			st, err := Pull(context.Background(), project, store, s, PullOptions{Have: have(t, dir)})
			if err != nil {
				t.Fatal(err)
			}
			if st.Present != 1 || st.Files != 1 {
				t.Errorf("rerun: %d present, %d written; want a kept and sub/b fetched again", st.Present, st.Files)
			}
			if got, err := os.ReadFile(filepath.Join(dir, "sub", "b")); err != nil || string(got) != "second file" {
				t.Errorf("sub/b = %q, %v; want its locked content back", got, err)
			}
		})
	}
}
