package jobrun

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mlci/mlci/internal/atomicfile"
	"github.com/mlci/mlci/internal/digest"
)

// The dataset cache is state_dir/datasets/: one folder per pulled digest
// ("blake3-<hex>"), the folder the engine fills a job's volume from, and
// beside it a record ("blake3-<hex>.json") of its size whose modification
// time is the copy's last use. Jobs never see either: a job reads its own
// read-only Docker volume, filled from the copy, and state_dir is refused
// to every mount, so no job can make a copy look recently used.
//
// A process reading a copy holds a shared flock(2) on the copy's folder;
// eviction takes an exclusive one without waiting and skips copies it
// cannot lock. The lock belongs to the open folder, so it dies with the
// process that held it and a killed runner never pins a copy.
const (
	recordSuffix = ".json"
	trashPrefix  = ".trash-"
)

// CachedDataset is one copy pulled from dataset_remote, as the operator
// sees it.
type CachedDataset struct {
	// Name is what the job that pulled it called it; the digest is the key.
	Name     string        `json:"name"`
	Digest   digest.Digest `json:"digest"`
	Bytes    int64         `json:"bytes"`
	Files    int64         `json:"files"`
	LastUsed time.Time     `json:"last_used"`
	// InUse says a runner process is reading the copy right now (hashing
	// it or filling a job's volume from it): it is not evicted.
	InUse bool   `json:"in_use"`
	Path  string `json:"path"`
}

// PruneResult is what one eviction pass did.
type PruneResult struct {
	Evicted []CachedDataset `json:"evicted"`
	// Busy are the copies the pass would have evicted but a job was
	// reading.
	Busy []CachedDataset `json:"busy"`
	// Kept is every copy left, Busy ones too, least recently used first.
	Kept []CachedDataset `json:"kept"`
	// Bytes is what the kept copies take; Max is dataset_cache_max_bytes.
	Bytes int64 `json:"bytes"`
	Max   int64 `json:"max_bytes"`
}

// cacheRecord is the file beside a copy. Its content is written once; its
// modification time moves at each use.
type cacheRecord struct {
	Name  string `json:"name,omitempty"`
	Bytes int64  `json:"bytes"`
	Files int64  `json:"files"`
}

// datasetCache is state_dir/datasets and its bound.
type datasetCache struct {
	dir  string
	max  int64
	logf func(format string, args ...any)
}

func (h *Host) datasetCache() *datasetCache {
	return &datasetCache{
		dir:  filepath.Join(h.Config.StateDir, "datasets"),
		max:  int64(h.Config.DatasetCacheMaxBytes),
		logf: h.logf,
	}
}

func (c *datasetCache) copyDir(d digest.Digest) string {
	return filepath.Join(c.dir, string(d.Algorithm())+"-"+d.Hex())
}

// open makes the cache folder and finishes what killed processes left:
// copies renamed to trash but not removed, records whose copy is gone,
// stale staging folders. There is no long-lived runner process, so every
// use of the cache is a start.
func (c *datasetCache) open() error {
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return fmt.Errorf("dataset cache: %w", err)
	}
	removeStale(c.dir)
	entries, err := os.ReadDir(c.dir)
	if err != nil {
		return fmt.Errorf("dataset cache: %w", err)
	}
	for _, e := range entries {
		p := filepath.Join(c.dir, e.Name())
		switch {
		case strings.HasPrefix(e.Name(), trashPrefix):
			// Only eviction makes trash, and it never renames a copy
			// back: whatever is here is garbage, whoever's it is.
			if err := os.RemoveAll(p); err != nil {
				c.logf("dataset cache: removing %s: %v", p, err)
			}
		case strings.HasSuffix(e.Name(), recordSuffix) && !strings.HasPrefix(e.Name(), "."):
			// A record is written after its copy is in place and removed
			// after its copy is trashed, so one alone is left over.
			if _, err := os.Lstat(strings.TrimSuffix(p, recordSuffix)); errors.Is(err, fs.ErrNotExist) {
				_ = os.Remove(p)
			}
		}
	}
	return nil
}

// heldCopy is a copy a runner process is reading; release lets eviction
// have it again.
type heldCopy struct{ f *os.File }

func (u *heldCopy) release() {
	if u != nil && u.f != nil {
		_ = u.f.Close() // closing drops the flock
		u.f = nil
	}
}

