package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mlci/mlci/internal/digest"
)

// Progress receives counts as objects are transferred; *progress.Bar
// implements it.
type Progress interface {
	SetTotal(files, bytes int64)
	Add(files, bytes int64)
}

// TransferOptions control one Push or Pull. Zero fields take the defaults.
type TransferOptions struct {
	// Workers is the number of objects moved at once; 0 means 8.
	Workers int
	// BatchSize is the number of digests one Has call asks about; 0 means 1000.
	BatchSize int
	// Attempts bounds the tries of each request that fails transiently;
	// 0 means 5.
	Attempts int
	// Backoff is the wait before the second attempt, doubled before each
	// later one up to MaxBackoff, with full jitter; 0 means 200ms and 10s.
	Backoff, MaxBackoff time.Duration
	// TempDir is where Pull writes objects before place moves them; it
	// should be on the destination's file system so place can rename.
	// "" means os.TempDir().
	TempDir string
	// Progress, when set, is told of each object done (skipped ones too),
	// so a bar reaches its total.
	Progress Progress
}

func (o TransferOptions) withDefaults() TransferOptions {
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 1000
	}
	if o.Attempts <= 0 {
		o.Attempts = 5
	}
	if o.Backoff <= 0 {
		o.Backoff = 200 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 10 * time.Second
	}
	return o
}

// Stats counts what a transfer did.
type Stats struct {
	Objects     int64 // distinct objects asked for
	Transferred int64 // objects sent or fetched
	Skipped     int64 // objects the destination already had
	Bytes       int64 // bytes of the objects transferred
	Retries     int64 // attempts after a transient failure
}

// Push sends to dst the objects it lacks, reading each through open. It is
// resumable: a second Push after a failure sends only what is still missing.
//
// A store that can (the local folder) leaves making the names of the
// objects it writes durable to one sync when all are sent.
func Push(ctx context.Context, dst Store, objects []Object, open func(digest.Digest) (io.ReadCloser, error), opts TransferOptions) (Stats, error) {
	opts = opts.withDefaults()
	put := dst.Put
	batch, batched := dst.(batchStore)
	if batched {
		put = batch.putUnsynced
	}
	t := newTransfer(ctx, opts, objects)
	defer t.cancel(nil)
	// A batch of room lets the next existence check run while the
	// workers upload what the last one found missing.
	work := make(chan Object, opts.BatchSize)
	go func() {
		defer close(work)
		for batch := range chunks(ByDigest(t.objects), opts.BatchSize) {
			ds := make([]digest.Digest, len(batch))
			for i, o := range batch {
				ds[i] = o.Digest
			}
			var present []bool
			err := t.retry(func() (err error) {
				present, err = dst.Has(t.ctx, ds)
				return err
			})
			if err != nil {
				t.cancel(fmt.Errorf("push: %w", err))
				return
			}
			for i, o := range batch {
				if present[i] {
					t.skipped(o)
					continue
				}
				select {
				case work <- o:
				case <-t.ctx.Done():
					return
				}
			}
		}
	}()
	t.run(work, func(o Object) error {
		return t.retry(func() error {
			r, err := open(o.Digest)
			if err != nil {
				// The source is local: a failure to read it is not the
				// remote's and not worth retrying.
				return permanent{fmt.Errorf("open %s: %w", o.Digest, err)}
			}
			defer r.Close()
			return put(t.ctx, o.Digest, o.Size, r)
		})
	}, "push")
	st, err := t.finish()
	if batched {
		// Even after a failure, so that the objects a push sent before
		// it, which the next one will skip, are durable too.
		if ferr := batch.flush(); ferr != nil {
			err = errors.Join(err, fmt.Errorf("push: %s: %w", dst, ferr))
		}
	}
	return st, err
}

// batchStore is a Store whose puts can leave the durability of what they
// did to one flush at the end of a push, as Local does with the folders
// its objects are renamed into.
type batchStore interface {
	Store
	// putUnsynced is Put but for what flush makes durable.
	putUnsynced(ctx context.Context, d digest.Digest, size int64, r io.Reader) error
	// flush makes every putUnsynced since the last flush durable.
	flush() error
}

