package remote

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mlci/mlci/internal/digest"
)

// StoredObject is one file of a local object store's objects folder,
// which keeps each object at ALGORITHM/HH/HEX (HH: the first two hex
// digits) and writes it first to a temporary file beside it, named
// HEX.tmp-RANDOM, so an object's name never holds part of it.
type StoredObject struct {
	Path    string
	Digest  digest.Digest // the object's, or the one its temporary file was for
	Temp    bool          // a temporary file: a write in progress, or one a killed writer left
	Size    int64
	ModTime time.Time
}

// List passes every object and temporary file of the store to visit,
// in lexical order of their paths (mlci data gc's sweep). Files that are
// neither are skipped.
func (l *Local) List(ctx context.Context, visit func(StoredObject) error) error {
	return listObjects(ctx, filepath.Join(l.root, "objects"), visit)
}

// listObjects passes every object and temporary file below dir, a local
// store's objects folder, to visit, in lexical order of their paths.
// Files that are neither are skipped: what this package did not name is
// not its to judge. A dir that does not exist holds nothing.
func listObjects(ctx context.Context, dir string, visit func(StoredObject) error) error {
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if p == dir && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		parts := strings.Split(filepath.ToSlash(rel), "/")
		if e.IsDir() {
			// Only ALGORITHM/HH/ holds objects: other folders are not
			// the store's.
			if p != dir && (len(parts) > 2 || !storeFolder(parts)) {
				return fs.SkipDir
			}
			return nil
		}
		if len(parts) != 3 || !e.Type().IsRegular() || !storeFolder(parts[:2]) {
			return nil
		}
		hex, temp := parts[2], false
		if h, _, ok := strings.Cut(hex, tempMark); ok {
			hex, temp = h, true
		}
		d, err := digest.Parse(parts[0] + ":" + hex)
		if err != nil || hex[:2] != parts[1] {
			return nil
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed since the folder was read
		}
		if err != nil {
			return err
		}
		return visit(StoredObject{Path: p, Digest: d, Temp: temp, Size: fi.Size(), ModTime: fi.ModTime()})
	})
	if err != nil {
		return fmt.Errorf("list object store %s: %w", dir, err)
	}
	return nil
}

// storeFolder reports whether parts (ALGORITHM, then HH) name folders an
// object store's objects may be in.
func storeFolder(parts []string) bool {
	if _, err := digest.ParseAlgorithm(parts[0]); err != nil || parts[0] == "" {
		return false
	}
	if len(parts) < 2 {
		return true
	}
	hh := parts[1]
	return len(hh) == 2 && strings.Trim(hh, "0123456789abcdef") == ""
}

// Remove removes an object or temporary file List found; one already gone
// (another gc, or a writer's own clean-up) is no error.
func (l *Local) Remove(o StoredObject) error {
	if err := os.Remove(o.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", o.Path, err)
	}
	return nil
}
