package jobrun_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mlci/mlci/internal/datahash"
	"github.com/mlci/mlci/internal/datasync"
	"github.com/mlci/mlci/internal/digest"
	"github.com/mlci/mlci/internal/lockfile"
	"github.com/mlci/mlci/internal/remote"
	"github.com/mlci/mlci/internal/syncbuf"
	"github.com/mlci/mlci/runner/hostconfig"
	"github.com/mlci/mlci/runner/jobrun"
	"github.com/mlci/mlci/runner/jobrun/jobruntest"
)

// volumeEngine is the in-memory engine, remembering the folder each
// dataset volume was filled from.
type volumeEngine struct {
	*jobruntest.Engine
	mu   sync.Mutex
	srcs []string
	// filling, when set, runs while a volume is filled from srcDir.
	filling func(srcDir string)
}

func (e *volumeEngine) DatasetVolume(ctx context.Context, d, srcDir, image string) (string, error) {
	e.mu.Lock()
	e.srcs = append(e.srcs, srcDir)
	e.mu.Unlock()
	if e.filling != nil {
		e.filling(srcDir)
	}
	return e.Engine.DatasetVolume(ctx, d, srcDir, image)
}

// remoteFixture is a runner host whose dataset_remote is a local folder.
type remoteFixture struct {
	host      *jobrun.Host
	engine    *volumeEngine
	remoteDir string
	store     *remote.Local
	log       syncbuf.Buffer // jobs of one host may log at once
}

func newRemoteFixture(t *testing.T) *remoteFixture {
	t.Helper()
	f := &remoteFixture{remoteDir: t.TempDir(), engine: &volumeEngine{Engine: jobruntest.New()}}
	store, err := remote.OpenLocal(f.remoteDir)
	if err != nil {
		t.Fatal(err)
	}
	f.store = store
	cfg := hostconfig.Default()
	cfg.StateDir = t.TempDir()
	cfg.DatasetRemote = &hostconfig.DatasetRemote{URL: "local:" + f.remoteDir}
	f.host = &jobrun.Host{Config: cfg, Engine: f.engine, Log: &f.log}
	return f
}

