package gitrepo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

var (
	// ErrSymlink means a path is a symbolic link at a revision; git holds
	// only the link's text, and mlci never follows it on disk.
	ErrSymlink = errors.New("is a symbolic link")
	// ErrTooLarge means a file at a revision is over the caller's limit.
	ErrTooLarge = errors.New("is over the size limit")
)

// File returns the content of the regular file at path (relative to the
// work tree root, with forward slashes) at rev. Symbolic links, directories
// and submodules are refused, and so is a file over limit bytes (limit <= 0:
// none), before its content is read.
func (r *Repo) File(ctx context.Context, rev, path string, limit int64) ([]byte, error) {
	// Literal pathspecs: a name with * or : is a name, not a pattern.
	out, err := r.git(ctx, "--literal-pathspecs", "ls-tree", "-l", "-z", "--full-tree", rev, "--", path)
	if err != nil {
		return nil, err
	}
	rec, _, _ := bytes.Cut(out, []byte{0})
	meta, name, ok := strings.Cut(string(rec), "\t")
	fields := strings.Fields(meta)
	if !ok || name != path || len(fields) != 4 {
		return nil, fmt.Errorf("%s at %s: %w", path, rev, ErrNotFound)
	}
	mode, typ, oid := fields[0], fields[1], fields[2]
	switch {
	case mode == "120000":
		return nil, fmt.Errorf("%s at %s: %w", path, rev, ErrSymlink)
	case typ == "tree":
		return nil, fmt.Errorf("%s at %s is a directory, not a file", path, rev)
	case typ != "blob":
		return nil, fmt.Errorf("%s at %s is a submodule, not a file", path, rev)
	}
	size, err := strconv.ParseInt(fields[3], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("git ls-tree %s: size %q: %w", path, fields[3], err)
	}
	if limit > 0 && size > limit {
		return nil, fmt.Errorf("%s at %s %w: %.1f MiB, over %d MiB", path, rev, ErrTooLarge, float64(size)/(1<<20), limit>>20)
	}
	return r.git(ctx, "cat-file", "blob", oid)
}
