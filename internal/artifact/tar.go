package artifact

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"oras.land/oras-go/v2/content"
)

// writeTar writes dir as a reproducible tar: entries sorted by path, modes
// reduced to 0644/0755, no owners, mtime at the Unix epoch. Anything that
// varies between checkouts of the same files (order, times, umask, user)
// would otherwise change the digest.
func writeTar(w io.Writer, dir string) error {
	var names []string
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			names = append(names, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(names)
	tw := tar.NewWriter(w)
	for _, name := range names {
		if err := addEntry(tw, dir, name); err != nil {
			return err
		}
	}
	return tw.Close()
}

func addEntry(tw *tar.Writer, dir, name string) error {
	full := filepath.Join(dir, filepath.FromSlash(name))
	info, err := os.Lstat(full)
	if err != nil {
		return err
	}
	hdr := &tar.Header{Name: name, ModTime: time.Unix(0, 0), Mode: 0o644}
	switch {
	case info.IsDir():
		hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, name+"/", 0o755
	case info.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(full)
		if err != nil {
			return err
		}
		if !symlinkInside(name, target) {
			return fmt.Errorf("symlink %s points outside the artifact (%s); copy the file in instead", full, target)
		}
		hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, filepath.ToSlash(target), 0o755
	case info.Mode().IsRegular():
		hdr.Typeflag, hdr.Size = tar.TypeReg, info.Size()
		if info.Mode()&0o111 != 0 {
			hdr.Mode = 0o755
		}
	default:
		return fmt.Errorf("%s is a %s; only files, directories and symlinks can be stored", full, info.Mode().Type())
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("tar %s: %w", full, err)
	}
	if hdr.Typeflag != tar.TypeReg {
		return nil
	}
	f, err := os.Open(full)
	if err != nil {
		return err
	}
	defer f.Close()
	// A file that changes size while packing would corrupt the tar;
	// the tar writer reports the mismatch.
	if _, err := io.Copy(tw, f); err != nil {
		return fmt.Errorf("tar %s: %w", full, err)
	}
	return nil
}

// symlinkInside reports whether a link named name (slash path relative to the
// artifact root) pointing at target stays inside the root lexically.
func symlinkInside(name, target string) bool {
	target = filepath.ToSlash(target)
	if target == "" || path.IsAbs(target) || filepath.IsAbs(target) {
		return false
	}
	return filepath.IsLocal(filepath.FromSlash(path.Join(path.Dir(name), target)))
}

// extractTar unpacks a tar layer into dir. Entries are first written into a
// staging directory inside dir and moved into place only after the whole
// layer has been read and its digest verified, so a bad layer leaves dir as
// it was. All writes go through os.Root, which refuses to follow any path
// (including through symlinks) out of dir.
func extractTar(dir string, vr *content.VerifyReader) (files int, err error) {
	staging, err := os.MkdirTemp(dir, ".mlci-pull-*")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(staging)
	sroot, err := os.OpenRoot(staging)
	if err != nil {
		return 0, err
	}
	defer sroot.Close()

	var moves []string // regular files and symlinks, in tar order
	tr := tar.NewReader(vr)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("read tar: %w", err)
		}
		name, err := entryName(hdr)
		if err != nil {
			return 0, err
		}
		if name == "." {
			continue
		}
		if parent := filepath.Dir(name); parent != "." {
			if err := sroot.MkdirAll(parent, 0o755); err != nil {
				return 0, fmt.Errorf("tar entry %q: %w", hdr.Name, err)
			}
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := sroot.MkdirAll(name, 0o755); err != nil {
				return 0, fmt.Errorf("tar entry %q: %w", hdr.Name, err)
			}
			continue
		case tar.TypeReg:
			if err := extractFile(sroot, name, hdr, tr); err != nil {
				return 0, fmt.Errorf("tar entry %q: %w", hdr.Name, err)
			}
			files++
		case tar.TypeSymlink:
			if !symlinkInside(filepath.ToSlash(name), hdr.Linkname) {
				return 0, fmt.Errorf("refusing tar entry %q: symlink to %q escapes the target directory", hdr.Name, hdr.Linkname)
			}
			if err := sroot.Symlink(filepath.FromSlash(hdr.Linkname), name); err != nil {
				return 0, fmt.Errorf("tar entry %q: %w", hdr.Name, err)
			}
		default:
			return 0, fmt.Errorf("refusing tar entry %q: type %q is not a file, directory or symlink", hdr.Name, hdr.Typeflag)
		}
		moves = append(moves, name)
	}
	// Drain tar padding so the digest covers every byte of the blob.
	if _, err := io.Copy(io.Discard, vr); err != nil {
		return 0, err
	}
	if err := vr.Verify(); err != nil {
		return 0, err
	}
	return files, moveInto(dir, filepath.Base(staging), moves)
}

// entryName validates a tar entry name and returns it as a clean local path.
func entryName(hdr *tar.Header) (string, error) {
	n := hdr.Name
	if n == "" || path.IsAbs(n) || filepath.IsAbs(n) || strings.Contains(n, `\`) {
		return "", fmt.Errorf("refusing tar entry %q: absolute or malformed path", n)
	}
	clean := path.Clean(n)
	if clean == "." {
		return ".", nil
	}
	for _, part := range strings.Split(n, "/") {
		if part == ".." {
			return "", fmt.Errorf("refusing tar entry %q: path contains \"..\"", n)
		}
	}
	local := filepath.FromSlash(clean)
	if !filepath.IsLocal(local) || strings.HasPrefix(clean, ".mlci-pull-") {
		return "", fmt.Errorf("refusing tar entry %q: path is not inside the target directory", n)
	}
	return local, nil
}

func extractFile(root *os.Root, name string, hdr *tar.Header, r io.Reader) error {
	mode := os.FileMode(0o644)
	if hdr.Mode&0o111 != 0 {
		mode = 0o755
	}
	// O_EXCL: a duplicate entry must not write through an earlier symlink.
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// moveInto renames each staged entry from dir/staging into dir. Each rename
// replaces one file atomically; readers never see a half-written file.
func moveInto(dir, staging string, names []string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	for _, name := range names {
		if parent := filepath.Dir(name); parent != "." {
			if err := root.MkdirAll(parent, 0o755); err != nil {
				return fmt.Errorf("create %s: %w", parent, err)
			}
		}
		if err := root.Rename(filepath.Join(staging, name), name); err != nil {
			return fmt.Errorf("move %s into place: %w", name, err)
		}
	}
	return nil
}
