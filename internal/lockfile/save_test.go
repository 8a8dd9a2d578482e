package lockfile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mlci/mlci/internal/datahash"
	"github.com/mlci/mlci/internal/digest"
)

// version is one state of a dataset: its lock entry and manifest.
type version struct {
	ds       *Dataset
	entries  []datahash.Entry
	manifest []byte
}

func makeVersion(files ...string) version {
	var entries []datahash.Entry
	var size int64
	for i, f := range files {
		e := datahash.Entry{Path: f, Type: datahash.File, Size: int64(10 + i), Sum: datahash.Sum{byte(len(f)), byte(i)}}
		entries = append(entries, e)
		size += e.Size
	}
	datahash.Sort(entries)
	return version{
		ds: &Dataset{
			Path: "data/images", Digest: datahash.Root(digest.BLAKE3, entries), Files: int64(len(entries)), Bytes: size,
			Manifest: ManifestPath("images"),
		},
		entries:  entries,
		manifest: EncodeManifest(digest.BLAKE3, entries),
	}
}

func lockOf(v version) *Lock {
	l := New()
	d := *v.ds
	l.Datasets["images"] = &d
	return l
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	slices.Sort(out)
	return out
}

// A Save killed at any point leaves a pair that Load reads as the old state
// or the new one, never a lock with a manifest of the other; the next Save
// finishes or removes what it left. The states are built as each step of
// Save leaves them.
func TestSaveKilledMidWay(t *testing.T) {
	oldV := makeVersion("a", "b", "c")
	newV := makeVersion("a", "b", "c", "d")
	tests := []struct {
		name  string
		crash func(t *testing.T, dir string)
		want  version
	}{
		{"writing a staged manifest", func(t *testing.T, dir string) {
			tmp := filepath.Join(dir, filepath.FromSlash(pendingPath(newV.ds))) + ".tmp-123"
			os.WriteFile(filepath.Join(filepath.Dir(tmp), "."+filepath.Base(tmp)), newV.manifest[:20], 0o600)
		}, oldV},
		{"before the lock", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, filepath.FromSlash(pendingPath(newV.ds))), newV.manifest, 0o644)
		}, oldV},
		{"writing the lock", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, filepath.FromSlash(pendingPath(newV.ds))), newV.manifest, 0o644)
			os.WriteFile(filepath.Join(dir, ".mlci.lock.tmp-456"), lockOf(newV).Encode()[:30], 0o600)
		}, oldV},
		{"after the lock", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, filepath.FromSlash(pendingPath(newV.ds))), newV.manifest, 0o644)
			if err := Write(filepath.Join(dir, FileName), lockOf(newV)); err != nil {
				t.Fatal(err)
			}
		}, newV},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := Save(dir, lockOf(oldV), map[string][]byte{"images": oldV.manifest}); err != nil {
				t.Fatal(err)
			}
			tt.crash(t, dir)
			l, manifests, err := Load(context.Background(), dir, nil)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got := l.Datasets["images"].Digest; got != tt.want.ds.Digest {
				t.Errorf("lock holds %s, want %s", got.Short(), tt.want.ds.Digest.Short())
			}
			entries, err := manifests.Get("images")
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want.entries, entries); d != "" {
				t.Errorf("manifest (-want +got):\n%s", d)
			}

			// The next run, locking another dataset, keeps images as it is
			// and leaves only the pair.
			l.Datasets["other"] = &Dataset{Path: "other", Digest: oldV.ds.Digest, Files: oldV.ds.Files, Bytes: oldV.ds.Bytes, Manifest: ManifestPath("other")}
			if err := Save(dir, l, map[string][]byte{"other": oldV.manifest}); err != nil {
				t.Fatal(err)
			}
			want := []string{"mlci.lock", "mlci.lock.d/images.tsv", "mlci.lock.d/other.tsv"}
			if got := dirNames(t, dir); !slices.Equal(got, want) {
				t.Errorf("files after the next Save: %v, want %v", got, want)
			}
			got, err := ReadManifest(dir, "images", tt.want.ds)
			if err != nil || !cmp.Equal(got, tt.want.entries) {
				t.Errorf("images manifest after the next Save: %v", err)
			}
		})
	}
}

