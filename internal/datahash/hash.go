package datahash

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
}

// Hash computes the digest of the file or directory at root.
func Hash(ctx context.Context, root string, opts Options) (*Result, error) {
	if opts.Algorithm == "" {
		opts.Algorithm = digest.Default
	}
	start := time.Now()
	jobs, err := walk(ctx, root, &opts)
	if err != nil {
		return nil, err
	}
	if len(jobs) == 0 {
		return nil, fmt.Errorf("dataset %s %w", root, ErrEmpty)
	}
	if opts.Progress != nil {
		opts.Progress.SetTotal(int64(len(jobs)), 0)
	}
	res, records, err := hashJobs(ctx, jobs, &opts, start)
	if err != nil {
		return nil, err
	}
	if opts.Cache != nil {
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

// walk lists the dataset's files in tree order without reading them.
func walk(ctx context.Context, root string, opts *Options) ([]job, error) {
	fi, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("dataset %w", err)
	}
	switch {
	case fi.Mode().IsRegular():
		return []job{{rel: "", full: root, typ: File, follow: true}}, nil
	case !fi.IsDir():
		return nil, fmt.Errorf("dataset %s is a %s, not a file or directory", root, kind(fi.Mode()))
	}
	w := walker{ctx: ctx, opts: opts}
	if err := w.dir(root, "", []fs.FileInfo{fi}, false); err != nil {
		return nil, err
	}
	return w.jobs, nil
}

type walker struct {
	ctx  context.Context
	opts *Options
	jobs []job
}

// dir adds the entries below full. ancestors holds the directories on the
// way down, to detect loops when links are followed.
func (w *walker) dir(full, rel string, ancestors []fs.FileInfo, followed bool) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	entries, err := os.ReadDir(full)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		childFull := filepath.Join(full, name)
		childRel := name
		if rel != "" {
			childRel = rel + "/" + name
		}
		mode := e.Type()
		viaLink := followed
		if mode&fs.ModeSymlink != 0 && w.opts.FollowSymlinks {
			target, err := os.Stat(childFull)
			if err != nil {
				return fmt.Errorf("follow symlink %s: %w", childFull, err)
			}
			if target.IsDir() {
				for _, a := range ancestors {
					if os.SameFile(a, target) {
						return fmt.Errorf("%s: %w", childFull, ErrLoop)
					}
				}
				if w.opts.Exclude.Match(childRel, true) {
					continue
				}
				if err := w.dir(childFull, childRel, append(ancestors, target), true); err != nil {
					return err
				}
				continue
			}
			mode = target.Mode().Type()
			viaLink = true
		}
		isDir := mode.IsDir()
		if w.opts.Exclude.Match(childRel, isDir) {
			continue
		}
		switch {
		case isDir:
			fi, err := e.Info()
			if err != nil {
				return err
			}
			if err := w.dir(childFull, childRel, append(ancestors, fi), viaLink); err != nil {
				return err
			}
		case mode.IsRegular():
			w.jobs = append(w.jobs, job{rel: childRel, full: childFull, typ: File, follow: viaLink})
		case mode&fs.ModeSymlink != 0:
			w.jobs = append(w.jobs, job{rel: childRel, full: childFull, typ: Symlink})
		default:
			if w.opts.Warn != nil {
				w.opts.Warn(fmt.Sprintf("skipped %s: a %s is not data", childFull, kind(mode)))
			}
		}
	}
	return nil
}

func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeNamedPipe != 0:
		return "FIFO"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}

// batchSize is how many jobs a worker claims at once: up to 16 to keep the
// shared counter off the hot path on many small files, down to 1 so a few
// large files still spread over every worker.
func batchSize(jobs, workers int) int {
	return max(1, min(16, jobs/(workers*64)))
}

func hashJobs(ctx context.Context, jobs []job, opts *Options, start time.Time) (*Result, []statecache.Record, error) {
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	entries := make([]Entry, len(jobs))
	keys := make([]statecache.Key, len(jobs))
	cacheable := make([]bool, len(jobs))
	var next, hashed, cached atomic.Int64
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var once sync.Once
	var firstErr error
	fail := func(err error) {
		once.Do(func() { firstErr = err; cancel() })
	}
	batch := batchSize(len(jobs), workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := opts.Algorithm.New()
			buf := make([]byte, 1<<20)
			for ctx.Err() == nil {
				lo := int(next.Add(int64(batch))) - batch
				if lo >= len(jobs) {
					return
				}
				for i := lo; i < min(lo+batch, len(jobs)); i++ {
					j := &jobs[i]
					e := &entries[i]
					e.Path, e.Type = j.rel, j.typ
					if j.typ == Symlink {
						target, err := os.Readlink(j.full)
						if err != nil {
							fail(err)
							return
						}
						h.Reset()
						h.Write([]byte(target))
						h.Sum(e.Sum[:0])
						e.Size = int64(len(target))
					} else {
						// A stat alone settles a file the cache knows; any
						// other file is opened straight away.
						var k statecache.Key
						known, hit := false, false
						if opts.Cache.Has(j.rel) {
							var err error
							if k, err = statFile(j.full, j.follow); err != nil {
								fail(err)
								return
							}
							known = true
							e.Sum, hit = opts.Cache.Lookup(j.rel, k)
						}
						if hit {
							cached.Add(1)
						} else {
							h.Reset()
							var err error
							if k, err = readFile(j.full, j.follow, k, known, h, buf, opts.afterRead); err != nil {
								fail(err)
								return
							}
							h.Sum(e.Sum[:0])
							hashed.Add(1)
						}
						keys[i], e.Size = k, k.Size
						cacheable[i] = opts.Cache != nil && !opts.Cache.Racy(k, start)
					}
					if opts.Progress != nil {
						opts.Progress.Add(1, e.Size)
					}
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	res := &Result{Entries: entries, Files: int64(len(entries)), Hashed: hashed.Load(), Cached: cached.Load()}
	var records []statecache.Record
	for i := range entries {
		res.Bytes += entries[i].Size
		if cacheable[i] {
			records = append(records, statecache.Record{Path: entries[i].Path, Key: keys[i], Sum: entries[i].Sum})
		}
	}
	return res, records, nil
}
