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
	"strconv"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
)

var (
	// ErrExists is wrapped by Pull's error when the artifact would
	// replace a file in the folder and PullOptions.Overwrite is not set;
	// the error is an *ExistsError.
	ErrExists = errors.New("already exists")
	// ErrRefused is wrapped by Pull's error when the artifact or the
	// folder is unsafe to unpack (a path out of the folder or into .git, a
	// link that leads out, a file where a folder is): the fault of the
	// artifact or the folder, not of the store.
	ErrRefused = errors.New("refused")
)

// ExistsError names the first file a pull would replace.
type ExistsError struct {
	Name string // below Dir
	Dir  string
}

func (e *ExistsError) Error() string        { return fmt.Sprintf("%s exists in %s", e.Name, e.Dir) }
func (e *ExistsError) Is(target error) bool { return target == ErrExists }

// refused marks err as ErrRefused, leaving its message as it is.
func refused(err error) error { return refusedError{err} }

type refusedError struct{ error }

func (e refusedError) Unwrap() error        { return e.error }
func (e refusedError) Is(target error) bool { return target == ErrRefused }

// PullOptions say how Pull writes into its folder.
type PullOptions struct {
	// Overwrite lets the artifact replace files already in the folder;
	// without it a pull that would replace one writes nothing.
	Overwrite bool
}

// stagingPrefix names the folders a pull is unpacked into before it is
// moved into place; no artifact entry may use it.
const stagingPrefix = ".mlci-pull-"

// maxLinkDepth bounds how many links resolving one link may follow, as
// the kernel's ELOOP does.
const maxLinkDepth = 40

// entry is one thing a layer unpacked: a file, a folder or a link.
type entry struct {
	name   string // clean local path below the folder
	kind   byte   // tar.TypeReg, tar.TypeDir or tar.TypeSymlink
	target string // a link's target
}

