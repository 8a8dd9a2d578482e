//go:build unix

package lockfile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Acquire takes the writers' lock of the mlci.lock in dir: two data lock
// runs that write at once would each write the lock they read, and the
// last would drop the other's datasets. It waits while another process
// holds the lock, calling wait once if it has to. release gives it back
// (calls after the first do nothing); so does the end of the process,
// however it ends.
func Acquire(ctx context.Context, dir string, wait func()) (release func(), err error) {
	f, err := createMutex(dir)
	if err != nil {
		return nil, fmt.Errorf("lock %s for writing: %w", FileName, err)
	}
	if err := flock(ctx, f, unix.LOCK_EX, wait); err != nil {
		f.Close()
		return nil, err
	}
	return sync.OnceFunc(func() { f.Close() }), nil
}

// lockShared takes the readers' side of the lock, if a writer ever made
// the mutex file; without one, no writer can be half-way.
func lockShared(ctx context.Context, dir string, wait func()) (release func(), err error) {
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(MutexFile)))
	if err != nil {
		return func() {}, nil
	}
	if err := flock(ctx, f, unix.LOCK_SH, wait); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

// flock polls rather than blocks, so a cancelled context ends the wait.
// A file system that has no locks (some network mounts) cannot serialise
// writers; that is no reason to refuse to write.
func flock(ctx context.Context, f *os.File, how int, wait func()) error {
	fd := int(f.Fd())
	for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		err := unix.Flock(fd, how|unix.LOCK_NB)
		switch {
		case err == nil, errors.Is(err, unix.ENOLCK), errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.ENOSYS):
			return nil
		case !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR):
			return fmt.Errorf("lock %s: %w", f.Name(), err)
		}
		if wait != nil {
			wait()
			wait = nil
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
