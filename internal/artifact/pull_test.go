package artifact

import (
	"archive/tar"
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// readTree lists a folder as path -> content ("-> target" for links).
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.Type()&os.ModeSymlink != 0:
			target, err := os.Readlink(p)
			got[filepath.ToSlash(rel)] = "-> " + target
			return err
		case d.IsDir():
			got[filepath.ToSlash(rel)+"/"] = ""
		default:
			b, err := os.ReadFile(p)
			got[filepath.ToSlash(rel)] = string(b)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// Into an existing folder a pull writes everything or nothing: what would
// fail halfway, or replace a file unasked, is refused before any move.
func TestPullIntoExistingFolder(t *testing.T) {
	ctx := context.Background()
	s, _ := openLayout(t)
	src := filepath.Join(t.TempDir(), "model")
	writeTree(t, src, map[string]string{"a.txt": "new a", "zz/inner.txt": "inner"}, []string{"a.txt", "zz/inner.txt"}, time.Now())
	p, err := s.Push(ctx, "m", src, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		existing  map[string]string // "-> x" makes a link
		overwrite bool
		wantErr   string
		want      map[string]string // nil: as existing
	}{
		{"new files go in beside old ones", map[string]string{"keep.txt": "keep"}, false, "",
			map[string]string{"keep.txt": "keep", "a.txt": "new a", "zz/": "", "zz/inner.txt": "inner"}},
		{"a file in the way", map[string]string{"a.txt": "old a"}, false, "a.txt exists in", nil},
		{"a file in the way, replaced when asked", map[string]string{"a.txt": "old a"}, true, "",
			map[string]string{"a.txt": "new a", "zz/": "", "zz/inner.txt": "inner"}},
		{"a file where a folder goes", map[string]string{"zz": "a file"}, true, "zz in", nil},
		{"a folder where a file goes", map[string]string{"a.txt/x": "x"}, true, "a.txt in", nil},
		{"a link where a folder goes", map[string]string{"elsewhere/y": "y", "zz": "-> elsewhere"}, true, "symbolic link", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := t.TempDir()
			for name, body := range tt.existing {
				path := filepath.Join(out, filepath.FromSlash(name))
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if target, ok := strings.CutPrefix(body, "-> "); ok {
					err = os.Symlink(target, path)
				} else {
					err = os.WriteFile(path, []byte(body), 0o644)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			before := readTree(t, out)
			_, err := s.Pull(ctx, p.Digest, out, PullOptions{Overwrite: tt.overwrite})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Pull error = %v; want one containing %q", err, tt.wantErr)
				}
				if tt.wantErr == "a.txt exists in" && !errors.Is(err, ErrExists) {
					t.Errorf("error %v is not ErrExists", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want == nil {
				want = before
			}
			if d := cmp.Diff(want, readTree(t, out)); d != "" {
				t.Errorf("folder after the pull (-want +got):\n%s", d)
			}
		})
	}
}

// An existing link in the folder counts when the artifact's links are
// resolved.
func TestPullLinkThroughExistingLink(t *testing.T) {
	ctx := context.Background()
	s, _ := openLayout(t)
	src := filepath.Join(t.TempDir(), "model")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("up/x", filepath.Join(src, "c")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "f"), []byte("f"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := s.Push(ctx, "m", src, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := os.Symlink("..", filepath.Join(out, "up")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pull(ctx, p.Digest, out, PullOptions{Overwrite: true}); err == nil || !strings.Contains(err.Error(), "escapes") {
		t.Errorf("Pull error = %v; want the link c -> up/x refused", err)
	}
	if _, err := os.Lstat(filepath.Join(out, "f")); err == nil {
		t.Error("a refused pull wrote f")
	}
}

// A move that fails undoes the moves before it.
func TestPlaceUndoes(t *testing.T) {
	dir := t.TempDir()
	staging := stagingPrefix + "test"
	files := map[string]string{
		"old.txt":                   "old",
		staging + "/old.txt":        "new",
		staging + "/new/deep/x.txt": "x",
		staging + "/also/y.txt":     "y",
	}
	for name, body := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	before := readTree(t, dir)
	entries := []entry{
		{name: "old.txt", kind: tar.TypeReg},
		{name: filepath.Join("new", "deep", "x.txt"), kind: tar.TypeReg},
		{name: "empty", kind: tar.TypeDir},
		{name: "missing.txt", kind: tar.TypeReg}, // not staged: its move fails
		{name: filepath.Join("also", "y.txt"), kind: tar.TypeReg},
	}
	err = place(root, staging, entries)
	if err == nil || !strings.Contains(err.Error(), "missing.txt") {
		t.Fatalf("place error = %v; want the failed move named", err)
	}
	after := readTree(t, dir)
	// The staging folder keeps what was moved back; the caller removes it.
	for name := range after {
		if strings.HasPrefix(name, staging) {
			delete(after, name)
		}
	}
	for name := range before {
		if strings.HasPrefix(name, staging) {
			delete(before, name)
		}
	}
	if d := cmp.Diff(before, after); d != "" {
		t.Errorf("folder after a failed place (-before +after):\n%s", d)
	}
	if names := slices.Sorted(maps.Keys(after)); len(names) != 1 {
		t.Errorf("left %v", names)
	}
}