// push locks the files (path: content; a content starting "->" is a link)
// as mlci data lock would and pushes them as mlci data push does,
// returning the root digest.
func (f *remoteFixture) push(t *testing.T, files map[string]string) digest.Digest {
	t.Helper()
	project := t.TempDir()
	for p, c := range files {
		dst := filepath.Join(project, "ds", filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		if target, ok := strings.CutPrefix(c, "->"); ok {
			err = os.Symlink(target, dst)
		} else {
			err = os.WriteFile(dst, []byte(c), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	path := "ds"
	if p, c, ok := single(files); ok && p == "" {
		path = "single.bin"
		if err := os.WriteFile(filepath.Join(project, path), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := datahash.Hash(t.Context(), filepath.Join(project, path), datahash.Options{Algorithm: digest.Default})
	if err != nil {
		t.Fatal(err)
	}
	set := datasync.NewSet("ds", &lockfile.Dataset{Digest: res.Root, Path: path}, res.Entries)
	if _, err := datasync.Push(t.Context(), project, f.store, set, remote.TransferOptions{}); err != nil {
		t.Fatal(err)
	}
	return res.Root
}

func single(files map[string]string) (string, string, bool) {
	for p, c := range files {
		return p, c, len(files) == 1
	}
	return "", "", false
}

// putObject stores obj in the remote under its true digest.
func (f *remoteFixture) putObject(t *testing.T, obj []byte) digest.Digest {
	t.Helper()
	h := digest.Default.New()
	h.Write(obj)
	d := digest.New(digest.Default, h.Sum(nil))
	if err := f.store.Put(t.Context(), d, int64(len(obj)), bytes.NewReader(obj)); err != nil {
		t.Fatal(err)
	}
	return d
}

// putSubtree stores tree as folder "sub" of a root tree, both under their
// true digests, and returns the root's: a root that is not a well-formed
// tree is a single file's content, so an attack must sit below it.
func (f *remoteFixture) putSubtree(t *testing.T, tree []byte) digest.Digest {
	t.Helper()
	f.putObject(t, tree)
	root := datahash.EncodeTree([]datahash.TreeChild{{Name: "sub", Type: datahash.Dir, Sum: blobSum(t, string(tree))}})
	return f.putObject(t, root)
}

func blobSum(t *testing.T, content string) datahash.Sum {
	t.Helper()
	h := digest.Default.New()
	h.Write([]byte(content))
	var s datahash.Sum
	copy(s[:], h.Sum(nil))
	return s
}

// listing is the dataset folder's files, as "path content" lines.
func listing(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		var b []byte
		if d.Type()&os.ModeSymlink != 0 {
			s, err := os.Readlink(p)
			b = []byte("->" + s)
			if err != nil {
				return err
			}
		} else if b, err = os.ReadFile(p); err != nil {
			return err
		}
		out = append(out, filepath.ToSlash(rel)+" "+string(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func TestDatasetsByDigest(t *testing.T) {
	f := newRemoteFixture(t)
	files := map[string]string{"a.csv": "x,y\n1,2\n", "sub/b.csv": "3,4\n", "sub/same.csv": "3,4\n", "sub/link": "->b.csv"}
	root := f.push(t, files)

	ms, env, err := f.host.Datasets(t.Context(), "train@"+string(root), "img:1")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].Digest != string(root) || ms[0].Target != "/datasets/train" {
		t.Fatalf("mounts = %+v; want train at /datasets/train with digest %s", ms, root)
	}
	if env["MLCI_DATASET_TRAIN_DIGEST"] != string(root) {
		t.Errorf("env = %v", env)
	}
	src := f.engine.srcs[0]
	want := []string{"a.csv x,y\n1,2\n", "sub/b.csv 3,4\n", "sub/link ->b.csv", "sub/same.csv 3,4\n"}
	if got := listing(t, src); !slices.Equal(got, want) {
		t.Errorf("volume filled from %q\n%q\nwant\n%q", src, got, want)
	}
	if !strings.HasPrefix(src, f.host.Config.StateDir) {
		t.Errorf("pulled to %s, outside the state dir %s", src, f.host.Config.StateDir)
	}

	t.Run("second job reuses it without pulling", func(t *testing.T) {
		if err := os.RemoveAll(filepath.Join(f.remoteDir, "objects")); err != nil {
			t.Fatal(err)
		}
		ms, _, err := f.host.Datasets(t.Context(), "again@"+string(root), "img:1")
		if err != nil {
			t.Fatal(err)
		}
		if ms[0].Digest != string(root) || f.engine.srcs[1] != src {
			t.Errorf("second job: %+v from %s; want %s from %s", ms, f.engine.srcs[1], root, src)
		}
	})
}

// Jobs asking for the same digest at once each stage their own copy; one
// becomes the dataset, and every job mounts that one.
func TestDatasetsByDigestConcurrent(t *testing.T) {
	f := newRemoteFixture(t)
	root := f.push(t, map[string]string{"a": "1", "b/c": "2"})
	const jobs = 4
	var wg sync.WaitGroup
	errs := make([]error, jobs)
	for i := range jobs {
		wg.Go(func() {
			_, _, errs[i] = f.host.Datasets(t.Context(), "ds@"+string(root), "img:1")
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for _, src := range f.engine.srcs {
		if src != f.engine.srcs[0] {
			t.Errorf("jobs mounted different folders: %v", f.engine.srcs)
		}
	}
	if got := listing(t, f.engine.srcs[0]); !slices.Equal(got, []string{"a 1", "b/c 2"}) {
		t.Errorf("dataset = %q", got)
	}
	if left, _ := filepath.Glob(filepath.Join(f.host.Config.StateDir, "datasets", ".staging-*")); len(left) > 0 {
		t.Errorf("staging folders left: %v", left)
	}
}

func TestDatasetsByDigestSingleFile(t *testing.T) {
	f := newRemoteFixture(t)
	root := f.push(t, map[string]string{"": "weights"})
	if _, _, err := f.host.Datasets(t.Context(), "model@"+string(root), "img:1"); err != nil {
		t.Fatal(err)
	}
	if got := listing(t, f.engine.srcs[0]); !slices.Equal(got, []string{jobrun.SingleFileName + " weights"}) {
		t.Errorf("volume = %q", got)
	}
}

// A root object that is not a well-formed tree is the content of a
// single-file dataset: crafted tree bytes become one file, never paths.
func TestDatasetsByDigestBadRootIsAFile(t *testing.T) {
	f := newRemoteFixture(t)
	tree := datahash.EncodeTree([]datahash.TreeChild{{Name: "..", Type: datahash.File, Sum: blobSum(t, "x")}})
	root := f.putObject(t, tree)
	if _, _, err := f.host.Datasets(t.Context(), "ds@"+string(root), "img:1"); err != nil {
		t.Fatal(err)
	}
	if got := listing(t, f.engine.srcs[0]); !slices.Equal(got, []string{jobrun.SingleFileName + " " + string(tree)}) {
		t.Errorf("volume = %q", got)
	}
}

func TestDatasetsByDigestHostFolder(t *testing.T) {
	f := newRemoteFixture(t)
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "a"), []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := datahash.Hash(t.Context(), src, datahash.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.host.Config.Datasets = map[string]string{"local": src}
	f.host.Config.DatasetRemote = nil
	if _, _, err := f.host.Datasets(t.Context(), "local@"+string(res.Root), "img:1"); err != nil || f.engine.srcs[0] != src {
		t.Fatalf("host folder holding the digest: err %v, filled from %v", err, f.engine.srcs)
	}
	other := f.putObject(t, []byte("not here"))
	_, _, err = f.host.Datasets(t.Context(), "local@"+string(other), "img:1")
	if err == nil || !strings.Contains(err.Error(), "has no dataset_remote") {
		t.Errorf("another version without a remote: err = %v", err)
	}
}

// TestDatasetsByDigestRefuses holds the runner to what a job can make it
// do: the digest is the job's, the remote's content is only as good as
// it, and neither may write outside the staging folder or fill the disk.
func TestDatasetsByDigestRefuses(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, f *remoteFixture) string // MLCI_DATASETS
		want    string
		wantErr error
	}{
		{
			name: "a digest the remote lacks",
			setup: func(t *testing.T, f *remoteFixture) string {
				return "ds@blake3:" + strings.Repeat("ab", 32)
			},
			want:    "blake3:" + strings.Repeat("ab", 32) + " is not in the data remote",
			wantErr: remote.ErrNotFound,
		},
		{
			name: "a tree naming ../ to escape the folder",
			setup: func(t *testing.T, f *remoteFixture) string {
				f.putObject(t, []byte("owned"))
				tree := datahash.EncodeTree([]datahash.TreeChild{{Name: "..", Type: datahash.Dir, Sum: blobSum(t, "x")}, {Name: "evil", Type: datahash.File, Sum: blobSum(t, "owned")}})
				return "ds@" + string(f.putSubtree(t, tree))
			},
			wantErr: datahash.ErrBadTree,
		},
		{
			name: "a tree naming a/b to reach a subfolder",
			setup: func(t *testing.T, f *remoteFixture) string {
				f.putObject(t, []byte("owned"))
				tree := datahash.EncodeTree([]datahash.TreeChild{{Name: "a/b", Type: datahash.File, Sum: blobSum(t, "owned")}})
				return "ds@" + string(f.putSubtree(t, tree))
			},
			wantErr: datahash.ErrBadTree,
		},
		{
			name: "a blob stored under a digest it does not match",
			setup: func(t *testing.T, f *remoteFixture) string {
				root := f.push(t, map[string]string{"a.csv": "good", "b.csv": "also good"})
				d := digest.New(digest.Default, func() []byte { s := blobSum(t, "good"); return s[:] }())
				p := filepath.Join(f.remoteDir, "objects", string(d.Algorithm()), d.Hex()[:2], d.Hex())
				if err := os.WriteFile(p, []byte("evil"), 0o644); err != nil {
					t.Fatal(err)
				}
				return "ds@" + string(root)
			},
			wantErr: remote.ErrDigestMismatch,
		},
		{
			name: "a link out of the dataset",
			setup: func(t *testing.T, f *remoteFixture) string {
				return "ds@" + string(f.push(t, map[string]string{"a.csv": "1", "passwd": "->../../../../etc/passwd"}))
			},
			wantErr: datasync.ErrUnsafePath,
		},
		{
			name: "more bytes than dataset_max_bytes",
			setup: func(t *testing.T, f *remoteFixture) string {
				f.host.Config.DatasetMaxBytes = 10
				return "ds@" + string(f.push(t, map[string]string{"big": strings.Repeat("x", 100), "small": "y"}))
			},
			want:    "dataset_max_bytes",
			wantErr: jobrun.ErrDatasetTooBig,
		},
		{
			name: "one small blob placed at many paths",
			setup: func(t *testing.T, f *remoteFixture) string {
				f.host.Config.DatasetMaxBytes = 25
				files := map[string]string{}
				for _, p := range []string{"a", "b", "c", "d", "e", "f"} {
					files[p] = "12345"
				}
				return "ds@" + string(f.push(t, files))
			},
			wantErr: jobrun.ErrDatasetTooBig,
		},
		{
			name: "more files than dataset_max_files",
			setup: func(t *testing.T, f *remoteFixture) string {
				f.host.Config.DatasetMaxFiles = 2
				return "ds@" + string(f.push(t, map[string]string{"a": "1", "b": "2", "c/d": "3"}))
			},
			want:    "dataset_max_files",
			wantErr: jobrun.ErrDatasetTooBig,
		},
		{
			name: "a name that is a path",
			setup: func(t *testing.T, f *remoteFixture) string {
				return "../x@" + string(f.push(t, map[string]string{"a": "1"}))
			},
			want: "not a valid dataset name",
		},
		{
			name: "a malformed digest",
			setup: func(t *testing.T, f *remoteFixture) string {
				return "ds@blake3:../../etc"
			},
			want: "want 64 lowercase hex",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newRemoteFixture(t)
			list := tt.setup(t, f)
			_, _, err := f.host.Datasets(t.Context(), list, "img:1")
			if err == nil {
				t.Fatalf("Datasets(%q) succeeded; volume from %v", list, f.engine.srcs)
			}
			t.Log(err)
			if tt.want != "" && !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v; want it to say %q", err, tt.want)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v; want %v", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("err is not one line: %q", err)
			}
			if len(f.engine.srcs) != 0 {
				t.Errorf("a volume was made from %v", f.engine.srcs)
			}
			// Nothing is left but the (empty) datasets folder: no pulled
			// copy, no staging folder, nothing beside the state dir.
			left, _ := filepath.Glob(filepath.Join(f.host.Config.StateDir, "datasets", "*"))
			if hidden, _ := filepath.Glob(filepath.Join(f.host.Config.StateDir, "datasets", ".*")); len(hidden) > 0 {
				left = append(left, hidden...)
			}
			if len(left) > 0 {
				t.Errorf("left behind: %v", left)
			}
			if _, err := os.Lstat(filepath.Join(f.host.Config.StateDir, "evil")); err == nil {
				t.Error("a file was written outside the datasets folder")
			}
		})
	}
}

// pulledCopy is where the runner keeps the copy of d.
func (f *remoteFixture) pulledCopy(d digest.Digest) string {
	return filepath.Join(f.host.Config.StateDir, "datasets", string(d.Algorithm())+"-"+d.Hex())
}

// lastUsed dates the last use of the copy of d, as the cache records it.
func (f *remoteFixture) lastUsed(t *testing.T, d digest.Digest, at time.Time) {
	t.Helper()
	if err := os.Chtimes(f.pulledCopy(d)+".json", at, at); err != nil {
		t.Fatal(err)
	}
}

func (f *remoteFixture) cached(t *testing.T) []string {
	t.Helper()
	ds, err := f.host.CachedDatasets(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range ds {
		out = append(out, d.Name)
	}
	return out
}

// lockable reports whether dir could be locked for eviction now.
func lockable(t *testing.T, dir string) bool {
	t.Helper()
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil
}

// TestDatasetsByDigestBoundsTheCache pulls datasets of 8 bytes into a
// cache of 25 with pulls of at most 10: each pull first makes room for 10.
func TestDatasetsByDigestBoundsTheCache(t *testing.T) {
	f := newRemoteFixture(t)
	f.host.Config.DatasetMaxBytes = 10
	f.host.Config.DatasetCacheMaxBytes = 25
	a := f.push(t, map[string]string{"x": "aaaaaaaa"})
	b := f.push(t, map[string]string{"x": "bbbbbbbb"})
	c := f.push(t, map[string]string{"x": "cccccccc"})
	d := f.push(t, map[string]string{"x": "dddddddd"})
	day := func(n int) time.Time { return time.Date(2026, 1, n, 0, 0, 0, 0, time.UTC) }

	t.Run("a copy is locked while its volume fills, and only then", func(t *testing.T) {
		var lockedWhileFilling bool
		f.engine.filling = func(src string) { lockedWhileFilling = !lockable(t, src) }
		defer func() { f.engine.filling = nil }()
		if _, _, err := f.host.Datasets(t.Context(), "a@"+string(a), "img:1"); err != nil {
			t.Fatal(err)
		}
		if !lockedWhileFilling {
			t.Error("the copy could be evicted while its volume was filled")
		}
		if !lockable(t, f.pulledCopy(a)) {
			t.Error("the copy is still locked after the job's datasets are in place")
		}
		ds, err := f.host.CachedDatasets(t.Context())
		if err != nil || len(ds) != 1 || ds[0].Bytes != 8 || ds[0].Files != 1 || ds[0].Name != "a" || ds[0].InUse {
			t.Errorf("cache = %+v, %v; want a, 8 bytes in 1 file, not in use", ds, err)
		}
	})
	t.Run("a use moves a copy ahead of one pulled later", func(t *testing.T) {
		if _, _, err := f.host.Datasets(t.Context(), "b@"+string(b), "img:1"); err != nil {
			t.Fatal(err)
		}
		f.lastUsed(t, a, day(1))
		f.lastUsed(t, b, day(2))
		if err := os.RemoveAll(filepath.Join(f.remoteDir, "objects", "blake3", a.Hex()[:2])); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.host.Datasets(t.Context(), "a@"+string(a), "img:1"); err != nil {
			t.Fatalf("a is cached and needs no pull: %v", err)
		}
		// 16 bytes held leave no room for 10 under 25: b, now the least
		// recently used, goes before c is pulled.
		if _, _, err := f.host.Datasets(t.Context(), "c@"+string(c), "img:1"); err != nil {
			t.Fatal(err)
		}
		if got, want := f.cached(t), []string{"a", "c"}; !slices.Equal(got, want) {
			t.Errorf("cache = %q, want %q", got, want)
		}
		if _, err := os.Lstat(f.pulledCopy(b)); err == nil {
			t.Error("b's folder is still there")
		}
		if !strings.Contains(f.log.String(), "evicted "+string(b)) {
			t.Errorf("the log does not say b was evicted:\n%s", f.log.String())
		}
	})
	t.Run("a copy another job is reading stays", func(t *testing.T) {
		f.lastUsed(t, a, day(1))
		f.lastUsed(t, c, day(2))
		job, err := os.Open(f.pulledCopy(a))
		if err != nil {
			t.Fatal(err)
		}
		defer job.Close()
		if err := unix.Flock(int(job.Fd()), unix.LOCK_SH); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.host.Datasets(t.Context(), "d@"+string(d), "img:1"); err != nil {
			t.Fatal(err)
		}
		if got, want := f.cached(t), []string{"a", "d"}; !slices.Equal(got, want) {
			t.Errorf("cache = %q, want %q (a is being read; c was the next least recently used)", got, want)
		}
	})
}
