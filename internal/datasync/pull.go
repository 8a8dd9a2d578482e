package datasync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mlci/mlci/internal/datahash"
	"github.com/mlci/mlci/internal/digest"
	"github.com/mlci/mlci/internal/exitcode"
	"github.com/mlci/mlci/internal/remote"
)

// ErrUnsafePath means a path or link target from the lock would have pull
// write outside the dataset, into git's folder, or through a link. The lock
// is repository content, which a pull request can change, so it is never
// trusted to say where files go.
var ErrUnsafePath = errors.New("unsafe path in the lock")

// TempDir is where Pull stages downloads, relative to the project root: on
// the project's file system, so placing a file is a rename, and in .mlci/,
// which git ignores.
const TempDir = ".mlci/tmp"

// PullStats counts what one Pull did.
type PullStats struct {
	remote.Stats
	Files   int64 // files and links placed
	Present int64 // files and links already there with the locked content
}

// PullOptions control one Pull.
type PullOptions struct {
	// Transfer are the download's settings; its TempDir is set by Pull.
	Transfer remote.TransferOptions
	// Have lists what the dataset's folder holds now, in tree order
	// (hashed with the lock's options, through the state cache); entries
	// that match the lock are not fetched again. It is called only once
	// the dataset's path has been found safe; nil means nothing is there.
	Have func(ctx context.Context) ([]datahash.Entry, error)
}

// Pull materializes s under root (the project root) from store: each file
// missing or different is downloaded, verified against its digest, and
// renamed into place; links are created. Nothing is written outside the
// dataset's folder or through a link: a path that would is refused before
// anything is fetched, and a link target that is absolute or leaves the
// dataset is refused when it arrives. Files under the dataset's folder that
// the lock does not list are left alone.
func Pull(ctx context.Context, root string, store remote.Store, s *Set, opts PullOptions) (PullStats, error) {
	var st PullStats
	rootDir, err := os.OpenRoot(root)
	if err != nil {
		return st, err
	}
	defer rootDir.Close()
	w := &writer{root: rootDir, rootPath: root, dirs: map[string]bool{}}
	if len(s.Entries) == 0 {
		return st, fmt.Errorf("dataset %s lists no files", s.Name)
	}
	if err := checkDatasetPath(s.Dataset.Path); err != nil {
		return st, unsafe(s.Name, err)
	}
	for _, e := range s.Entries {
		if err := checkEntryPath(s, e); err != nil {
			return st, unsafe(s.Name, err)
		}
	}
	// The dataset's own folder must be one of the project's, not a link:
	// checked before Have reads it.
	if err := w.mkdirs(parentOf(s, datahash.Entry{Path: ""})); err != nil {
		return st, unsafe(s.Name, err)
	}
	if len(s.Entries) > 1 || s.Entries[0].Path != "" {
		if err := w.mkdirs(s.Dataset.Path); err != nil {
			return st, unsafe(s.Name, err)
		}
	}
	present := map[string]bool{}
	if opts.Have != nil {
		have, err := opts.Have(ctx)
		if err != nil {
			return st, err
		}
		locked := make(map[string]datahash.Entry, len(s.Entries))
		for _, e := range s.Entries {
			locked[e.Path] = e
		}
		for _, h := range have {
			if e, ok := locked[h.Path]; ok && e.Type == h.Type && e.Sum == h.Sum {
				present[h.Path] = true
			}
		}
	}
	// Each object goes to the paths of its content that lack it.
	todo := map[digest.Digest][]datahash.Entry{}
	var objects []remote.Object
	for _, o := range s.Blobs() {
		for _, i := range s.byDigest[o.Digest] {
			if e := s.Entries[i]; !present[e.Path] {
				todo[o.Digest] = append(todo[o.Digest], e)
			}
		}
		if len(todo[o.Digest]) > 0 {
			objects = append(objects, o)
		}
	}
	st.Present = int64(len(s.Entries)) - countEntries(todo)
	if len(objects) == 0 {
		// Still synced: an earlier pull may have been stopped after it
		// placed the last file but before its sync.
		return st, w.sync(s)
	}
	// Every folder is made, and every link on the way refused, before
	// anything is fetched.
	for _, es := range todo {
		for _, e := range es {
			if err := w.mkdirs(parentOf(s, e)); err != nil {
				return st, unsafe(s.Name, err)
			}
		}
	}
	tmp, err := w.tempDir()
	if err != nil {
		return st, err
	}
	defer os.RemoveAll(tmp)
	topts := opts.Transfer
	topts.TempDir = tmp
	if topts.Progress != nil {
		topts.Progress = knownBytes{topts.Progress}
	}
	var placed, bytes atomic.Int64
	st.Stats, err = remote.Pull(ctx, store, objects, func(d digest.Digest, tmpPath string) error {
		if fi, err := os.Stat(tmpPath); err == nil {
			bytes.Add(fi.Size())
		}
		n, err := w.place(s, todo[d], tmpPath)
		placed.Add(int64(n))
		return err
	}, topts)
	st.Files = placed.Load()
	// Entries listed from tree objects have no sizes: count what came.
	st.Bytes = bytes.Load()
	if err == nil {
		// Downloads are not fsynced one by one; this is the one step
		// that makes them durable, before pull reports success.
		err = w.sync(s)
	}
	if err != nil {
		if d, ok := objectError(err); ok && errors.Is(err, remote.ErrDigestMismatch) {
			return st, fmt.Errorf("dataset %s: %s: the remote's object for it is corrupt, so it was not written: %w", s.Name, firstPaths(s.Paths(d), 3), err)
		}
		if errors.Is(err, ErrUnsafePath) {
			return st, exitcode.With(exitcode.Usage, err)
		}
	}
	return st, err
}

