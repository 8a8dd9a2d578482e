package lockfile

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mlci/mlci/internal/atomicfile"
	"github.com/mlci/mlci/internal/datahash"

	"github.com/mlci/mlci/internal/regfile"
)

// mlci.lock and its manifests change together. Manifests keep their names
// (mlci.lock.d/NAME.tsv), so a pull request's diff shows the changed lines
// of one file rather than a file deleted and another added, and the lock
// format is the one earlier versions read and write. The pair is bound by
// content instead: a manifest is used only when its entries give the
// digest, file count and size mlci.lock records, so a manifest that does
// not belong to the lock beside it (edited, cut short, or left by a write
// that died) is detected on every read, never used.
//
// Save makes the pair change at one instant, the rename of mlci.lock:
//
//  1. each new manifest is written and synced under a staging name beside
//     its final one, .NAME.tsv.DIGEST.pending, DIGEST being the start of
//     the dataset's root;
//  2. mlci.lock is replaced (temporary file, fsync, rename). From now on
//     readers see the new lock, and take a manifest whose final name still
//     holds the old one from its staging name, which the lock's digest
//     gives;
//  3. staged manifests are renamed into place; files no dataset names
//     (old manifests, staging and temporary files of killed runs) are
//     removed.
//
// A run killed before step 2 leaves the old pair; one killed after leaves
// the new one; either way the next Save removes or finishes what it left.

const pendingExt = ".pending"

// pendingPath is where Save stages ds's manifest, relative to the lock.
func pendingPath(ds *Dataset) string {
	dir, base := path.Split(ds.Manifest)
	hex := ds.Digest.Hex()
	return dir + "." + base + "." + hex[:min(16, len(hex))] + pendingExt
}

// Save writes the given manifests (keyed by dataset name) and the lock as
// one unit, as described above. An error before the lock was replaced
// leaves both as they were; after, it wraps ErrPartial. The caller holds
// the writers' lock (Acquire), so no other Save stages or cleans meanwhile.
func Save(dir string, l *Lock, manifests map[string][]byte) error {
	if err := checkManifestDir(dir); err != nil {
		return err
	}
	if len(manifests) > 0 {
		if err := os.MkdirAll(filepath.Join(dir, ManifestDir), 0o755); err != nil {
			return err
		}
	}
	var staged []string
	unstage := func() {
		for _, p := range staged {
			os.Remove(p)
		}
	}
	for _, n := range slices.Sorted(maps.Keys(manifests)) {
		ds := l.Datasets[n]
		if ds == nil {
			unstage()
			return fmt.Errorf("manifest for %q, which is not in the lock", n)
		}
		p := filepath.Join(dir, filepath.FromSlash(pendingPath(ds)))
		if err := atomicfile.Write(p, manifests[n], 0o644); err != nil {
			unstage()
			return err
		}
		staged = append(staged, p)
	}
	if err := Write(filepath.Join(dir, FileName), l); err != nil {
		unstage()
		return err
	}
	if err := settle(dir, l, manifests); err != nil {
		return fmt.Errorf("%w: %w", ErrPartial, err)
	}
	return nil
}

