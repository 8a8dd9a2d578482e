package datahash

import (
	"errors"
	"io"
	"io/fs"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/mlci/mlci/internal/statecache"
)

// Plain system calls instead of os.Open: os.Open adds five fcntl/epoll calls
// per file, which measured 1.6x slower on 100,000 small files.

func keyOf(st *unix.Stat_t) statecache.Key {
	return statecache.Key{
		Dev:   st.Dev,
		Ino:   st.Ino,
		Size:  st.Size,
		Mtime: st.Mtim.Nano(),
		Ctime: st.Ctim.Nano(),
	}
}

// statFile returns the key of a regular file; j.follow says whether a
// symlink at its path may lead to it.
func statFile(j job) (statecache.Key, error) {
	dirfd, name := j.at()
	flags := unix.AT_SYMLINK_NOFOLLOW
	if j.follow {
		flags = 0
	}
	var st unix.Stat_t
	if err := retry(func() error { return unix.Fstatat(dirfd, name, &st, flags) }); err != nil {
		return statecache.Key{}, &fs.PathError{Op: "stat", Path: j.full, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return statecache.Key{}, &fs.PathError{Op: "stat", Path: j.full, Err: errReplaced}
	}
	return keyOf(&st), nil
}

// readFile hashes the file's bytes and returns the key from a stat of the
// open descriptor taken after reading. When known is set, want is the key
// from a stat before opening and the file must still match it, which proves
// it did not change in between; otherwise the caller judges the key's
// timestamps, which saves a system call per file on the common path.
func (w *worker) readFile(j job, want statecache.Key, known bool) (statecache.Key, Sum, error) {
	path := j.full
	// O_NONBLOCK: a path that became a FIFO since the walk must not hang us.
	flags := unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NONBLOCK
	if !j.follow {
		flags |= unix.O_NOFOLLOW
	}
	dirfd, name := j.at()
	var fd int
	err := retry(func() (err error) { fd, err = unix.Openat(dirfd, name, flags, 0); return err })
	if err != nil {
		if errors.Is(err, unix.ELOOP) && !j.follow {
			err = errReplaced
		}
		return want, Sum{}, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	var sum Sum
	var total int64
	w.h.Reset()
	for {
		var n int
		err := retry(func() (err error) { n, err = unix.Read(fd, w.buf); return err })
		if err != nil {
			if errors.Is(err, unix.EISDIR) || errors.Is(err, unix.EAGAIN) {
				err = errReplaced
			}
			return want, Sum{}, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if total == 0 && n == len(w.buf) && w.large {
			// A full first block: large enough to hash by blocks. Its size
			// costs one more system call, against a megabyte of hashing.
			var st unix.Stat_t
			if err := unix.Fstat(fd, &st); err != nil {
				return want, Sum{}, &fs.PathError{Op: "stat", Path: path, Err: err}
			}
			sum, err = hashLarge(fdReader(fd), path, st.Size, &w.blockReader, w.help)
			if err != nil {
				return want, Sum{}, err
			}
			total = st.Size
			break
		}
		w.h.Write(w.buf[:n])
		total += int64(n)
		// A short read of a regular file ends at its end; the stat below
		// catches a file that grew meanwhile.
		if n < len(w.buf) {
			w.h.Sum(sum[:0])
			break
		}
	}
	if w.opts.afterRead != nil {
		w.opts.afterRead(path)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return want, Sum{}, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return want, Sum{}, &fs.PathError{Op: "open", Path: path, Err: errReplaced}
	}
	got := keyOf(&st)
	if (known && got != want) || total != got.Size {
		return got, Sum{}, &fs.PathError{Op: "hash", Path: path, Err: ErrChanged}
	}
	return got, sum, nil
}

// fdReader reads a descriptor at offsets, so workers share one open file.
type fdReader int

func (fd fdReader) ReadAt(p []byte, off int64) (int, error) {
	done := 0
	for done < len(p) {
		var n int
		err := retry(func() (err error) { n, err = unix.Pread(int(fd), p[done:], off+int64(done)); return err })
		if err != nil {
			return done, err
		}
		if n == 0 {
			return done, io.EOF
		}
		done += n
	}
	return done, nil
}

func retry(f func() error) error {
	for {
		if err := f(); !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// openDir is a directory the walker listed, kept open for the *at calls of
// its files' jobs until the last of them is done.
type openDir struct {
	fd   int
	refs atomic.Int32
}

// openDirectory opens path for lookups by name; nil (jobs then use full
// paths) when it cannot, which costs speed, not correctness.
func openDirectory(path string) *openDir {
	var fd int
	err := retry(func() (err error) {
		fd, err = unix.Open(path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return nil
	}
	d := &openDir{fd: fd}
	d.refs.Store(1)
	return d
}

func (d *openDir) hold() {
	if d != nil {
		d.refs.Add(1)
	}
}

func (d *openDir) release() {
	if d != nil && d.refs.Add(-1) == 0 {
		unix.Close(d.fd)
	}
}

// at returns the directory and name to resolve a job's file by.
func (j job) at() (int, string) {
	if j.dir == nil {
		return unix.AT_FDCWD, j.full
	}
	return j.dir.fd, j.name
}