// unpack writes a layer into dir. It is unpacked into a staging folder
// first and moved into place only once every byte is read, the digest
// checked and every link found to stay inside dir, so a bad layer writes
// nothing. A new dir is staged beside it and appears whole, in one rename;
// into an existing dir the entries are staged inside it (a rename cannot
// cross file systems, and dir may be a mount point), checked against what
// is there, and moved one by one, and a failed move undoes the ones before.
func unpack(dir string, layer ocispec.Descriptor, vr *content.VerifyReader, opt PullOptions) (files int, err error) {
	fresh := false
	switch info, err := os.Stat(dir); {
	case errors.Is(err, fs.ErrNotExist):
		fresh = true
	case err != nil:
		return 0, err
	case !info.IsDir():
		return 0, refused(fmt.Errorf("%s is not a folder", dir))
	}
	stageIn, prefix := dir, stagingPrefix
	if fresh {
		stageIn, prefix = filepath.Dir(dir), "."+filepath.Base(dir)+stagingPrefix
		if err := os.MkdirAll(stageIn, 0o755); err != nil {
			return 0, err
		}
	}
	staging, err := os.MkdirTemp(stageIn, prefix+"*")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(staging)
	sroot, err := os.OpenRoot(staging)
	if err != nil {
		return 0, err
	}
	defer sroot.Close()

	var entries []entry
	switch layer.MediaType {
	case MediaTypeFile:
		name := layer.Annotations[ocispec.AnnotationTitle]
		if name == "" || name != filepath.Base(name) || !filepath.IsLocal(name) || isGitDir(name) || strings.HasPrefix(name, stagingPrefix) {
			return 0, refused(fmt.Errorf("refusing file name %q: want a plain file name", name))
		}
		entries = []entry{{name: name, kind: tar.TypeReg}}
		err = extractFile(sroot, name, &tar.Header{Mode: 0o644}, vr)
	case MediaTypeTar:
		entries, err = extractTar(sroot, vr)
	}
	if err != nil {
		return 0, err
	}
	// Drain tar padding so the digest covers every byte of the blob.
	if _, err := io.Copy(io.Discard, vr); err != nil {
		return 0, err
	}
	if err := vr.Verify(); err != nil {
		return 0, err
	}
	for _, e := range entries {
		if e.kind == tar.TypeReg {
			files++
		}
	}

	if fresh {
		if err := checkLinks(entries, nil); err != nil {
			return 0, err
		}
		if err := os.Chmod(staging, 0o755); err != nil {
			return 0, err
		}
		return files, os.Rename(staging, dir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return 0, err
	}
	defer root.Close()
	if err := checkLinks(entries, root); err != nil {
		return 0, err
	}
	if err := checkPlace(root, dir, entries, opt.Overwrite); err != nil {
		return 0, err
	}
	return files, place(root, filepath.Base(staging), entries)
}

func isGitDir(name string) bool { return strings.EqualFold(name, ".git") }

// checkLinks refuses a link that leads out of the folder or into a .git
// folder once resolved through every link before it, the artifact's own
// (in any order) and, for an existing folder, those already there (dest):
// "a/b -> .." is inside, and so, lexically, is "c -> a/b/..", which leads
// to the folder's parent.
func checkLinks(entries []entry, dest *os.Root) error {
	t := linkTree{links: map[string]string{}, present: map[string]bool{}, dest: dest}
	for _, e := range entries {
		n := filepath.ToSlash(e.name)
		if e.kind == tar.TypeSymlink {
			t.links[n] = filepath.ToSlash(e.target)
		} else {
			t.present[n] = true
		}
		for d := path.Dir(n); d != "."; d = path.Dir(d) {
			t.present[d] = true
		}
	}
	for _, e := range entries {
		if e.kind != tar.TypeSymlink {
			continue
		}
		if _, err := t.resolve(filepath.ToSlash(e.name), 0); err != nil {
			return refused(fmt.Errorf("refusing tar entry %q: symlink to %q %w", filepath.ToSlash(e.name), e.target, err))
		}
	}
	return nil
}

var (
	errEscapes = errors.New("escapes the target directory")
	errGitDir  = errors.New("leads into a .git folder")
	errLoop    = errors.New("goes through too many links")
)

// linkTree is the folder as it will be after the pull, as far as links go.
type linkTree struct {
	links   map[string]string // the artifact's links, by slash path
	present map[string]bool   // the artifact's files and folders
	dest    *os.Root          // the existing folder, nil for a new one
}

// link returns the target of the link at p, if p is one.
func (t *linkTree) link(p string) (string, bool) {
	if target, ok := t.links[p]; ok {
		return target, true
	}
	if t.present[p] || t.dest == nil {
		return "", false
	}
	fi, err := t.dest.Lstat(filepath.FromSlash(p))
	if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		return "", false
	}
	target, err := t.dest.Readlink(filepath.FromSlash(p))
	if err != nil {
		return "", false
	}
	return filepath.ToSlash(target), true
}

// resolve follows p (a slash path below the folder, with .. allowed)
// through links and returns where it leads. It is not lexical: "l/.." is
// the parent of where l leads, not the folder l is in.
func (t *linkTree) resolve(p string, depth int) (string, error) {
	var cur []string
	for _, part := range strings.Split(p, "/") {
		switch part {
		case "", ".":
			continue
		case "..":
			if len(cur) == 0 {
				return "", errEscapes
			}
			cur = cur[:len(cur)-1]
			continue
		}
		if isGitDir(part) {
			return "", errGitDir
		}
		cur = append(cur, part)
		target, ok := t.link(strings.Join(cur, "/"))
		if !ok {
			continue
		}
		if depth >= maxLinkDepth {
			return "", errLoop
		}
		if target == "" || path.IsAbs(target) || filepath.IsAbs(target) || filepath.VolumeName(target) != "" {
			return "", errEscapes
		}
		r, err := t.resolve(strings.Join(cur[:len(cur)-1], "/")+"/"+target, depth+1)
		if err != nil {
			return "", err
		}
		cur = strings.FieldsFunc(r, func(c rune) bool { return c == '/' })
	}
	return strings.Join(cur, "/"), nil
}

