// Package statecache remembers the digest of each file by its stat identity,
// so a file that has not changed is not read again.
//
// The cache is a hint, never a source of truth: a file that is missing,
// corrupt, written by another version, or made for another dataset or
// algorithm is ignored and rebuilt.
package statecache

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
	"unsafe"

	"github.com/zeebo/blake3"

	"github.com/mlci/mlci/internal/atomicfile"
	"github.com/mlci/mlci/internal/regfile"
)

// Key is what must be unchanged for a cached digest to be trusted. ctime is
// in it because a write followed by a reset of mtime still moves ctime.
type Key struct {
	Dev, Ino     uint64
	Size         int64
	Mtime, Ctime int64 // nanoseconds since the epoch
}

// Record is one file's cached digest.
type Record struct {
	Path string
	Key  Key
	Sum  [32]byte
}

// DefaultRacyWindow is how close to the start of a run a file's timestamps
// may be before its digest is not cached (and, in datahash, before the file
// is read between two stats). Like git's racy-clean rule, it
// covers a write that lands in the same timestamp tick as our read (kernel
// timestamps come from a coarse clock) and network filesystems whose clocks
// drift; FAT's two-second mtime is the coarsest common case.
const DefaultRacyWindow = 2 * time.Second

const magic = "mlci-statecache 1\n"

// Cache maps paths relative to a dataset root to digests. Records are kept
// in the order they were saved, which is the walk's tree order, so a lookup
// by the walk's index usually needs no map; the map is built only when the
// tree changed shape. Get is safe for concurrent use.
type Cache struct {
	file    string
	scope   string
	records []Record
	byPath  map[string]int
	once    sync.Once
	// Window is the racy-clean window used by Save; tests shorten it.
	Window time.Duration
	// Reason says why the stored cache was not used, for diagnostics.
	Reason string
}

// maxStateSize bounds the state file: about 100 bytes a file, so a few
// million files.
const maxStateSize = 1 << 30

// Open loads the cache for one dataset and algorithm from dir. It never
// fails on bad content: a corrupt or foreign file gives an empty cache.
// Temporary files that runs killed while saving left in dir are removed;
// those of runs still saving are not.
func Open(dir, dataset, algorithm string) *Cache {
	atomicfile.CleanDir(dir)
	scope := algorithm + "\x00" + dataset
	id := blake3.Sum256([]byte(scope))
	c := &Cache{
		file:   filepath.Join(dir, fmt.Sprintf("state-%x", id[:8])),
		scope:  scope,
		Window: DefaultRacyWindow,
	}
	// .mlci/ can come with the checkout: a branch may make the state file
	// a link to /dev/zero, which must not be read forever.
	data, err := regfile.Read(c.file, maxStateSize)
	switch {
	case errors.Is(err, os.ErrNotExist):
		c.Reason = "no cache yet"
	case err != nil:
		c.Reason = "unreadable: " + err.Error()
	default:
		if err := c.decode(data); err != nil {
			c.records = nil
			c.Reason = err.Error()
		}
	}
	return c
}

// Len is the number of cached records.
func (c *Cache) Len() int { return len(c.records) }

// Get returns the record for path, which the caller expects at position
// index of the walk, and the position where it was found. A nil cache holds
// nothing.
func (c *Cache) Get(index int, path string) (Record, int, bool) {
	if c == nil {
		return Record{}, -1, false
	}
	if index >= 0 && index < len(c.records) && c.records[index].Path == path {
		return c.records[index], index, true
	}
	c.once.Do(func() {
		c.byPath = make(map[string]int, len(c.records))
		for i, r := range c.records {
			c.byPath[r.Path] = i
		}
	})
	i, ok := c.byPath[path]
	if !ok {
		return Record{}, -1, false
	}
	return c.records[i], i, true
}

