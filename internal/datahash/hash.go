package datahash

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mlci/mlci/internal/digest"
	"github.com/mlci/mlci/internal/ignore"
	"github.com/mlci/mlci/internal/statecache"
)

var (
	// ErrChanged means a file changed while it was read; its digest would
	// be torn, so none is recorded.
	ErrChanged = errors.New("changed while it was being hashed; re-run when writes to the dataset have finished")
	// ErrEmpty means a dataset has no files once exclusions are applied.
	ErrEmpty = errors.New("has no files (after exclusions); check its path and exclude patterns")
	// ErrLoop means following symlinks led back to a directory above.
	ErrLoop = errors.New("symlink loop; remove the link or set follow_symlinks: false")
	// errReplaced means a path's type changed between walk and read.
	errReplaced = fmt.Errorf("was replaced while it was being hashed: %w", ErrChanged)
)

// Progress receives counts as work is done; *progress.Bar implements it.
type Progress interface {
	SetTotal(files, bytes int64)
	Add(files, bytes int64)
}

// Options control one hash run.
type Options struct {
	Algorithm digest.Algorithm
	// Exclude removes matching paths (relative to the dataset root).
	Exclude *ignore.Matcher
	// FollowSymlinks hashes what links point to instead of the links.
	FollowSymlinks bool
	// Workers is the number of files read at once; 0 means one per CPU.
	Workers int
	// Cache, when set, supplies digests of unchanged files and is rewritten
	// with this run's digests.
	Cache *statecache.Cache
	// Progress, when set, is told of each file hashed.
	Progress Progress
	// Warn, when set, receives skipped paths (sockets, devices, FIFOs).
	Warn func(msg string)

	// afterRead lets tests change a file between read and re-stat.
	afterRead func(path string)
}

// Result describes one dataset.
type Result struct {
	Root    digest.Digest
	Entries []Entry // in tree order
	Files   int64
	Bytes   int64
	// Hashed and Cached count files read and files whose digest came from
	// the state cache.
	Hashed, Cached int64
}

type job struct {
	rel, full string
	typ       Type
	follow    bool // a symlink on the way to this file was followed
	// dir, when set, is the open directory holding the file and name its
	// entry there: a stat or open by name skips resolving the whole path
	// again, a fifth of a re-check's time on a tree a few levels deep.
	dir  *openDir
	name string
}

// Hash computes the digest of the file or directory at root.
func Hash(ctx context.Context, root string, opts Options) (*Result, error) {
	if opts.Algorithm == "" {
		opts.Algorithm = digest.Default
	}
	res, records, err := run(ctx, root, &opts)
	if err != nil {
		return nil, err
	}
	if opts.Cache != nil && records != nil {
		if err := opts.Cache.Save(records); err != nil {
			// A cache that cannot be written costs speed, not correctness.
			if opts.Warn != nil {
				opts.Warn(fmt.Sprintf("state cache not saved: %v", err))
			}
		}
	}
	res.Root = Root(opts.Algorithm, res.Entries)
	return res, nil
}

// batch is a run of consecutive jobs starting at index start, with room
// for their results so workers never grow shared slices.
type batch struct {
	start int
	jobs  []job
	out   []done
}

// done is one hashed job.
type done struct {
	entry     Entry
	key       statecache.Key
	cacheable bool
}

// run walks and hashes at once: the walk feeds batches to the workers, so
// no core waits for the listing of a large tree.
func run(ctx context.Context, root string, opts *Options) (*Result, []statecache.Record, error) {
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	h := &hasher{opts: opts, start: time.Now(), window: statecache.DefaultRacyWindow}
	if opts.Cache != nil {
		h.window = opts.Cache.Window
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var once sync.Once
	var firstErr error
	fail := func(err error) { once.Do(func() { firstErr = err; cancel() }) }

	queue := make(chan *batch, 4*workers)
	if opts.Algorithm == digest.BLAKE3 && workers > 1 {
		h.help = newHelpers(workers)
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hw := h.worker()
			for {
				b, ok := h.next(queue, &hw.blockReader)
				if !ok {
					break
				}
				for i, j := range b.jobs {
					// After a failure, drain so the walker never blocks.
					if ctx.Err() == nil {
						if err := hw.hash(b.start+i, j, &b.out[i]); err != nil {
							fail(err)
						}
					}
					j.dir.release()
				}
			}
			// Out of files of its own, a worker helps with the large files
			// others still hash, so a dataset of a few large files keeps
			// every core busy to the end.
			h.help.idle(&hw.blockReader)
		}()
	}
	var batches []*batch
	total := 0
	err := walk(ctx, root, opts, func(jobs []job) {
		b := &batch{start: total, jobs: jobs, out: make([]done, len(jobs))}
		batches = append(batches, b)
		queue <- b
		total += len(jobs)
	})
	close(queue)
	if err != nil {
		// A walk that stopped because a worker failed returns the
		// cancellation that failure caused: the worker's error, recorded
		// first, is the one to report.
		fail(err)
	} else if opts.Progress != nil {
		opts.Progress.SetTotal(int64(total), 0)
	}
	wg.Wait()
	switch {
	case firstErr != nil:
		return nil, nil, firstErr
	case ctx.Err() != nil:
		return nil, nil, ctx.Err()
	case total == 0:
		return nil, nil, fmt.Errorf("dataset %s %w", root, ErrEmpty)
	}
	res := &Result{Entries: make([]Entry, 0, total), Files: int64(total), Hashed: h.hashed.Load(), Cached: h.cached.Load()}
	for _, b := range batches {
		for i := range b.out {
			res.Entries = append(res.Entries, b.out[i].entry)
			res.Bytes += b.out[i].entry.Size
		}
	}
	if opts.Cache == nil || (h.inPlace.Load() == int64(total) && opts.Cache.Len() == total) {
		// Every file was found unchanged where the cache had it: the cache
		// needs no rewrite, so do not build its records.
		return res, nil, nil
	}
	// Records go in tree order, which lets the next run find them by index
	// instead of through a map.
	records := make([]statecache.Record, 0, total)
	for _, b := range batches {
		for i := range b.out {
			if d := &b.out[i]; d.cacheable {
				records = append(records, statecache.Record{Path: d.entry.Path, Key: d.key, Sum: d.entry.Sum})
			}
		}
	}
	return res, records, nil
}