func countEntries(m map[digest.Digest][]datahash.Entry) int64 {
	var n int64
	for _, es := range m {
		n += int64(len(es))
	}
	return n
}

func unsafe(name string, err error) error {
	return exitcode.With(exitcode.Usage, fmt.Errorf("dataset %s: %w; nothing was written", name, err))
}

// checkDatasetPath refuses a dataset path outside the project or in git's
// folder: pull writes only into the project's own folders.
func checkDatasetPath(p string) error {
	if p == "." {
		return nil
	}
	if path.IsAbs(p) || filepath.IsAbs(p) || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../") || strings.Contains(p, "\\") {
		return fmt.Errorf("path %q is not a folder inside the project (%w): pull writes only there", p, ErrUnsafePath)
	}
	if err := checkComponents(p); err != nil {
		return err
	}
	return checkOwnFiles(p)
}

// checkOwnFiles refuses a path, relative to the project root, in mlci's
// own files, which hashing leaves out of every dataset.
func checkOwnFiles(p string) error {
	first, _, _ := strings.Cut(p, "/")
	switch strings.ToLower(first) {
	case ".mlci", "mlci.lock", "mlci.lock.d", "mlci.yaml", ".mlci.yaml":
		return fmt.Errorf("path %q is in mlci's own files (%w)", p, ErrUnsafePath)
	}
	return nil
}

// checkEntryPath refuses an entry path that is not a clean relative path
// inside the dataset, or that names git's or mlci's own files.
func checkEntryPath(s *Set, e datahash.Entry) error {
	if e.Path == "" {
		if len(s.Entries) != 1 {
			return fmt.Errorf("an empty path in a dataset of several files (%w)", ErrUnsafePath)
		}
		return nil
	}
	if path.IsAbs(e.Path) || path.Clean(e.Path) != e.Path || e.Path == ".." || strings.HasPrefix(e.Path, "../") || strings.ContainsAny(e.Path, "\\\x00") {
		return fmt.Errorf("entry %q leaves the dataset's folder (%w)", e.Path, ErrUnsafePath)
	}
	if err := checkComponents(e.Path); err != nil {
		return err
	}
	if s.Dataset.Path == "." {
		// A dataset that is the whole project never holds mlci's files,
		// which hashing leaves out.
		return checkOwnFiles(e.Path)
	}
	return nil
}