// checkPlace refuses, before anything moves, what would fail or harm an
// existing folder: a path through a link (the root would follow it inside
// the folder, into .git for one), a file where a folder is needed or the
// other way round, and a file already there unless overwrite.
func checkPlace(root *os.Root, dir string, entries []entry, overwrite bool) error {
	for _, e := range entries {
		parts := strings.Split(filepath.ToSlash(e.name), "/")
		for i := 1; i < len(parts); i++ {
			p := filepath.FromSlash(strings.Join(parts[:i], "/"))
			fi, err := root.Lstat(p)
			if errors.Is(err, fs.ErrNotExist) {
				break
			}
			switch {
			case err != nil:
				return err
			case fi.Mode()&fs.ModeSymlink != 0:
				return refused(fmt.Errorf("%s in %s is a symbolic link, and mlci does not write through links; pull into a new folder", p, dir))
			case !fi.IsDir():
				return refused(fmt.Errorf("%s in %s is a file, and the artifact has a folder there; pull into a new folder", p, dir))
			}
		}
		fi, err := root.Lstat(e.name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return err
		case e.kind == tar.TypeDir && fi.Mode()&fs.ModeSymlink != 0:
			return refused(fmt.Errorf("%s in %s is a symbolic link, and mlci does not write through links; pull into a new folder", e.name, dir))
		case e.kind == tar.TypeDir && fi.IsDir():
		case e.kind == tar.TypeDir || fi.IsDir():
			return refused(fmt.Errorf("%s in %s is a %s, and the artifact has a %s there; pull into a new folder", e.name, dir, kindOf(fi.IsDir()), kindOf(e.kind == tar.TypeDir)))
		case !overwrite:
			return &ExistsError{Name: e.name, Dir: dir}
		}
	}
	return nil
}

func kindOf(isDir bool) string {
	if isDir {
		return "folder"
	}
	return "file"
}

// place moves the staged entries into root. Every step is recorded so that
// a failure undoes them in reverse: replaced files come back from the
// staging folder, new files and folders go.
func place(root *os.Root, staging string, entries []entry) (err error) {
	var undo []func() error
	defer func() {
		if err == nil {
			return
		}
		for i := len(undo) - 1; i >= 0; i-- {
			if uerr := undo[i](); uerr != nil {
				err = fmt.Errorf("%w; undoing it also failed, so the folder is half updated: %v", err, uerr)
			}
		}
	}()
	mkdirs := func(name string) error {
		parts := strings.Split(filepath.ToSlash(name), "/")
		for i := 1; i <= len(parts); i++ {
			d := filepath.FromSlash(strings.Join(parts[:i], "/"))
			if _, err := root.Lstat(d); err == nil {
				continue
			}
			if err := root.Mkdir(d, 0o755); err != nil {
				return fmt.Errorf("create %s: %w", d, err)
			}
			undo = append(undo, func() error { return root.Remove(d) })
		}
		return nil
	}
	replaced := filepath.Join(staging, stagingPrefix+"replaced")
	for i, e := range entries {
		if e.kind == tar.TypeDir {
			if err := mkdirs(e.name); err != nil {
				return err
			}
			continue
		}
		if parent := filepath.Dir(e.name); parent != "." {
			if err := mkdirs(parent); err != nil {
				return err
			}
		}
		if _, err := root.Lstat(e.name); err == nil {
			if err := root.MkdirAll(replaced, 0o700); err != nil {
				return err
			}
			old := filepath.Join(replaced, strconv.Itoa(i))
			if err := root.Rename(e.name, old); err != nil {
				return fmt.Errorf("move %s aside: %w", e.name, err)
			}
			undo = append(undo, func() error { return root.Rename(old, e.name) })
		}
		if err := root.Rename(filepath.Join(staging, e.name), e.name); err != nil {
			return fmt.Errorf("move %s into place: %w", e.name, err)
		}
		undo = append(undo, func() error { return root.Remove(e.name) })
	}
	return nil
}