// hasher holds what all workers of one run share.
type hasher struct {
	opts   *Options
	start  time.Time
	window time.Duration

	hashed, cached atomic.Int64
	// inPlace counts cache hits at the index the cache had them, still
	// outside the racy window: when it covers every file, the cache is
	// already up to date.
	inPlace atomic.Int64
	// help shares large BLAKE3 files between workers; nil with one worker
	// or SHA-256, whose input cannot be split.
	help *helpers
}

// next returns the next batch, taking blocks of other workers' large files
// while none is waiting; false once the walk has ended.
func (h *hasher) next(queue chan *batch, r *blockReader) (*batch, bool) {
	select {
	case b, ok := <-queue:
		return b, ok
	default:
	}
	if h.help == nil {
		b, ok := <-queue
		return b, ok
	}
	for {
		select {
		case b, ok := <-queue:
			return b, ok
		case f := <-h.help.queue:
			f.help(r)
		}
	}
}

// recent reports whether a file's timestamps fall in the racy window: it
// may have been written while we read it, or may be written again without
// its timestamps moving.
func (h *hasher) recent(k statecache.Key) bool {
	limit := h.start.Add(-h.window).UnixNano()
	return k.Mtime >= limit || k.Ctime >= limit
}

type worker struct {
	*hasher
	h hash.Hash
	// blockReader's buffer takes every read; files of a block or more
	// are hashed from it by blocks when the algorithm is BLAKE3.
	blockReader
	large bool
}

func (h *hasher) worker() *worker {
	return &worker{
		hasher:      h,
		h:           h.opts.Algorithm.New(),
		blockReader: blockReader{buf: make([]byte, blockSize)},
		large:       h.opts.Algorithm == digest.BLAKE3,
	}
}

func (w *worker) hash(index int, j job, d *done) error {
	d.entry = Entry{Path: j.rel, Type: j.typ}
	e := &d.entry
	if j.typ == Symlink {
		target, err := os.Readlink(j.full)
		if err != nil {
			return err
		}
		w.h.Reset()
		w.h.Write([]byte(target))
		w.h.Sum(e.Sum[:0])
		e.Size = int64(len(target))
		w.progress(e.Size)
		return nil
	}
	cache := w.opts.Cache
	var k statecache.Key
	var err error
	hit := false
	if rec, at, ok := cache.Get(index, j.rel); ok {
		// A stat alone settles a file the cache knows.
		if k, err = statFile(j); err != nil {
			return err
		}
		if hit = rec.Key == k; hit {
			e.Sum = rec.Sum
			if at == index && !w.recent(k) {
				w.inPlace.Add(1)
			}
		}
	}
	if hit {
		w.cached.Add(1)
	} else {
		// Read first and stat after: a file whose timestamps are older than
		// the run cannot have changed while it was read. A recent one is read
		// again between two stats, which catches a write in between.
		k, e.Sum, err = w.readFile(j, statecache.Key{}, false)
		if err == nil && w.recent(k) {
			if k, err = statFile(j); err == nil {
				k, e.Sum, err = w.readFile(j, k, true)
			}
		}
		if err != nil {
			return err
		}
		w.hashed.Add(1)
	}
	d.key, e.Size = k, k.Size
	d.cacheable = cache != nil && !w.recent(k)
	w.progress(e.Size)
	return nil
}

func (w *worker) progress(size int64) {
	if w.opts.Progress != nil {
		w.opts.Progress.Add(1, size)
	}
}