// checkComponents refuses a ".git" component in any case: case-insensitive
// file systems treat ".GIT" as git's folder, and a hook written there runs.
func checkComponents(p string) error {
	for part := range strings.SplitSeq(p, "/") {
		if strings.EqualFold(part, ".git") || part == "" || part == "." || part == ".." {
			return fmt.Errorf("path %q names git's folder or is not clean (%w)", p, ErrUnsafePath)
		}
	}
	return nil
}

// parentOf is the folder, relative to the project root, that holds e.
func parentOf(s *Set, e datahash.Entry) string {
	return path.Dir(s.path(e))
}

// writer places files inside the project through an os.Root, which
// cannot be led outside it, and creates or checks each folder on the way
// one component at a time, refusing links, so not even a link to another
// folder of the project (.git/hooks) is written through.
type writer struct {
	root     *os.Root
	rootPath string
	mu       sync.Mutex      // guards dirs and written: Pull places objects concurrently
	dirs     map[string]bool // folders known to be real folders
	// written are the files placed (and the folders links were made in),
	// for a system without syncfs to sync one by one at the end.
	written []string
}

// sync makes everything this pull placed durable, through a descriptor of
// the dataset's folder: the file system that matters, since each file was
// renamed there from the staging folder.
func (w *writer) sync(s *Set) error {
	dir := parentOf(s, datahash.Entry{Path: ""})
	if len(s.Entries) > 1 || s.Entries[0].Path != "" {
		dir = s.Dataset.Path
	}
	w.mu.Lock()
	written := w.written
	w.mu.Unlock()
	if err := remote.SyncFS(w.abs(dir), written); err != nil {
		return fmt.Errorf("dataset %s: %w", s.Name, err)
	}
	return nil
}

// abs is the path of rel, relative to the project root, on this system.
func (w *writer) abs(rel string) string {
	return filepath.Join(w.rootPath, filepath.FromSlash(rel))
}

func (w *writer) wrote(rel string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.written = append(w.written, w.abs(rel))
}

// mkdirs makes sure every component of dir (relative to the root, "."
// for the root) is a real folder, creating the missing ones.
func (w *writer) mkdirs(dir string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.mkdirsLocked(dir)
}

func (w *writer) mkdirsLocked(dir string) error {
	if dir == "." || w.dirs[dir] {
		return nil
	}
	if err := w.mkdirsLocked(path.Dir(dir)); err != nil {
		return err
	}
	fi, err := w.root.Lstat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := w.root.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		// Made by another pull meanwhile, or by us: check again.
		if fi, err = w.root.Lstat(dir); err != nil {
			return err
		}
	case err != nil:
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("%s is a link; pull never writes through one (%w): remove it", dir, ErrUnsafePath)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is a file where the lock has a folder: remove it", dir)
	}
	w.dirs[dir] = true
	return nil
}

// tempDir makes this pull's staging folder under TempDir, after removing
// those older pulls killed midway left behind.
func (w *writer) tempDir() (string, error) {
	if err := w.mkdirs(TempDir); err != nil {
		return "", fmt.Errorf("staging folder: %w", err)
	}
	base := filepath.Join(w.rootPath, filepath.FromSlash(TempDir))
	if old, err := filepath.Glob(filepath.Join(base, "pull-*")); err == nil {
		for _, o := range old {
			if fi, err := os.Lstat(o); err == nil && time.Since(fi.ModTime()) > staleStaging {
				os.RemoveAll(o)
			}
		}
	}
	return os.MkdirTemp(base, "pull-*")
}

// staleStaging is how old a staging folder must be before a pull removes
// it as a killed pull's.
const staleStaging = 24 * time.Hour

