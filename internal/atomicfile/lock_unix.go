//go:build unix

package atomicfile

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// createLocked creates a temporary file and locks it. A Clean that ran
// between the two may have taken the new file for abandoned and removed
// it; that shows as no links once the lock is ours, and we start again.
func createLocked(dir, pattern string) (*os.File, error) {
	for {
		f, err := os.CreateTemp(dir, pattern)
		if err != nil {
			return nil, err
		}
		fd := int(f.Fd())
		if err := flock(fd, unix.LOCK_EX); err != nil {
			// A file system without locks: cleaners cannot lock either,
			// so they leave the file alone.
			return f, nil
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil || st.Nlink > 0 {
			return f, nil
		}
		f.Close()
	}
}

// renameAndClose renames while the lock is held, so the temporary name
// never exists unlocked. Once renamed, the synced content is in place: an
// error closing it would only mislead the caller into undoing the write.
func renameAndClose(f *os.File, tmp, path string) error {
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	f.Close()
	return nil
}

// removeAbandoned removes the temporary file at path if no process holds
// its lock, that is, if the writer that made it has died.
func removeAbandoned(path string) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	if flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
		return // a live writer holds it, or locks are not supported
	}
	// The file opened may have been renamed to its target since: remove
	// the path only if it still names the file that is locked.
	opened, err := f.Stat()
	if err != nil {
		return
	}
	if now, err := os.Lstat(path); err == nil && os.SameFile(opened, now) {
		os.Remove(path)
	}
}

func flock(fd, how int) error {
	for {
		if err := unix.Flock(fd, how); !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}
