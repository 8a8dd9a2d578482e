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
)

// writeTar writes dir as a reproducible tar: entries sorted by path, modes
// reduced to 0644/0755, no owners, mtime at the Unix epoch. Anything that
// varies between checkouts of the same files (order, times, umask, user)
// would otherwise change the digest. It returns the number of regular
// files written.
func writeTar(w io.Writer, dir string) (int, error) {
	var names []string
	files := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// WalkDir does not follow links, so this agrees with addEntry's Lstat.
		if d.Type().IsRegular() {
			files++
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
		return 0, err
	}
	sort.Strings(names)
	tw := tar.NewWriter(w)
	for _, name := range names {
		if err := addEntry(tw, dir, name); err != nil {
			return 0, err
		}
	}
	return files, tw.Close()
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

// extractTar unpacks a tar layer into the staging root and lists what it
// wrote, in tar order. The root refuses any path out of staging; entries
// named .git and entries below a link are refused here, links that lead
// out by checkLinks once all are known.
func extractTar(sroot *os.Root, r io.Reader) ([]entry, error) {
	var entries []entry
	links := map[string]bool{}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return entries, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read tar: %w", err)
		}
		name, err := entryName(hdr)
		if err != nil {
			return nil, err
		}
		if name == "." {
			continue
		}
		for d := path.Dir(filepath.ToSlash(name)); d != "."; d = path.Dir(d) {
			if links[d] {
				return nil, refused(fmt.Errorf("refusing tar entry %q: %s before it is a symbolic link, and mlci does not write through links", hdr.Name, d))
			}
		}
		if parent := filepath.Dir(name); parent != "." {
			if err := sroot.MkdirAll(parent, 0o755); err != nil {
				return nil, fmt.Errorf("tar entry %q: %w", hdr.Name, err)
			}
		}
		e := entry{name: name, kind: hdr.Typeflag}
		switch hdr.Typeflag {
		case tar.TypeDir:
			err = sroot.MkdirAll(name, 0o755)
		case tar.TypeReg:
			err = extractFile(sroot, name, hdr, tr)
		case tar.TypeSymlink:
			e.target = hdr.Linkname
			links[filepath.ToSlash(name)] = true
			err = sroot.Symlink(filepath.FromSlash(hdr.Linkname), name)
		default:
			return nil, refused(fmt.Errorf("refusing tar entry %q: type %q is not a file, directory or symlink", hdr.Name, hdr.Typeflag))
		}
		if err != nil {
			return nil, fmt.Errorf("tar entry %q: %w", hdr.Name, err)
		}
		entries = append(entries, e)
	}
}

// entryName validates a tar entry name and returns it as a clean local path.
func entryName(hdr *tar.Header) (string, error) {
	n := hdr.Name
	if n == "" || path.IsAbs(n) || filepath.IsAbs(n) || strings.Contains(n, `\`) {
		return "", refused(fmt.Errorf("refusing tar entry %q: absolute or malformed path", n))
	}
	clean := path.Clean(n)
	if clean == "." {
		return ".", nil
	}
	for _, part := range strings.Split(n, "/") {
		if part == ".." {
			return "", refused(fmt.Errorf("refusing tar entry %q: path contains \"..\"", n))
		}
		if isGitDir(part) {
			// Git runs what a .git folder's config says (core.fsmonitor…).
			return "", refused(fmt.Errorf("refusing tar entry %q: mlci never writes a %q folder", n, part))
		}
	}
	local := filepath.FromSlash(clean)
	if !filepath.IsLocal(local) || strings.HasPrefix(clean, stagingPrefix) {
		return "", refused(fmt.Errorf("refusing tar entry %q: path is not inside the target directory", n))
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
