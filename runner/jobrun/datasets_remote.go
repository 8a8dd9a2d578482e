package jobrun

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mlci/mlci/internal/datahash"
	"github.com/mlci/mlci/internal/datasync"
	"github.com/mlci/mlci/internal/digest"
	"github.com/mlci/mlci/internal/lockfile"
	"github.com/mlci/mlci/internal/remote"
	"github.com/mlci/mlci/internal/statecache"
)

// ErrDatasetTooBig means a dataset pulled by digest would pass the host's
// dataset_max_bytes or dataset_max_files; the pull stops before the disk
// fills.
var ErrDatasetTooBig = errors.New("larger than this runner allows")

// maxTreeObject bounds one tree object read from the remote: a directory
// of a million entries is about 50 MB, and the object is held in memory.
const maxTreeObject = 64 << 20

// SingleFileName is the file a single-file dataset pulled by digest is in
// its folder: /datasets/NAME/file.
const SingleFileName = "file"

// staleStaging is how old a staging folder must be before a pull removes
// it as a killed runner's.
const staleStaging = 24 * time.Hour

// datasetByDigest returns a host folder whose content hashes to d: the
// host's own folder for name when it holds that version, else the copy
// pulled earlier, else a new one pulled from dataset_remote. The job picks
// name and d only; the remote, the folders and the credentials are the
// host's. A copy from the cache comes locked against eviction: the caller
// releases it once done reading it.
func (h *Host) datasetByDigest(ctx context.Context, name string, d digest.Digest, cacheDir string) (string, *heldCopy, error) {
	if src, ok := h.Config.Datasets[name]; ok {
		res, err := datahash.Hash(ctx, src, datahash.Options{
			Algorithm:  d.Algorithm(),
			Cache:      statecache.Open(cacheDir, src, string(d.Algorithm())),
			MaxEntries: datahash.NoEntries,
		})
		if err == nil && res.Root == d {
			return src, nil, nil
		}
	}
	c := h.datasetCache()
	if err := c.open(); err != nil {
		return "", nil, err
	}
	dir := c.copyDir(d)
	if held, ok := c.use(d); ok {
		return dir, held, nil
	}
	r := h.Config.DatasetRemote
	if r == nil {
		return "", nil, fmt.Errorf("dataset %s: %s is not on this runner, and the runner has no dataset_remote to pull it from: set dataset_remote in its config", name, d)
	}
	// Credentials are the runner's own environment; a job's variables
	// never reach this process's environment.
	store, err := remote.Open(ctx, r.Spec(), "", remote.Options{Getenv: os.Getenv})
	if err != nil {
		return "", nil, fmt.Errorf("dataset %s: dataset_remote %s: %w", name, r, err)
	}
	h.logf("dataset %s: pulling %s from %s", name, d, r)
	held, err := h.pullDataset(ctx, store, name, d, c)
	if err != nil {
		return "", nil, err
	}
	h.evictDatasets(ctx, c, c.max, "after the pull")
	return dir, held, nil
}

// evictDatasets bounds the cache on a job's path. Failing to is no reason
// to fail the job: the log says why, and the next pull tries again.
func (h *Host) evictDatasets(ctx context.Context, c *datasetCache, target int64, why string) {
	res, err := c.evict(ctx, target, false)
	for _, e := range res.Evicted {
		h.logf("dataset cache: evicted %s (%s, %d bytes, last used %s) %s", e.Digest, e.Name, e.Bytes, e.LastUsed.Format(time.RFC3339), why)
	}
	if err != nil {
		h.logf("dataset cache: %v", err)
	}
	if res.Bytes > target && err == nil {
		h.logf("dataset cache: %d bytes kept, over the %d wanted %s: %d dataset(s) being read by jobs stay until a later pull", res.Bytes, target, why, len(res.Busy))
	}
}

// pullDataset materializes the dataset d from store into the cache c. It
// stages in a folder of its own beside the copy, so jobs pulling the same
// digest at once never write into each other's files, verifies that the
// whole result hashes to d, and only then renames it into place, already
// locked for this job; the loser of a race uses the winner's identical
// copy.
func (h *Host) pullDataset(ctx context.Context, store remote.Store, name string, d digest.Digest, c *datasetCache) (*heldCopy, error) {
	cfg := h.Config
	dir := c.copyDir(d)
	staging, err := os.MkdirTemp(c.dir, ".staging-*")
	if err != nil {
		return nil, fmt.Errorf("dataset %s: staging folder: %w", name, err)
	}
	defer os.RemoveAll(staging)

	has, err := store.Has(ctx, []digest.Digest{d})
	if err != nil {
		return nil, fmt.Errorf("dataset %s: data remote %s: %w", name, store, err)
	}
	if !has[0] {
		return nil, fmt.Errorf("dataset %s: %s is not in the data remote %s: run mlci data push where it is locked: %w", name, d, store, remote.ErrNotFound)
	}
	entries, err := listDataset(ctx, store, d, cfg.DatasetMaxFiles)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %s: %w", name, d, err)
	}
	// Path is where Pull puts the dataset under staging; the job's name
	// never becomes a host path. A volume is a folder, so a single-file
	// dataset is the one file SingleFileName in it.
	path, hashed := "data", "data"
	if len(entries) == 1 && entries[0].Path == "" {
		hashed = "data/" + SingleFileName
		path = hashed
	}
	// Room is made once the remote has shown it holds a well-formed
	// dataset; tree objects record no sizes, so room for the largest one
	// a pull may bring.
	h.evictDatasets(ctx, c, max(c.max-int64(cfg.DatasetMaxBytes), 0), "to make room")
	set := datasync.NewSet(name, &lockfile.Dataset{Digest: d, Path: path}, entries)
	bounded := newBoundedStore(store, d.Algorithm(), entries, int64(cfg.DatasetMaxBytes))
	if _, err := datasync.Pull(ctx, staging, bounded, set, datasync.PullOptions{}); err != nil {
		return nil, fmt.Errorf("dataset %s: pull %s from %s: %w", name, d, store, err)
	}
	got := filepath.Join(staging, "data")
	res, err := datahash.Hash(ctx, filepath.Join(staging, filepath.FromSlash(hashed)), datahash.Options{Algorithm: d.Algorithm(), MaxEntries: datahash.NoEntries})
	if err != nil {
		return nil, fmt.Errorf("dataset %s: verify %s: %w", name, d, err)
	}
	if res.Root != d {
		return nil, fmt.Errorf("dataset %s: what the data remote gave for %s hashes to %s, so it was not used: %w", name, d, res.Root, remote.ErrDigestMismatch)
	}
	// Locked before the rename (the lock is the folder's and moves with
	// it), so no eviction can take the copy between its arrival and this
	// job's use of it.
	f, err := os.Open(got)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", name, err)
	}
	held := &heldCopy{f: f}
	if err := flock(f, unix.LOCK_SH); err != nil {
		held.release()
		return nil, fmt.Errorf("dataset %s: lock %s: %w", name, got, err)
	}
	if err := os.Rename(got, dir); err != nil {
		held.release()
		// Another job pulled the same digest first.
		if winner, ok := c.use(d); ok {
			return winner, nil
		}
		return nil, fmt.Errorf("dataset %s: %w", name, err)
	}
	if err := c.writeRecord(d, cacheRecord{Name: name, Bytes: res.Bytes, Files: res.Files}); err != nil {
		// Only the size is lost: the next eviction measures the copy.
		c.logf("dataset %s: recording its size: %v", name, err)
	}
	return held, nil
}

