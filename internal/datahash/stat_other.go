//go:build !linux

package datahash

import (
	"hash"
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

func readFile(j job, want statecache.Key, known bool, h hash.Hash, buf []byte, afterRead func(string)) (statecache.Key, error) {
	path := j.full
	f, err := os.Open(path)
	if err != nil {
		return want, err
	}
	defer f.Close()
	n, err := io.CopyBuffer(h, f, buf)
	if err != nil {
		return want, err
	}
	if afterRead != nil {
		afterRead(path)
	}
	fi, err := f.Stat()
	if err != nil {
		return want, err
	}
	if !fi.Mode().IsRegular() {
		return want, &fs.PathError{Op: "open", Path: path, Err: errReplaced}
	}
	got := keyOfInfo(fi)
	if (known && got != want) || n != got.Size {
		return got, &fs.PathError{Op: "hash", Path: path, Err: ErrChanged}
	}
	return got, nil
}

// openDir exists on Linux only; elsewhere jobs use full paths.
type openDir struct{}

func openDirectory(string) *openDir { return nil }
func (d *openDir) hold()            {}
func (d *openDir) release()         {}
