//go:build !linux

package datahash

import (
	"errors"
	"io"
	"io/fs"
	"os"

	"github.com/mlci/mlci/internal/statecache"
)

// Portable fallback: size and mtime only, so the state cache is weaker here
// than on Linux, where CI runs.

func keyOfInfo(fi fs.FileInfo) statecache.Key {
	return statecache.Key{Size: fi.Size(), Mtime: fi.ModTime().UnixNano()}
}

func statFile(j job) (statecache.Key, error) {
	path := j.full
	stat := os.Lstat
	if j.follow {
		stat = os.Stat
	}
	fi, err := stat(path)
	if err != nil {
		return statecache.Key{}, err
	}
	if !fi.Mode().IsRegular() {
		return statecache.Key{}, &fs.PathError{Op: "stat", Path: path, Err: errReplaced}
	}
	return keyOfInfo(fi), nil
}

func (w *worker) readFile(j job, want statecache.Key, known bool) (statecache.Key, Sum, error) {
	path := j.full
	f, err := os.Open(path)
	if err != nil {
		return want, Sum{}, err
	}
	defer f.Close()
	var sum Sum
	w.h.Reset()
	n, err := io.ReadFull(f, w.buf)
	switch {
	case err == nil && w.large:
		fi, err := f.Stat()
		if err != nil {
			return want, Sum{}, err
		}
		if sum, err = hashLarge(f, path, fi.Size(), &w.blockReader, w.help); err != nil {
			return want, Sum{}, err
		}
		n = int(fi.Size())
	case err == nil:
		w.h.Write(w.buf)
		m, err := io.CopyBuffer(w.h, f, w.buf)
		if err != nil {
			return want, Sum{}, err
		}
		n += int(m)
		w.h.Sum(sum[:0])
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		w.h.Write(w.buf[:n])
		w.h.Sum(sum[:0])
	default:
		return want, Sum{}, err
	}
	if w.opts.afterRead != nil {
		w.opts.afterRead(path)
	}
	fi, err := f.Stat()
	if err != nil {
		return want, Sum{}, err
	}
	if !fi.Mode().IsRegular() {
		return want, Sum{}, &fs.PathError{Op: "open", Path: path, Err: errReplaced}
	}
	got := keyOfInfo(fi)
	if (known && got != want) || int64(n) != got.Size {
		return got, Sum{}, &fs.PathError{Op: "hash", Path: path, Err: ErrChanged}
	}
	return got, sum, nil
}

// openDir exists on Linux only; elsewhere jobs use full paths.
type openDir struct{}

func openDirectory(string) *openDir { return nil }
func (d *openDir) hold()            {}
func (d *openDir) release()         {}