func TestReadManifestRefusesWhatDoesNotMatch(t *testing.T) {
	v := makeVersion("a", "b", "c")
	tests := []struct {
		name string
		edit func(string) string
		want error
		msg  string
	}{
		{"digest", func(s string) string { return strings.Replace(s, "\t0", "\t1", 1) }, ErrMismatch, "mlci data lock images"},
		{"size", func(s string) string { return strings.Replace(s, "\t10\t", "\t11\t", 1) }, ErrMismatch, "mlci data lock images"},
		{"line dropped", func(s string) string { return s[:strings.LastIndex(s[:len(s)-1], "\n")+1] }, ErrMismatch, "2 files"},
		{"cut mid-line", func(s string) string { return s[:len(s)-3] }, ErrMalformed, "cut short"},
		{"newer format", func(s string) string { return strings.Replace(s, "manifest 1", "manifest 2", 1) }, ErrNewerVersion, "upgrade mlci"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := Save(dir, lockOf(v), map[string][]byte{"images": v.manifest}); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, "mlci.lock.d", "images.tsv")
			os.WriteFile(p, []byte(tt.edit(string(v.manifest))), 0o644)
			_, err := ReadManifest(dir, "images", v.ds)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), "mlci.lock.d/images.tsv") || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %v, want %v naming the file and %q", err, tt.want, tt.msg)
			}
			_, manifests, err := Load(context.Background(), dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, gerr := manifests.Get("images"); !errors.Is(gerr, tt.want) || !errors.Is(manifests.Err(), tt.want) {
				t.Errorf("Load: Get gives %v, Err %v; want %v", gerr, manifests.Err(), tt.want)
			}
		})
	}
}

// A writer waits for another to finish; readers wait for a writer.
func TestAcquireSerialisesWriters(t *testing.T) {
	dir := t.TempDir()
	v := makeVersion("a")
	if err := Save(dir, lockOf(v), map[string][]byte{"images": v.manifest}); err != nil {
		t.Fatal(err)
	}
	release, err := Acquire(context.Background(), dir, func() { t.Error("first writer waited") })
	if err != nil {
		t.Fatal(err)
	}
	ignore, err := os.ReadFile(filepath.Join(dir, ".mlci", ".gitignore"))
	if err != nil || !strings.Contains(string(ignore), "*") {
		t.Errorf(".mlci/.gitignore = %q, %v; the mutex file must not be committed", ignore, err)
	}
	for _, who := range []string{"writer", "reader"} {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		waited := 0
		wait := func() { waited++ }
		if who == "writer" {
			_, err = Acquire(ctx, dir, wait)
		} else {
			_, _, err = Load(ctx, dir, wait)
		}
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || waited != 1 {
			t.Errorf("%s while a writer holds the lock: %v, told of the wait %d times; want a wait, told once", who, err, waited)
		}
	}
	done := make(chan error)
	go func() {
		r, err := Acquire(context.Background(), dir, nil)
		if err == nil {
			r()
		}
		done <- err
	}()
	release()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("second writer still waiting after the first released")
	}
}

// A Save that fails before it replaces the lock leaves the lock and every
// manifest as they were, and nothing staged.
func TestSaveFailureChangesNothing(t *testing.T) {
	dir := t.TempDir()
	oldV, newV := makeVersion("a", "b"), makeVersion("a", "b", "c")
	if err := Save(dir, lockOf(oldV), map[string][]byte{"images": oldV.manifest}); err != nil {
		t.Fatal(err)
	}
	before := map[string]string{}
	for _, f := range dirNames(t, dir) {
		data, _ := os.ReadFile(filepath.Join(dir, f))
		before[f] = string(data)
	}
	l := lockOf(newV)
	zz := *newV.ds
	zz.Manifest = ManifestPath("zz")
	l.Datasets["zz"] = &zz
	// zz sorts after images: its manifest cannot be staged, where a
	// non-empty directory is in the way, after images' was.
	block := filepath.Join(dir, filepath.FromSlash(pendingPath(&zz)))
	if err := os.MkdirAll(filepath.Join(block, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := Save(dir, l, map[string][]byte{"images": newV.manifest, "zz": newV.manifest})
	if err == nil || errors.Is(err, ErrPartial) {
		t.Fatalf("Save: %v, want a failure before the lock was replaced", err)
	}
	os.RemoveAll(block)
	after := map[string]string{}
	for _, f := range dirNames(t, dir) {
		data, _ := os.ReadFile(filepath.Join(dir, f))
		after[f] = string(data)
	}
	if d := cmp.Diff(before, after); d != "" {
		t.Errorf("a failed Save changed files (-before +after):\n%s", d)
	}
}