// settle moves l's staged manifests into place and removes every file in
// the manifest directory that l does not name. fresh holds the manifests
// this run staged; one staged by an earlier run that died is moved only if
// it matches l and the file in place does not.
func settle(dir string, l *Lock, fresh map[string][]byte) error {
	mdir := filepath.Join(dir, ManifestDir)
	var errs []error
	keep := map[string]bool{}
	for _, n := range l.Names() {
		ds := l.Datasets[n]
		if ds.InTrees() {
			continue
		}
		final := filepath.Join(dir, filepath.FromSlash(ds.Manifest))
		staged := filepath.Join(dir, filepath.FromSlash(pendingPath(ds)))
		keep[path.Base(ds.Manifest)] = true
		if _, err := os.Lstat(staged); err != nil {
			continue
		}
		if _, ours := fresh[n]; !ours {
			if _, err := readVerified(final, ds.Manifest, n, ds); err == nil {
				os.Remove(staged)
				continue
			}
			if _, err := readVerified(staged, ds.Manifest, n, ds); err != nil {
				os.Remove(staged)
				continue
			}
		}
		if err := os.Rename(staged, final); err != nil {
			errs = append(errs, err)
			keep[filepath.Base(staged)] = true
		}
	}
	if entries, err := os.ReadDir(mdir); err == nil {
		for _, e := range entries {
			name := e.Name()
			ours := strings.HasSuffix(name, manifestExt) && !strings.HasPrefix(name, ".") ||
				strings.HasPrefix(name, ".") && strings.HasSuffix(name, pendingExt)
			if e.Type().IsRegular() && ours && !keep[name] {
				os.Remove(filepath.Join(mdir, name))
			}
		}
	}
	atomicfile.CleanDir(mdir)
	atomicfile.SyncDir(mdir)
	return errors.Join(errs...)
}

// VerifyManifest parses a manifest and checks it against ds, the entry of
// dataset name in mlci.lock; label names the manifest in messages, and
// name, unless empty, the dataset in the fix they suggest.
func VerifyManifest(label, name string, ds *Dataset, data []byte) ([]datahash.Entry, error) {
	alg, entries, err := ParseManifest(label, data)
	if err != nil {
		return nil, err
	}
	root := datahash.Root(alg, entries)
	var size int64
	for _, e := range entries {
		size += e.Size
	}
	if root != ds.Digest || int64(len(entries)) != ds.Files || size != ds.Bytes {
		fix := "mlci data lock"
		if name != "" {
			fix += " " + name
		}
		return nil, fmt.Errorf("%s %w (it gives %s, %d files, %d bytes; %s records %s, %d files, %d bytes): it was edited, or belongs to another %s; run %s to write both again",
			label, ErrMismatch, root.Short(), len(entries), size, FileName, ds.Digest.Short(), ds.Files, ds.Bytes, FileName, fix)
	}
	return entries, nil
}

// ReadManifest reads and verifies the manifest of dataset name, whose
// entry in the lock in dir is ds. A missing manifest gives an error that
// wraps os.ErrNotExist.
func ReadManifest(dir, name string, ds *Dataset) ([]datahash.Entry, error) {
	final := filepath.Join(dir, filepath.FromSlash(ds.Manifest))
	staged := filepath.Join(dir, filepath.FromSlash(pendingPath(ds)))
	var err error
	for range 2 {
		var entries []datahash.Entry
		if entries, err = readVerified(final, ds.Manifest, name, ds); err == nil {
			return entries, nil
		}
		// A Save that replaced the lock but has not moved the manifest into
		// place yet, or was killed before it could, left it staged.
		entries, serr := readVerified(staged, ds.Manifest, name, ds)
		if serr == nil {
			return entries, nil
		}
		if !errors.Is(serr, os.ErrNotExist) {
			break
		}
		// Nothing staged: unless a Save moved it into place since the
		// first read, which a second read shows, the first error stands.
	}
	return nil, err
}

func readVerified(file, label, name string, ds *Dataset) ([]datahash.Entry, error) {
	data, err := regfile.Read(file, MaxManifestSize)
	if err != nil {
		return nil, err
	}
	return VerifyManifest(label, name, ds, data)
}