// Pull fetches each object from src into a temporary file, verifies its
// digest and size, and only then hands the file to place, which moves it
// where it belongs (a rename, so the move is atomic). An object whose
// content does not match its digest is refused and named in the error.
// Nothing is fsynced: the caller makes what place wrote durable with one
// SyncFS once Pull has returned.
func Pull(ctx context.Context, src Store, objects []Object, place func(d digest.Digest, tmpPath string) error, opts TransferOptions) (Stats, error) {
	opts = opts.withDefaults()
	t := newTransfer(ctx, opts, objects)
	defer t.cancel(nil)
	work := make(chan Object)
	go func() {
		defer close(work)
		for _, o := range t.objects {
			select {
			case work <- o:
			case <-t.ctx.Done():
				return
			}
		}
	}()
	t.run(work, func(o Object) error {
		var tmp string
		err := t.retry(func() (err error) {
			tmp, err = fetch(t.ctx, src, o, opts.TempDir)
			return err
		})
		if err != nil {
			return err
		}
		defer os.Remove(tmp) // in case place copied rather than moved it
		if err := place(o.Digest, tmp); err != nil {
			return permanent{fmt.Errorf("place %s: %w", o.Digest, err)}
		}
		return nil
	}, "pull")
	return t.finish()
}

// fetch downloads one object to a new temporary file and verifies it.
func fetch(ctx context.Context, src Store, o Object, dir string) (string, error) {
	r, err := src.Get(ctx, o.Digest)
	if err != nil {
		return "", err
	}
	defer r.Close()
	f, err := os.CreateTemp(dir, "mlci-pull-*")
	if err != nil {
		return "", permanent{err}
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := io.Copy(f, newVerifier(o.Digest, o.Size, r)); err != nil {
		if errors.Is(err, ErrDigestMismatch) {
			return "", permanent{fmt.Errorf("%s holds a corrupt object, refused: %w", src, err)}
		}
		return "", err
	}
	// No fsync here: one SyncFS at the end of the pull costs what one
	// fsync does, where one per file doubled a pull of small files. Until
	// then a crash can lose a placed file's content, never mix in another
	// one's, and a rerun hashes every file before it trusts it.
	if err := f.Close(); err != nil {
		return "", permanent{err}
	}
	ok = true
	return f.Name(), nil
}

// SyncFS makes the files written under dir without an fsync of their own
// (written lists them) durable in one step: on Linux one syncfs of dir's
// file system, elsewhere an fsync of each file and then of each folder
// holding one. Call it once every file is placed, before reporting
// success.
func SyncFS(dir string, written []string) error {
	return syncFS(dir, written)
}

// syncEach fsyncs each file, then each distinct folder holding one, so
// that both the contents and the renames that placed them are durable.
func syncEach(files []string) error {
	dirs := map[string]bool{}
	for _, p := range files {
		if err := syncPath(p); err != nil {
			return err
		}
		dirs[filepath.Dir(p)] = true
	}
	for d := range dirs {
		if err := syncPath(d); err != nil {
			return err
		}
	}
	return nil
}

func syncPath(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", p, err)
	}
	return nil
}

// transfer is the state Push and Pull share.
type transfer struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	opts   TransferOptions
	// objects are the distinct objects asked for, first occurrence first.
	objects                               []Object
	transferred, skippedN, bytes, retries atomic.Int64
}

func newTransfer(ctx context.Context, opts TransferOptions, objects []Object) *transfer {
	t := &transfer{opts: opts}
	t.ctx, t.cancel = context.WithCancelCause(ctx)
	seen := make(map[digest.Digest]bool, len(objects))
	var total int64
	for _, o := range objects {
		if !seen[o.Digest] {
			seen[o.Digest] = true
			t.objects = append(t.objects, o)
			total += o.Size
		}
	}
	if opts.Progress != nil {
		opts.Progress.SetTotal(int64(len(t.objects)), total)
	}
	return t
}

func (t *transfer) skipped(o Object) {
	t.skippedN.Add(1)
	if t.opts.Progress != nil {
		t.opts.Progress.Add(1, o.Size)
	}
}