// Save replaces the cache with records, written atomically so concurrent
// runs leave one whole cache, never a mix. Records are those of the last run
// only, so deleted files do not accumulate.
func (c *Cache) Save(records []Record) error {
	if c.same(records) {
		// Rewriting an identical cache would cost a write and an fsync on
		// every unchanged check.
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(c.file), 0o755); err != nil {
		return fmt.Errorf("state cache: %w", err)
	}
	return atomicfile.Write(c.file, c.encode(records), 0o644)
}

func (c *Cache) same(records []Record) bool {
	if len(records) != len(c.records) {
		return false
	}
	for i, r := range records {
		if c.records[i] != r {
			return false
		}
	}
	return true
}

func (c *Cache) encode(records []Record) []byte {
	var b bytes.Buffer
	b.Grow(len(magic) + len(c.scope) + len(records)*80 + 64)
	b.WriteString(magic)
	var tmp [binary.MaxVarintLen64]byte
	putU := func(v uint64) { b.Write(tmp[:binary.PutUvarint(tmp[:], v)]) }
	putS := func(v int64) { b.Write(tmp[:binary.PutVarint(tmp[:], v)]) }
	putU(uint64(len(c.scope)))
	b.WriteString(c.scope)
	putU(uint64(len(records)))
	for _, r := range records {
		putU(uint64(len(r.Path)))
		b.WriteString(r.Path)
		putU(r.Key.Dev)
		putU(r.Key.Ino)
		putS(r.Key.Size)
		putS(r.Key.Mtime)
		putS(r.Key.Ctime)
		b.Write(r.Sum[:])
	}
	sum := blake3.Sum256(b.Bytes())
	b.Write(sum[:])
	return b.Bytes()
}

var errCorrupt = errors.New("corrupt cache")

func (c *Cache) decode(data []byte) error {
	if len(data) < len(magic)+32 || string(data[:len(magic)]) != magic {
		return errors.New("not an mlci state cache of this version")
	}
	body, trailer := data[:len(data)-32], data[len(data)-32:]
	if sum := blake3.Sum256(body); !bytes.Equal(sum[:], trailer) {
		return errors.New("checksum mismatch")
	}
	d := decoder{buf: body[len(magic):]}
	scope := d.bytes(d.uvarint())
	if string(scope) != c.scope {
		return errors.New("made for another dataset or algorithm")
	}
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.buf)) {
		return errCorrupt
	}
	// One string for all paths: each record's path is a substring of it,
	// which saves an allocation per file. The bytes were read for this
	// cache alone and are never written again, so they can back the string
	// without a copy (7 MB saved on 100,000 files; fresh memory costs page
	// faults, which are slow on virtual machines).
	d.str = unsafe.String(unsafe.SliceData(d.buf), len(d.buf))
	d.base = len(d.buf)
	records := make([]Record, 0, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		var r Record
		r.Path = d.string(d.uvarint())
		r.Key.Dev = d.uvarint()
		r.Key.Ino = d.uvarint()
		r.Key.Size = d.varint()
		r.Key.Mtime = d.varint()
		r.Key.Ctime = d.varint()
		copy(r.Sum[:], d.bytes(32))
		records = append(records, r)
	}
	if d.err != nil || len(d.buf) != 0 {
		return errCorrupt
	}
	c.records = records
	return nil
}

// decoder reads varints and byte strings, remembering the first error so the
// loop above stays flat.
type decoder struct {
	buf  []byte
	err  error
	str  string // a copy of buf as it was when base was taken
	base int
}

// string returns the next n bytes as a substring of d.str.
func (d *decoder) string(n uint64) string {
	off := d.base - len(d.buf)
	b := d.bytes(n)
	if b == nil {
		return ""
	}
	return d.str[off : off+len(b)]
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.buf)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) bytes(n uint64) []byte {
	if d.err != nil || n > uint64(len(d.buf)) {
		d.err = errCorrupt
		return nil
	}
	b := d.buf[:n]
	d.buf = d.buf[n:]
	return b
}