// use returns the copy of d locked shared, recording the use; ok is false
// when there is no copy, or eviction took it first.
func (c *datasetCache) use(d digest.Digest) (*heldCopy, bool) {
	dir := c.copyDir(d)
	f, err := os.Open(dir)
	if err != nil {
		return nil, false
	}
	// Blocking: eviction holds its exclusive lock only while it renames.
	if err := flock(f, unix.LOCK_SH); err != nil {
		f.Close()
		return nil, false
	}
	// Eviction may have renamed the folder to trash between Open and the
	// lock; then what is locked is no longer the copy.
	if !samePath(f, dir) {
		f.Close()
		return nil, false
	}
	c.touch(d)
	return &heldCopy{f: f}, true
}

// touch records a use. A copy without a record gets one when it is next
// measured, dated by the folder.
func (c *datasetCache) touch(d digest.Digest) {
	now := time.Now()
	_ = os.Chtimes(c.copyDir(d)+recordSuffix, now, now)
}

// writeRecord records a copy just pulled; the write dates it now.
func (c *datasetCache) writeRecord(d digest.Digest, r cacheRecord) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return atomicfile.Write(c.copyDir(d)+recordSuffix, append(data, '\n'), 0o600)
}

// list returns every copy, measuring (once) those without a record.
func (c *datasetCache) list(ctx context.Context) ([]CachedDataset, error) {
	entries, err := os.ReadDir(c.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("dataset cache: %w", err)
	}
	var out []CachedDataset
	for _, e := range entries {
		d, ok := copyDigest(e)
		if !ok {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		cd, err := c.describe(d)
		if errors.Is(err, fs.ErrNotExist) {
			continue // evicted meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("dataset cache: %s: %w", d, err)
		}
		out = append(out, cd)
	}
	return out, nil
}

// copyDigest reads a copy's digest from its folder name; staging, trash,
// records and anything else are not copies.
func copyDigest(e fs.DirEntry) (digest.Digest, bool) {
	if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
		return "", false
	}
	alg, hexPart, ok := strings.Cut(e.Name(), "-")
	if !ok {
		return "", false
	}
	d, err := digest.Parse(alg + ":" + hexPart)
	return d, err == nil
}

func (c *datasetCache) describe(d digest.Digest) (CachedDataset, error) {
	dir := c.copyDir(d)
	cd := CachedDataset{Digest: d, Path: dir}
	rec, used, err := c.readRecord(d)
	if errors.Is(err, fs.ErrNotExist) {
		rec, used, err = c.measure(d)
	}
	if err != nil {
		return cd, err
	}
	cd.Name, cd.Bytes, cd.Files, cd.LastUsed = rec.Name, rec.Bytes, rec.Files, used
	cd.InUse = inUse(dir)
	return cd, nil
}

func (c *datasetCache) readRecord(d digest.Digest) (cacheRecord, time.Time, error) {
	var r cacheRecord
	p := c.copyDir(d) + recordSuffix
	data, err := os.ReadFile(p)
	if err != nil {
		return r, time.Time{}, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return r, time.Time{}, err
	}
	if err := json.Unmarshal(data, &r); err != nil {
		// A record is replaced whole, so a bad one was not ours: measure
		// again rather than trust it.
		return r, time.Time{}, fmt.Errorf("record %s: %w", p, fs.ErrNotExist)
	}
	return r, fi.ModTime(), nil
}

// measure walks a copy that has no record (pulled by an older runner) and
// records what it holds, dated by the folder, which was last changed when
// the pull put files in it.
func (c *datasetCache) measure(d digest.Digest) (cacheRecord, time.Time, error) {
	dir := c.copyDir(d)
	top, err := os.Lstat(dir)
	if err != nil {
		return cacheRecord{}, time.Time{}, err
	}
	var r cacheRecord
	err = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.Type().IsRegular() || e.Type()&fs.ModeSymlink != 0 {
			fi, err := e.Info()
			if err != nil {
				return err
			}
			r.Files++
			r.Bytes += fi.Size()
		}
		return nil
	})
	if err != nil {
		return r, time.Time{}, err
	}
	used := top.ModTime()
	if err := c.writeRecord(d, r); err != nil {
		c.logf("dataset cache: recording the size of %s: %v", dir, err)
	} else {
		_ = os.Chtimes(dir+recordSuffix, used, used)
	}
	return r, used, nil
}

