package datahash

import (
	"errors"
	"hash"
	"io/fs"

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

// statFile returns the key of a regular file; follow says whether a
// symlink at path may lead to it.
func statFile(path string, follow bool) (statecache.Key, error) {
	var st unix.Stat_t
	var err error
	if follow {
		err = retry(func() error { return unix.Stat(path, &st) })
	} else {
		err = retry(func() error { return unix.Lstat(path, &st) })
	}
	if err != nil {
		return statecache.Key{}, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return statecache.Key{}, &fs.PathError{Op: "stat", Path: path, Err: errReplaced}
	}
	return keyOf(&st), nil
}

// readFile hashes the file's bytes into h and returns the key from a stat
// of the open descriptor taken after reading. When known is set, want is the
// key from a stat before opening and the file must still match it, which
// proves it did not change in between; otherwise the caller judges the key's
// timestamps, which saves a system call per file on the common path.
func readFile(path string, follow bool, want statecache.Key, known bool, h hash.Hash, buf []byte, afterRead func(string)) (statecache.Key, error) {
	// O_NONBLOCK: a path that became a FIFO since the walk must not hang us.
	flags := unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NONBLOCK
	if !follow {
		flags |= unix.O_NOFOLLOW
	}
	var fd int
	err := retry(func() (err error) { fd, err = unix.Open(path, flags, 0); return err })
	if err != nil {
		if errors.Is(err, unix.ELOOP) && !follow {
			err = errReplaced
		}
		return want, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	var total int64
	for {
		var n int
		err := retry(func() (err error) { n, err = unix.Read(fd, buf); return err })
		if err != nil {
			if errors.Is(err, unix.EISDIR) || errors.Is(err, unix.EAGAIN) {
				err = errReplaced
			}
			return want, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		h.Write(buf[:n])
		total += int64(n)
		// A short read of a regular file ends at its end; the stat below
		// catches a file that grew meanwhile.
		if n < len(buf) {
			break
		}
	}
	if afterRead != nil {
		afterRead(path)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return want, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return want, &fs.PathError{Op: "open", Path: path, Err: errReplaced}
	}
	got := keyOf(&st)
	if (known && got != want) || total != got.Size {
		return got, &fs.PathError{Op: "hash", Path: path, Err: ErrChanged}
	}
	return got, nil
}

func retry(f func() error) error {
	for {
		if err := f(); !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}
