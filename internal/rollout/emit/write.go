package emit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/mlci/mlci/internal/atomicfile"
)

// Write renders the manifests of kinds for t and writes each to
// dir/<name>.<kind>.yaml, creating dir if needed, and returns the paths
// written in the order of kinds. Everything is rendered before anything is
// written, so a target one engine refuses leaves the directory as it was.
//
// dir is usually inside a GitOps checkout that a pull request can change; a
// component of it that is a symbolic link is refused, so a committed link
// cannot send the files elsewhere.
func Write(dir string, t Target, kinds []Kind) ([]string, error) {
	if len(kinds) == 0 {
		return nil, fmt.Errorf("%w: no serving engine to write for", ErrTarget)
	}
	docs := make([][]byte, len(kinds))
	for i, k := range kinds {
		if slices.Contains(kinds[:i], k) {
			return nil, fmt.Errorf("%w: %s named twice", ErrTarget, k)
		}
		b, err := Render(t, k)
		if err != nil {
			return nil, err
		}
		docs[i] = b
	}
	if err := mkdirNoLinks(dir); err != nil {
		return nil, err
	}
	base := namesOf(t).base
	paths := make([]string, len(kinds))
	for i, k := range kinds {
		paths[i] = filepath.Join(dir, base+"."+string(k)+".yaml")
		if err := atomicfile.Write(paths[i], docs[i], 0o644); err != nil {
			return nil, fmt.Errorf("write rollout manifest: %w", err)
		}
	}
	return paths, nil
}

// ErrLink is returned when a component of Write's directory is a symbolic
// link.
var ErrLink = errors.New("is a symbolic link")

// mkdirNoLinks makes dir a folder at a time, refusing a component that is a
// link rather than following it.
func mkdirNoLinks(dir string) error {
	clean := filepath.Clean(dir)
	var parts []string
	for p := clean; ; p = filepath.Dir(p) {
		parts = append(parts, p)
		if d := filepath.Dir(p); d == p || d == "." {
			break
		}
	}
	slices.Reverse(parts)
	for _, p := range parts {
		fi, err := os.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := os.Mkdir(p, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("rollout manifest folder: %w", err)
			}
			// Lost a race with another writer: look again.
			if fi, err = os.Lstat(p); err != nil {
				return fmt.Errorf("rollout manifest folder: %w", err)
			}
		case err != nil:
			return fmt.Errorf("rollout manifest folder: %w", err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("rollout manifest folder %s: %s %w", dir, p, ErrLink)
		}
		if !fi.IsDir() {
			return fmt.Errorf("rollout manifest folder %s: %s is not a folder", dir, p)
		}
	}
	return nil
}
