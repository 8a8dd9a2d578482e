package lockfile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlci/mlci/internal/datahash"
	"github.com/mlci/mlci/internal/digest"
)

// treeLocked turns v into a tree-locked version whose trees are stored in
// the project at dir.
func treeLocked(t *testing.T, dir string, v version) version {
	t.Helper()
	store, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteTrees(context.Background(), store, digest.BLAKE3, v.entries); err != nil {
		t.Fatal(err)
	}
	ds := *v.ds
	ds.Manifest, ds.Trees = "", TreesInObjects
	v.ds, v.manifest = &ds, nil
	return v
}

func TestTreeLockedRoundTrip(t *testing.T) {
	dir := t.TempDir()
	small := makeVersion("a", "b")
	// The dataset was small when first locked, then grew past the
	// threshold: its manifest goes, its trees come.
	if err := Save(dir, lockOf(small), map[string][]byte{"images": small.manifest}); err != nil {
		t.Fatal(err)
	}
	big := treeLocked(t, dir, makeVersion("a", "b", "c/d", "c/e"))
	if err := Save(dir, lockOf(big), nil); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"version": 2`, `"trees": "objects"`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("mlci.lock lacks %s:\n%s", want, raw)
		}
	}
	if strings.Contains(string(raw), `"manifest"`) {
		t.Errorf("mlci.lock names a manifest for a tree-locked dataset:\n%s", raw)
	}
	if names := dirNames(t, filepath.Join(dir, ManifestDir)); len(names) != 0 {
		t.Errorf("manifests left in %s: %v", ManifestDir, names)
	}
	l, manifests, err := Load(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !l.Datasets["images"].InTrees() {
		t.Errorf("read back as %+v", l.Datasets["images"])
	}
	if err := manifests.Err(); err != nil {
		t.Fatal(err)
	}
	got, err := manifests.Get("images")
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range got {
		paths = append(paths, e.Path)
	}
	if d := cmp.Diff([]string{"a", "b", "c/d", "c/e"}, paths); d != "" {
		t.Errorf("entries (-want +got):\n%s", d)
	}
	if ignore, err := os.ReadFile(filepath.Join(dir, StoreDir, ".gitignore")); err != nil || !strings.Contains(string(ignore), "*") {
		t.Errorf(".mlci/.gitignore = %q, %v; want one that ignores everything", ignore, err)
	}
}

func TestSmallLockStaysVersion1(t *testing.T) {
	v := makeVersion("a")
	enc := string(lockOf(v).Encode())
	if !strings.Contains(enc, `"version": 1`) || strings.Contains(enc, "trees") {
		t.Errorf("a lock with manifests only is encoded as:\n%s", enc)
	}
}

func TestTreeLockedMissingObject(t *testing.T) {
	dir := t.TempDir()
	big := treeLocked(t, dir, makeVersion("a", "c/d"))
	if err := Save(dir, lockOf(big), nil); err != nil {
		t.Fatal(err)
	}
	// A fresh clone: the lock came with git, the object store did not.
	if err := os.RemoveAll(filepath.Join(dir, StoreDir)); err != nil {
		t.Fatal(err)
	}
	_, manifests, err := Load(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = manifests.Get("images")
	if !errors.Is(err, ErrNoTrees) {
		t.Fatalf("Get = %v, want ErrNoTrees", err)
	}
	for _, want := range []string{`dataset "images"`, "mlci data pull images", "mlci data lock images", string(big.ds.Digest)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error is more than one line: %q", err)
	}
}

func TestTreeLockedCorruptObjectRefused(t *testing.T) {
	dir := t.TempDir()
	big := treeLocked(t, dir, makeVersion("a", "c/d"))
	if err := Save(dir, lockOf(big), nil); err != nil {
		t.Fatal(err)
	}
	var objs []string
	filepath.WalkDir(filepath.Join(dir, StoreDir, "objects"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			objs = append(objs, p)
		}
		return nil
	})
	slices.Sort(objs)
	for _, p := range objs {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, 0o644)
		if err := os.WriteFile(p, append(data, 'x'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, manifests, err := Load(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := manifests.Get("images"); !errors.Is(err, datahash.ErrBadTree) || !strings.Contains(err.Error(), `dataset "images"`) {
		t.Errorf("Get = %v, want ErrBadTree naming the dataset", err)
	}
}

func TestParseTrees(t *testing.T) {
	good := `{"version": 2, "datasets": {"a": {"path": "a", "files": 1, "digest": "` + goodDigest + `", "trees": "objects"}}}`
	if _, err := Parse("mlci.lock", []byte(good)); err != nil {
		t.Errorf("tree-locked dataset: %v", err)
	}
	tests := []struct {
		name, lock, want string
	}{
		{"unknown trees", `{"version": 2, "datasets": {"a": {"path": "a", "files": 1, "digest": "` + goodDigest + `", "trees": "s3"}}}`, "upgrade mlci"},
		{"trees and manifest", `{"version": 2, "datasets": {"a": {"path": "a", "files": 1, "digest": "` + goodDigest + `", "trees": "objects", "manifest": "mlci.lock.d/a.tsv"}}}`, "both"},
		{"neither", `{"version": 2, "datasets": {"a": {"path": "a", "files": 1, "digest": "` + goodDigest + `"}}}`, "not a file in mlci.lock.d/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("mlci.lock", []byte(tt.lock))
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse = %v, want ErrMalformed mentioning %q", err, tt.want)
			}
		})
	}
}

// TestTreeSink: objects within the bound stay in memory until Flush (a
// dataset that gets a manifest writes none); past it they go to the store.
func TestTreeSink(t *testing.T) {
	obj := []byte("mlci tree 1\n")
	h := digest.BLAKE3.New()
	h.Write(obj)
	d := digest.New(digest.BLAKE3, h.Sum(nil))
	tests := []struct {
		name      string
		limit     int
		flush     bool
		wantStore bool
	}{
		{"held, never flushed", 1 << 10, false, false},
		{"held, flushed", 1 << 10, true, true},
		{"past the bound", 1, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := NewTreeSink(context.Background(), dir, tt.limit)
			if err := s.Put(d, obj); err != nil {
				t.Fatal(err)
			}
			if tt.flush {
				if err := s.Flush(); err != nil {
					t.Fatal(err)
				}
			}
			store, err := OpenStore(dir)
			if err != nil {
				t.Fatal(err)
			}
			has, err := store.Has(context.Background(), []digest.Digest{d})
			if err != nil {
				t.Fatal(err)
			}
			if has[0] != tt.wantStore {
				t.Errorf("in the store: %v, want %v", has[0], tt.wantStore)
			}
		})
	}
}
