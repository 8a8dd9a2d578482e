// Package lockfile reads and writes mlci.lock, the committed record of every
// dataset's digest, and the per-dataset manifests beside it that name files.
package lockfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/mlci/mlci/internal/atomicfile"
	"github.com/mlci/mlci/internal/digest"

	"github.com/mlci/mlci/internal/regfile"
)

const (
	// FileName is the lock's name at the project root.
	FileName = "mlci.lock"
	// ManifestDir holds one manifest per dataset, relative to the lock.
	ManifestDir = "mlci.lock.d"
	// Version is the newest format this mlci reads. It writes 1, which
	// earlier versions read, unless a dataset keeps its file list in tree
	// objects (Dataset.Trees), which they would not understand: then 2.
	Version = 2
)

var (
	// ErrNewerVersion means the lock was written by a newer mlci.
	ErrNewerVersion = errors.New("written by a newer mlci")
	// ErrMalformed means the lock or a manifest cannot be parsed.
	ErrMalformed = errors.New("malformed")
	// ErrMismatch means a manifest does not give the digest, file count or
	// size that mlci.lock records for its dataset.
	ErrMismatch = errors.New("does not match " + FileName)
	// ErrPartial means mlci.lock was written but not every manifest was
	// moved into place; readers find the rest where they were staged.
	ErrPartial = errors.New(FileName + " was written, but not all of its manifests were moved into place")
)

// Lock is the content of mlci.lock. Keys of Datasets are dataset names.
// Fields are declared in sorted order so the JSON has sorted keys, as a
// tool re-serialising it with sorted keys would write it.
type Lock struct {
	Datasets map[string]*Dataset `json:"datasets"`
	Version  int                 `json:"version"`
}

// Dataset is one locked dataset. Exclude and FollowSymlinks are the options
// in force when it was locked, so a check hashes it the same way.
type Dataset struct {
	Bytes          int64         `json:"bytes"`
	Digest         digest.Digest `json:"digest"`
	Exclude        []string      `json:"exclude,omitempty"`
	Files          int64         `json:"files"`
	FollowSymlinks bool          `json:"follow_symlinks,omitempty"`
	// Manifest is the file in ManifestDir that lists the files; "" when
	// Trees says where they are instead.
	Manifest string `json:"manifest,omitempty"`
	Path     string `json:"path"`
	// Trees is TreesInObjects when the file list is kept out of git, as
	// tree objects in the object store, the root tree's digest being
	// Digest; "" for a manifest.
	Trees string `json:"trees,omitempty"`
}

// TreesInObjects is Dataset.Trees for a dataset whose file list is in tree
// objects: a dataset too big for a manifest that git and a pull request's
// diff can carry.
const TreesInObjects = "objects"

// InTrees reports whether the dataset's file list is in tree objects.
func (d *Dataset) InTrees() bool { return d.Trees == TreesInObjects }

// New returns an empty lock, of the oldest version (Encode raises it when
// a dataset needs a newer one).
func New() *Lock { return &Lock{Version: 1, Datasets: map[string]*Dataset{}} }

// Names returns the dataset names in sorted order.
func (l *Lock) Names() []string {
	names := make([]string, 0, len(l.Datasets))
	for n := range l.Datasets {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// The limits of what is read as a lock or a manifest: a branch may replace
// either with a FIFO, a device or a link to something huge. A manifest of
// ten million files is about 850 MB; a manifest is only kept in git for far
// fewer (GitHub refuses files over 100 MB).
const (
	MaxLockSize     = 64 << 20
	MaxManifestSize = 1 << 30
)

// Read loads and validates the lock at file. A missing file gives an error
// that wraps os.ErrNotExist.
func Read(file string) (*Lock, error) {
	data, err := regfile.Read(file, MaxLockSize)
	if err != nil {
		return nil, err
	}
	return Parse(file, data)
}

// Parse decodes and validates a lock; name is used in messages.
func Parse(name string, data []byte) (*Lock, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var probe struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, malformed(name, data, err)
	}
	switch {
	case probe.Version == nil:
		return nil, fmt.Errorf("%s: %w: no \"version\" field; re-create it with mlci data lock", name, ErrMalformed)
	case *probe.Version > Version:
		return nil, fmt.Errorf("%s: %w (format version %d; this mlci reads up to %d): upgrade mlci", name, ErrNewerVersion, *probe.Version, Version)
	case *probe.Version < 1:
		return nil, fmt.Errorf("%s: %w: unknown format version %d; re-create it with mlci data lock", name, ErrMalformed, *probe.Version)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var l Lock
	if err := dec.Decode(&l); err != nil {
		return nil, malformed(name, data, err)
	}
	if l.Datasets == nil {
		l.Datasets = map[string]*Dataset{}
	}
	for _, n := range l.Names() {
		if err := l.Datasets[n].validate(); err != nil {
			return nil, fmt.Errorf("%s: dataset %q: %w: %v; re-create it with mlci data lock %s", name, n, ErrMalformed, err, n)
		}
	}
	return &l, nil
}

func (d *Dataset) validate() error {
	switch {
	case d == nil:
		return errors.New("null entry")
	case d.Path == "":
		return errors.New("no path")
	case d.Files < 1:
		return errors.New("no files")
	case d.Bytes < 0:
		return errors.New("negative bytes")
	}
	if _, err := digest.Parse(string(d.Digest)); err != nil {
		return err
	}
	switch d.Trees {
	case TreesInObjects:
		if d.Manifest != "" {
			return fmt.Errorf("both a manifest and trees %q", d.Trees)
		}
		return nil
	case "":
	default:
		return fmt.Errorf("trees %q is not %q: upgrade mlci", d.Trees, TreesInObjects)
	}
	// The manifest path comes from a file a pull request can change: keep
	// it inside the manifest directory.
	clean := path.Clean(d.Manifest)
	if clean != d.Manifest || !strings.HasPrefix(clean, ManifestDir+"/") || strings.Contains(clean[len(ManifestDir)+1:], "/") {
		return fmt.Errorf("manifest %q is not a file in %s/", d.Manifest, ManifestDir)
	}
	return nil
}

// malformed turns a JSON error into one line with the line and column.
func malformed(name string, data []byte, err error) error {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	where := name
	if off >= 0 {
		line, col := position(data, off)
		where = fmt.Sprintf("%s:%d:%d", name, line, col)
	}
	return fmt.Errorf("%s: %w: %s; restore it with git checkout -- %s, or re-create it with mlci data lock", where, ErrMalformed, strings.TrimPrefix(err.Error(), "json: "), name)
}

func position(data []byte, off int64) (line, col int) {
	off = min(off, int64(len(data)))
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}

// Encode renders the lock as indented JSON with sorted keys and a final
// newline, so diffs in review are one line per changed field. The version
// written is the oldest that can hold l.
func (l *Lock) Encode() []byte {
	c := *l
	c.Version = l.format()
	out, err := json.MarshalIndent(&c, "", "  ")
	if err != nil {
		// Only unsupported types fail to marshal, and Lock has none.
		panic(err)
	}
	return append(out, '\n')
}

// Write replaces the lock file atomically.
func Write(file string, l *Lock) error {
	l.Version = l.format()
	return atomicfile.Write(file, l.Encode(), 0o644)
}

// format is the oldest version that can hold l, so that a lock without
// tree-locked datasets stays readable by every mlci that read it before.
func (l *Lock) format() int {
	for _, d := range l.Datasets {
		if d.InTrees() {
			return 2
		}
	}
	return 1
}