// place puts the verified object at tmpPath at each of entries' paths:
// links first, as they only read it, then copies for all files but the
// last, which gets the object itself by rename. It returns how many paths
// it filled.
func (w *writer) place(s *Set, entries []datahash.Entry, tmpPath string) (int, error) {
	tmpRel, err := filepath.Rel(w.rootPath, tmpPath)
	if err != nil {
		return 0, err
	}
	tmpRel = filepath.ToSlash(tmpRel)
	var files []datahash.Entry
	n := 0
	for _, e := range entries {
		if e.Type != datahash.Symlink {
			files = append(files, e)
			continue
		}
		if err := w.link(s, e, tmpRel); err != nil {
			return n, err
		}
		n++
	}
	for i, e := range files {
		src := tmpRel
		if i < len(files)-1 {
			if src, err = w.copy(tmpRel); err != nil {
				return n, err
			}
		}
		if err := w.into(s, e, src); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// into renames the staged file src to e's path, after making sure the
// folders on the way are real ones.
func (w *writer) into(s *Set, e datahash.Entry, src string) error {
	if err := w.mkdirs(parentOf(s, e)); err != nil {
		return err
	}
	if err := w.root.Chmod(src, 0o644); err != nil {
		return err
	}
	dst := s.path(e)
	if fi, err := w.root.Lstat(dst); err == nil && fi.IsDir() {
		return fmt.Errorf("%s is a folder where the lock has a file: remove it", dst)
	}
	// Renaming over a link replaces the link; it never writes where it
	// points.
	if err := w.root.Rename(src, dst); err != nil {
		return err
	}
	w.wrote(dst)
	return nil
}

// copy duplicates the staged file src beside it, for a second path with
// the same content.
func (w *writer) copy(src string) (string, error) {
	in, err := w.root.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	dst := src + ".copy"
	for i := 0; ; i++ {
		out, err := w.root.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			dst = fmt.Sprintf("%s.copy%d", src, i)
			continue
		}
		if err != nil {
			return "", err
		}
		_, err = io.Copy(out, in)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		return dst, err
	}
}

// maxLinkTarget bounds a link target read from a staged object.
const maxLinkTarget = 64 << 10

// link creates e as a link whose target is the staged object's content,
// refusing a target that is absolute or leads out of the dataset: once
// pulled, the dataset is read by training jobs and pushed again, and must
// not reach into the rest of the machine.
func (w *writer) link(s *Set, e datahash.Entry, src string) error {
	f, err := w.root.Open(src)
	if err != nil {
		return err
	}
	b, err := io.ReadAll(io.LimitReader(f, maxLinkTarget+1))
	f.Close()
	if err != nil {
		return err
	}
	target := string(b)
	if err := checkLinkTarget(s, e, target); err != nil {
		return err
	}
	if err := w.mkdirs(parentOf(s, e)); err != nil {
		return err
	}
	tmp := fmt.Sprintf("%s.link", src)
	w.root.Remove(tmp)
	if err := w.root.Symlink(target, tmp); err != nil {
		return err
	}
	dst := s.path(e)
	if fi, err := w.root.Lstat(dst); err == nil && fi.IsDir() {
		w.root.Remove(tmp)
		return fmt.Errorf("%s is a folder where the lock has a link: remove it", dst)
	}
	if err := w.root.Rename(tmp, dst); err != nil {
		w.root.Remove(tmp)
		return err
	}
	// Its folder, not the link: syncing the link would open its target.
	w.wrote(path.Dir(dst))
	return nil
}

// checkLinkTarget refuses a target that is absolute or climbs out of the
// dataset's folder, read from the link's own folder.
func checkLinkTarget(s *Set, e datahash.Entry, target string) error {
	bad := func() error {
		return fmt.Errorf("link %s -> %q leads out of the dataset (%w); pull only creates links inside it", s.path(e), target, ErrUnsafePath)
	}
	if target == "" || len(target) > maxLinkTarget || strings.ContainsAny(target, "\x00\\") || path.IsAbs(target) || filepath.IsAbs(target) || filepath.VolumeName(target) != "" {
		return bad()
	}
	if e.Path == "" {
		return bad() // a dataset that is one link has no inside to point to
	}
	resolved := path.Join(path.Dir(e.Path), target)
	if resolved == ".." || strings.HasPrefix(resolved, "../") {
		return bad()
	}
	return checkComponents(resolved)
}

// knownBytes passes progress on without the unknown (-1) sizes of entries
// listed from tree objects, so a bar shows no negative bytes.
type knownBytes struct{ p remote.Progress }

func (k knownBytes) SetTotal(files, bytes int64) { k.p.SetTotal(files, max(bytes, 0)) }
func (k knownBytes) Add(files, bytes int64)      { k.p.Add(files, max(bytes, 0)) }