// removeStale removes staging folders a killed runner left behind.
func removeStale(base string) {
	old, _ := filepath.Glob(filepath.Join(base, ".staging-*"))
	for _, o := range old {
		if fi, err := os.Lstat(o); err == nil && time.Since(fi.ModTime()) > staleStaging {
			os.RemoveAll(o)
		}
	}
}

// listDataset lists the files of root from its tree objects in store, each
// verified by datahash.Expand. A root that is not a tree object is a
// single-file dataset, whose digest is the file's own. More than maxFiles
// entries (or tree objects: one tree may name a subtree many times) is
// refused while listing.
func listDataset(ctx context.Context, store remote.Store, root digest.Digest, maxFiles int64) ([]datahash.Entry, error) {
	// Atomic: nothing promises Expand loads one tree at a time.
	var loads, n atomic.Int64
	load := func(ctx context.Context, d digest.Digest) ([]byte, error) {
		if loads.Add(1) > maxFiles {
			return nil, fmt.Errorf("more than %d tree objects (dataset_max_files): %w", maxFiles, ErrDatasetTooBig)
		}
		rc, err := store.Get(ctx, d)
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		b, err := io.ReadAll(io.LimitReader(rc, maxTreeObject+1))
		if err != nil {
			return nil, err
		}
		if len(b) > maxTreeObject {
			return nil, fmt.Errorf("%w: tree object %s is over %d MiB", datahash.ErrBadTree, d, maxTreeObject>>20)
		}
		return b, nil
	}
	var entries []datahash.Entry
	err := datahash.Expand(ctx, root.Algorithm(), root, load, func(e datahash.Entry) error {
		if n.Add(1) > maxFiles {
			return fmt.Errorf("more than %d files (dataset_max_files): %w", maxFiles, ErrDatasetTooBig)
		}
		entries = append(entries, e)
		return nil
	})
	switch {
	case err == nil:
		return entries, nil
	case errors.Is(err, datahash.ErrBadTree) && loads.Load() == 1:
		// The root is not a tree object: the dataset is one file, and
		// Pull verifies its content against the digest.
		sum, herr := hex.DecodeString(root.Hex())
		if herr != nil {
			return nil, herr
		}
		e := datahash.Entry{Type: datahash.File, Size: -1}
		copy(e.Sum[:], sum)
		return []datahash.Entry{e}, nil
	}
	return nil, err
}

// boundedStore charges every byte read from the remote against the host's
// dataset_max_bytes, times the number of paths that content is placed at
// (Pull copies a blob to each), and fails the read once it is spent:
// tree objects record no sizes, so the budget is enforced as data arrives.
type boundedStore struct {
	remote.Store
	copies map[digest.Digest]int64
	left   atomic.Int64
	max    int64
}

func newBoundedStore(s remote.Store, alg digest.Algorithm, entries []datahash.Entry, maxBytes int64) *boundedStore {
	b := &boundedStore{Store: s, copies: map[digest.Digest]int64{}, max: maxBytes}
	for _, e := range entries {
		b.copies[digest.New(alg, e.Sum[:])]++
	}
	b.left.Store(maxBytes)
	return b
}

func (b *boundedStore) Get(ctx context.Context, d digest.Digest) (io.ReadCloser, error) {
	rc, err := b.Store.Get(ctx, d)
	if err != nil {
		return nil, err
	}
	n := max(b.copies[d], 1)
	return &chargedReader{ReadCloser: rc, store: b, copies: n}, nil
}

type chargedReader struct {
	io.ReadCloser
	store  *boundedStore
	copies int64
}

func (r *chargedReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if n > 0 && r.store.left.Add(-int64(n)*r.copies) < 0 {
		return n, fmt.Errorf("over %d bytes (dataset_max_bytes): %w", r.store.max, ErrDatasetTooBig)
	}
	return n, err
}