// Load reads mlci.lock in dir and the manifests it names as one state:
// under the readers' side of the writers' lock, so no Save replaces them
// half-way. The manifests are then verified in the background, so that a
// check can hash meanwhile; Manifests.Get waits for one. A missing lock
// gives an error that wraps os.ErrNotExist. wait, if set, is called once
// when a writer has to be waited for.
func Load(ctx context.Context, dir string, wait func()) (*Lock, *Manifests, error) {
	release, err := lockShared(ctx, dir, wait)
	if err != nil {
		return nil, nil, err
	}
	defer release()
	if err := checkManifestDir(dir); err != nil {
		return nil, nil, err
	}
	l, err := Read(filepath.Join(dir, FileName))
	if err != nil {
		return nil, nil, err
	}
	type files struct {
		final, staged       []byte
		hasFinal, hasStaged bool
	}
	raw := make([]files, len(l.Names()))
	m := &Manifests{dir: dir, byName: map[string]*verified{}, all: make(chan struct{})}
	for i, n := range l.Names() {
		ds := l.Datasets[n]
		if ds.InTrees() {
			// Listed only when asked for: a check that finds the digest
			// unchanged, or one that walks only the trees that differ,
			// never needs every file.
			m.byName[n] = &verified{trees: func() ([]datahash.Entry, error) { return ExpandTrees(ctx, dir, n, ds) }}
			continue
		}
		m.byName[n] = &verified{done: make(chan struct{})}
		raw[i].final, err = regfile.Read(filepath.Join(dir, filepath.FromSlash(ds.Manifest)), MaxManifestSize)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, nil, err
		}
		raw[i].hasFinal = err == nil
		// Staged by a Save killed after it replaced the lock: see above.
		raw[i].staged, err = regfile.Read(filepath.Join(dir, filepath.FromSlash(pendingPath(ds))), MaxManifestSize)
		raw[i].hasStaged = err == nil
	}
	go func() {
		defer close(m.all)
		for i, n := range l.Names() {
			v, ds := m.byName[n], l.Datasets[n]
			if ds.InTrees() {
				continue
			}
			// A staged manifest is used only when it matches and the one
			// in place does not; one that does not match is left over
			// from a Save that never replaced the lock. With neither, the
			// manifest is missing: a check can still compare digests.
			f := raw[i]
			if f.hasFinal {
				v.entries, v.err = VerifyManifest(ds.Manifest, n, ds, f.final)
			}
			if (v.err != nil || !f.hasFinal) && f.hasStaged {
				if entries, err := VerifyManifest(ds.Manifest, n, ds, f.staged); err == nil {
					v.entries, v.err = entries, nil
				}
			}
			if v.err != nil && m.err == nil {
				m.err = v.err
			}
			raw[i] = files{}
			close(v.done)
		}
	}()
	return l, m, nil
}

// Manifests are the verified manifests of a Load.
type Manifests struct {
	dir    string
	byName map[string]*verified
	all    chan struct{}
	err    error // the first failure, set before all is closed
}

type verified struct {
	done    chan struct{}
	entries []datahash.Entry
	err     error
	// trees lists a tree-locked dataset, which has no manifest.
	trees func() ([]datahash.Entry, error)
}

// Get waits for the manifest of dataset name to be verified and returns
// its entries: nil when it is missing, or the lock has no such dataset. A
// dataset locked in tree objects is listed from the local object store
// on each call, with sizes -1; a missing tree object is an error that
// names the dataset and how to fetch it.
func (m *Manifests) Get(name string) ([]datahash.Entry, error) {
	v, ok := m.byName[name]
	if !ok {
		return nil, nil
	}
	if v.trees != nil {
		return v.trees()
	}
	<-v.done
	return v.entries, v.err
}

// Dir is the directory of the lock the manifests were loaded with, which
// holds the local object store (StoreDir) of its tree-locked datasets.
func (m *Manifests) Dir() string { return m.dir }

// Err waits for every manifest and returns the first failure.
func (m *Manifests) Err() error {
	<-m.all
	return m.err
}

// checkManifestDir refuses a manifest folder that is not a folder of the
// project: committed as a link, it would have manifests read from, and
// stale ones removed in, wherever it points.
func checkManifestDir(dir string) error {
	fi, err := os.Lstat(filepath.Join(dir, ManifestDir))
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return err
	case !fi.IsDir():
		return fmt.Errorf("%s is %s, not a folder: remove it and run mlci data lock", ManifestDir, regfile.Kind(fi.Mode()))
	}
	return nil
}