// evict removes least recently used copies that no process is reading
// until the copies take at most target bytes, or, with all, every such
// copy. A copy being read is kept even past the target: the job reading it
// would fail. Evictions are one at a time on the host, so two pulls do not
// both evict for the same room.
func (c *datasetCache) evict(ctx context.Context, target int64, all bool) (PruneResult, error) {
	res := PruneResult{Max: c.max}
	base, err := os.Open(c.dir)
	if err != nil {
		return res, fmt.Errorf("dataset cache: %w", err)
	}
	defer base.Close()
	if err := flock(base, unix.LOCK_EX); err != nil {
		return res, fmt.Errorf("dataset cache: lock %s: %w", c.dir, err)
	}
	copies, err := c.list(ctx)
	if err != nil {
		return res, err
	}
	for _, cd := range copies {
		res.Bytes += cd.Bytes
	}
	// Least recently used first; the digest orders equal times, so a pass
	// is the same on every run.
	slices.SortFunc(copies, func(a, b CachedDataset) int {
		return cmp.Or(a.LastUsed.Compare(b.LastUsed), cmp.Compare(a.Digest, b.Digest))
	})
	var errs []error
	for _, cd := range copies {
		if !all && res.Bytes <= target || ctx.Err() != nil {
			res.Kept = append(res.Kept, cd)
			continue
		}
		evicted, err := c.remove(cd)
		if err != nil {
			errs = append(errs, err)
		}
		if !evicted {
			if err == nil {
				cd.InUse = true
				res.Busy = append(res.Busy, cd)
			}
			res.Kept = append(res.Kept, cd)
			continue
		}
		res.Bytes -= cd.Bytes
		res.Evicted = append(res.Evicted, cd)
	}
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	return res, errors.Join(errs...)
}

// remove evicts one copy unless a process reads it (false, nil), or it is
// gone already, which the caller's next list shows. The copy
// is renamed to trash first, atomically, so a crash mid-removal leaves
// trash for open to remove, never a partial copy under a digest's name.
func (c *datasetCache) remove(cd CachedDataset) (bool, error) {
	f, err := os.Open(cd.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("dataset cache: %w", err)
	}
	defer f.Close()
	if err := flock(f, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			return false, nil
		}
		return false, fmt.Errorf("dataset cache: lock %s: %w", cd.Path, err)
	}
	if !samePath(f, cd.Path) {
		return false, nil
	}
	var suffix [8]byte
	_, _ = rand.Read(suffix[:])
	trash := filepath.Join(c.dir, trashPrefix+filepath.Base(cd.Path)+"-"+hex.EncodeToString(suffix[:]))
	if err := os.Rename(cd.Path, trash); err != nil {
		return false, fmt.Errorf("dataset cache: evict %s: %w", cd.Path, err)
	}
	// Readers that open the name from here on find no copy; one that
	// opened it before sees, once it has the lock, that it moved.
	f.Close()
	_ = os.Remove(cd.Path + recordSuffix)
	if err := os.RemoveAll(trash); err != nil {
		// Evicted all the same: the next open removes the rest.
		c.logf("dataset cache: removing %s: %v", trash, err)
	}
	return true, nil
}

// inUse reports whether a process holds a copy's lock. It takes the
// exclusive lock for a moment; a reader arriving then waits that moment.
func inUse(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	return flock(f, unix.LOCK_EX|unix.LOCK_NB) != nil
}

// samePath reports whether the open f is still what path names.
func samePath(f *os.File, path string) bool {
	held, err := f.Stat()
	if err != nil {
		return false
	}
	now, err := os.Lstat(path)
	return err == nil && os.SameFile(held, now)
}

func flock(f *os.File, how int) error {
	for {
		if err := unix.Flock(int(f.Fd()), how); !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// CachedDatasets lists the copies pulled from dataset_remote, least
// recently used first.
func (h *Host) CachedDatasets(ctx context.Context) ([]CachedDataset, error) {
	c := h.datasetCache()
	if err := c.open(); err != nil {
		return nil, err
	}
	out, err := c.list(ctx)
	slices.SortFunc(out, func(a, b CachedDataset) int {
		return cmp.Or(a.LastUsed.Compare(b.LastUsed), cmp.Compare(a.Digest, b.Digest))
	})
	return out, err
}

// PruneDatasets evicts least recently used copies until the cache is
// within dataset_cache_max_bytes or, with all, every copy no job is
// reading.
func (h *Host) PruneDatasets(ctx context.Context, all bool) (PruneResult, error) {
	c := h.datasetCache()
	if err := c.open(); err != nil {
		return PruneResult{Max: c.max}, err
	}
	return c.evict(ctx, c.max, all)
}
