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
	// MaxEntries bounds Result.Entries: 0 keeps every entry; n > 0 keeps
	// them while the dataset has at most n files and none beyond;
	// NoEntries keeps none. Memory then does not grow with the files.
	MaxEntries int
	// Trees, when set, receives each directory's tree object as the walk
	// completes it, as TreeObjects would give them: children before
	// parents, the root last. obj is reused once Trees returns.
	Trees func(d digest.Digest, obj []byte) error
	// Progress, when set, is told of each file hashed.
	Progress Progress
	// Warn, when set, receives skipped paths (sockets, devices, FIFOs).
	Warn func(msg string)

	// afterRead lets tests change a file between read and re-stat.
	afterRead func(path string)
}

// Result describes one dataset.
type Result struct {
	Root digest.Digest
	// Entries are the files and links in tree order, as far as
	// Options.MaxEntries keeps them; nil past it.
	Entries []Entry
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
	// rec is the state cache's record of the file, when cached.
	rec    statecache.Record
	cached bool
}

// NoEntries as Options.MaxEntries keeps no entries in the Result.
const NoEntries = -1

// Hash computes the digest of the file or directory at root. Files are
// walked in tree order, hashed in parallel, and put back in order as they
// come out, so the root (and, through Options.Trees, each tree object) is
// built as the walk goes: memory does not grow with the number of files
// unless Options.MaxEntries asks for the entries.
func Hash(ctx context.Context, root string, opts Options) (*Result, error) {
	if opts.Algorithm == "" {
		opts.Algorithm = digest.Default
	}
	return run(ctx, root, &opts)
}

// batch is a run of consecutive jobs, with room for their results so
// workers never grow shared slices. ready is closed once every job is
// done (or skipped after a failure).
type batch struct {
	jobs  []job
	out   []done
	ready chan struct{}
}

// done is one hashed job.
type done struct {
	entry     Entry
	key       statecache.Key
	cacheable bool
}

// inFlight is how many batches may be walked but not yet put in order:
// enough that workers never wait for the slowest batch, few enough that
// their memory is a few megabytes.
const inFlight = 1024

// run walks and hashes at once: the walk feeds batches to the workers, so
// no core waits for the listing of a large tree, and a collector takes the
// batches back in walk order, folding them into the tree and the new state
// cache and dropping them.
func run(ctx context.Context, root string, opts *Options) (*Result, error) {
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
	ordered := make(chan *batch, inFlight)
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
						if err := hw.hash(j, &b.out[i]); err != nil {
							fail(err)
						}
					}
					j.dir.release()
				}
				close(b.ready)
			}
			// Out of files of its own, a worker helps with the large files
			// others still hash, so a dataset of a few large files keeps
			// every core busy to the end.
			h.help.idle(&hw.blockReader)
		}()
	}

	res := &Result{}
	var cacheW *statecache.Writer
	if opts.Cache != nil {
		cacheW = opts.Cache.Writer()
	}
	c := collector{res: res, opts: opts, cache: cacheW}
	if opts.Trees != nil {
		c.tree = newTreeBuilder(opts.Algorithm, func(s Sum, obj []byte) error {
			return opts.Trees(digest.New(opts.Algorithm, s[:]), obj)
		})
	} else {
		c.tree = newTreeBuilder(opts.Algorithm, nil)
	}
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		for b := range ordered {
			<-b.ready
			if ctx.Err() != nil {
				continue // drain, so the walker never blocks
			}
			if err := c.take(b); err != nil {
				fail(err)
			}
		}
	}()

	// The walker looks each file up in the state cache as it lists it:
	// both go in tree order, so the cache is read once, in step.
	lookup := opts.Cache.Reader()
	defer lookup.Close()
	total := 0
	err := walk(ctx, root, opts, func(jobs []job) {
		for i := range jobs {
			if j := &jobs[i]; j.typ == File && opts.Cache != nil {
				j.rec, j.cached = lookup.Find(j.rel)
			}
		}
		b := &batch{jobs: jobs, out: make([]done, len(jobs)), ready: make(chan struct{})}
		ordered <- b
		queue <- b
		total += len(jobs)
	})
	close(queue)
	close(ordered)
	if err != nil {
		// A walk that stopped because a worker failed returns the
		// cancellation that failure caused: the worker's error, recorded
		// first, is the one to report.
		fail(err)
	} else if opts.Progress != nil {
		opts.Progress.SetTotal(int64(total), 0)
	}
	wg.Wait()
	<-collected
	if firstErr == nil && ctx.Err() == nil && total > 0 {
		if res.Root, err = c.tree.root(); err != nil {
			fail(err)
		}
	}
	switch {
	case firstErr != nil:
		cacheW.Abort()
		return nil, firstErr
	case ctx.Err() != nil:
		cacheW.Abort()
		return nil, ctx.Err()
	case total == 0:
		cacheW.Abort()
		return nil, fmt.Errorf("dataset %s %w", root, ErrEmpty)
	}
	res.Hashed, res.Cached = h.hashed.Load(), h.cached.Load()
	if cacheW != nil {
		if err := cacheW.Commit(); err != nil && opts.Warn != nil {
			// A cache that cannot be written costs speed, not correctness.
			opts.Warn(fmt.Sprintf("state cache not saved: %v", err))
		}
	}
	return res, nil
}

// collector folds hashed files, in walk order, into the result.
type collector struct {
	res   *Result
	opts  *Options
	tree  *treeBuilder
	cache *statecache.Writer // nil without a state cache
	// dropped says the entries went past MaxEntries and are no longer kept.
	dropped bool
}

func (c *collector) take(b *batch) error {
	for i := range b.out {
		d := &b.out[i]
		c.res.Files++
		c.res.Bytes += d.entry.Size
		if err := c.tree.add(&d.entry); err != nil {
			return err
		}
		if c.cache != nil && d.cacheable {
			if err := c.cache.Add(statecache.Record{Path: d.entry.Path, Key: d.key, Sum: d.entry.Sum}); err != nil {
				return err
			}
		}
		switch limit := c.opts.MaxEntries; {
		case c.dropped || limit == NoEntries:
		case limit > 0 && c.res.Files > int64(limit):
			c.res.Entries, c.dropped = nil, true
		default:
			c.res.Entries = append(c.res.Entries, d.entry)
		}
	}
	return nil
}

// hasher holds what all workers of one run share.
type hasher struct {
	opts   *Options
	start  time.Time
	window time.Duration

	hashed, cached atomic.Int64
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

func (w *worker) hash(j job, d *done) error {
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
	if j.cached {
		// A stat alone settles a file the cache knows.
		if k, err = statFile(j); err != nil {
			return err
		}
		if hit = j.rec.Key == k; hit {
			e.Sum = j.rec.Sum
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