// run has opts.Workers goroutines do each object of work; the first error
// stops the transfer.
func (t *transfer) run(work <-chan Object, do func(Object) error, what string) {
	var wg sync.WaitGroup
	for range t.opts.Workers {
		wg.Go(func() {
			for o := range work {
				if t.ctx.Err() != nil {
					continue // drain, so the feeder never blocks
				}
				if err := do(o); err != nil {
					t.cancel(fmt.Errorf("%s: %w", what, &ObjectError{Digest: o.Digest, Err: unwrapPermanent(err)}))
					continue
				}
				t.transferred.Add(1)
				t.bytes.Add(o.Size)
				// Bytes are counted per object done, not as they stream, so
				// a retried object is never counted twice.
				if t.opts.Progress != nil {
					t.opts.Progress.Add(1, o.Size)
				}
			}
		})
	}
	wg.Wait()
}

func (t *transfer) finish() (Stats, error) {
	st := Stats{
		Objects:     int64(len(t.objects)),
		Transferred: t.transferred.Load(),
		Skipped:     t.skippedN.Load(),
		Bytes:       t.bytes.Load(),
		Retries:     t.retries.Load(),
	}
	return st, context.Cause(t.ctx)
}

// retry calls f until it succeeds, fails for good, or has failed
// opts.Attempts times, waiting with exponential backoff and full jitter
// between attempts so that workers hit by the same outage do not return
// in lockstep.
func (t *transfer) retry(f func() error) error {
	wait := t.opts.Backoff
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil || attempt >= t.opts.Attempts || !retryable(err) || t.ctx.Err() != nil {
			return err
		}
		t.retries.Add(1)
		timer := time.NewTimer(rand.N(wait) + 1)
		select {
		case <-timer.C:
		case <-t.ctx.Done():
			timer.Stop()
			return err
		}
		wait = min(2*wait, t.opts.MaxBackoff)
	}
}

// ObjectError is a transfer's failure on one object, so that a caller can
// name what the object is to it, such as the file it came from.
type ObjectError struct {
	Digest digest.Digest
	Err    error
}

func (e *ObjectError) Error() string { return e.Err.Error() }
func (e *ObjectError) Unwrap() error { return e.Err }

// permanent marks an error that retrying cannot cure.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

func unwrapPermanent(err error) error {
	if p, ok := err.(permanent); ok {
		return p.err
	}
	return err
}

// retryable reports whether err is worth another attempt: a transient
// failure, never refused credentials, a corrupt object or a cancellation.
func retryable(err error) bool {
	var p permanent
	switch {
	case errors.As(err, &p), errors.Is(err, ErrAuth), errors.Is(err, ErrDigestMismatch),
		errors.Is(err, ErrNotFound), errors.Is(err, ErrUnsupported),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false
	}
	return errors.Is(err, ErrTransient) || isNetworkError(err)
}

// isNetworkError reports the failures of a connection rather than of a
// request: resets, broken pipes, timeouts, a body cut short.
func isNetworkError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// transient wraps err in ErrTransient when it is a network failure.
func transient(err error) error {
	if err != nil && !errors.Is(err, ErrTransient) && isNetworkError(err) {
		return fmt.Errorf("%w: %w", ErrTransient, err)
	}
	return err
}

// transientReader marks a body cut off mid-read as transient, so a
// download is retried from the start.
type transientReader struct{ io.ReadCloser }

func (r *transientReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if err != io.EOF {
		err = transient(err)
	}
	return n, err
}

// chunks yields s in consecutive pieces of at most n elements.
// ByDigest returns objects sorted by digest, for existence checks: a batch
// of neighbouring digests falls in few of a store's fan-out folders, which
// S3 then lists instead of asking about each object (S3.Has).
func ByDigest(objects []Object) []Object {
	sorted := slices.Clone(objects)
	slices.SortFunc(sorted, func(a, b Object) int { return strings.Compare(string(a.Digest), string(b.Digest)) })
	return sorted
}

func chunks[T any](s []T, n int) func(yield func([]T) bool) {
	return func(yield func([]T) bool) {
		for len(s) > 0 {
			k := min(n, len(s))
			if !yield(s[:k]) {
				return
			}
			s = s[k:]
		}
	}
}
