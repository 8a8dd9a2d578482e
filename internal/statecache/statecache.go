// Package statecache remembers the digest of each file by its stat identity,
// so a file that has not changed is not read again.
//
// The cache is a hint, never a source of truth: a file that is missing,
// corrupt, written by another version, or made for another dataset or
// algorithm is ignored and rebuilt.
//
// It is one file per dataset of records sorted in tree order (the order a
// walk visits files), read in step with the walk by a Reader and written
// as the walk goes by a Writer, so its memory does not grow with the
// number of files.
package statecache

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/zeebo/blake3"

	"github.com/mlci/mlci/internal/atomicfile"
	"github.com/mlci/mlci/internal/regfile"
	"github.com/mlci/mlci/internal/treeorder"
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

// magic names the format: records sorted in tree order, each path length
// stored plus one so that a zero ends the list, then a BLAKE3 of all that
// came before.
const magic = "mlci-statecache 2\n"

// maxPath bounds one record's path, so a corrupt length cannot ask for
// gigabytes.
const maxPath = 1 << 16

// Cache is the state cache of one dataset and algorithm.
type Cache struct {
	file  string
	scope string
	// n is the number of records of the stored file; valid says it was
	// checked whole, so a Reader may trust what it reads.
	n     int
	valid bool
	// id is the checked file's identity: a Reader reads only that file,
	// not one another run renamed into place since.
	id os.FileInfo
	// Window is the racy-clean window used by datahash; tests shorten it.
	Window time.Duration
	// Reason says why the stored cache was not used, for diagnostics.
	Reason string
}

// Open checks the cache for one dataset and algorithm in dir, reading it
// through once without keeping it. It never fails on bad content: a
// corrupt or foreign file gives an empty cache. Temporary files that runs
// killed while saving left in dir are removed; those of runs still saving
// are not.
func Open(dir, dataset, algorithm string) *Cache {
	atomicfile.CleanDir(dir)
	scope := algorithm + "\x00" + dataset
	id := blake3.Sum256([]byte(scope))
	c := &Cache{
		file:   filepath.Join(dir, fmt.Sprintf("state-%x", id[:8])),
		scope:  scope,
		Window: DefaultRacyWindow,
	}
	r, err := c.open()
	if err != nil {
		c.Reason = err.Error()
		return c
	}
	defer r.close()
	// The checksum covers the whole file: check it before any record is
	// believed, in large reads that leave the decoder's position alone,
	// then count the records, which proves they decode.
	if err := checksum(r.f, r.fi.Size()); err != nil {
		c.Reason = err.Error()
		return c
	}
	n := 0
	for {
		_, ok := r.next()
		if !ok {
			break
		}
		n++
	}
	if r.err == nil {
		r.err = r.trailer()
	}
	if r.err != nil {
		c.Reason = r.err.Error()
		return c
	}
	c.n, c.valid, c.id = n, true, r.fi
	return c
}

// checksum compares the BLAKE3 of all but the last 32 bytes of f with
// those bytes.
func checksum(f *os.File, size int64) error {
	if size < 32 {
		return errors.New("checksum missing: the file is cut short")
	}
	h := blake3.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, size-32)); err != nil {
		return fmt.Errorf("unreadable: %w", err)
	}
	var got [32]byte
	if _, err := f.ReadAt(got[:], size-32); err != nil {
		return fmt.Errorf("unreadable: %w", err)
	}
	if !bytes.Equal(h.Sum(nil), got[:]) {
		return errors.New("checksum mismatch")
	}
	return nil
}

// Len is the number of cached records.
func (c *Cache) Len() int {
	if c == nil {
		return 0
	}
	return c.n
}

var errCorrupt = errors.New("corrupt cache")

// reader decodes records one at a time.
type reader struct {
	f    *os.File
	fi   os.FileInfo
	br   *bufio.Reader
	path []byte
	err  error
}

func (c *Cache) open() (*reader, error) {
	// .mlci/ can come with the checkout: a branch may make the state file
	// a link to /dev/zero, which must not be read forever, or a FIFO, which
	// must not block the open.
	f, err := os.OpenFile(c.file, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, errors.New("no cache yet")
	}
	if err != nil {
		return nil, fmt.Errorf("unreadable: %w", err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = &regfile.NotRegularError{Path: c.file, Mode: fi.Mode()}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("unreadable: %w", err)
	}
	r := &reader{f: f, fi: fi, br: bufio.NewReaderSize(f, 64<<10)}
	head := make([]byte, len(magic))
	if _, err := io.ReadFull(r, head); err != nil || string(head) != magic {
		f.Close()
		return nil, errors.New("not an mlci state cache of this version")
	}
	scope := r.bytes(r.uvarint())
	if r.err != nil || string(scope) != c.scope {
		f.Close()
		return nil, errors.New("made for another dataset or algorithm")
	}
	return r, nil
}

func (r *reader) close() { r.f.Close() }

func (r *reader) Read(p []byte) (int, error) { return r.br.Read(p) }

// ReadByte serves binary.ReadUvarint.
func (r *reader) ReadByte() (byte, error) { return r.br.ReadByte() }

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, err := binary.ReadUvarint(r)
	if err != nil {
		r.err = errCorrupt
	}
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, err := binary.ReadVarint(r)
	if err != nil {
		r.err = errCorrupt
	}
	return v
}

func (r *reader) bytes(n uint64) []byte {
	if r.err != nil || n > maxPath {
		r.err = errCorrupt
		return nil
	}
	if uint64(cap(r.path)) < n {
		r.path = make([]byte, n)
	}
	b := r.path[:n]
	if _, err := io.ReadFull(r, b); err != nil {
		r.err = errCorrupt
		return nil
	}
	return b
}

// next decodes the next record; its Path is only valid until the next
// call. false at the end of the list or on an error (r.err).
func (r *reader) next() (Record, bool) {
	var rec Record
	n := r.uvarint()
	if r.err != nil || n == 0 {
		return rec, false
	}
	rec.Path = string(r.bytes(n - 1))
	rec.Key.Dev = r.uvarint()
	rec.Key.Ino = r.uvarint()
	rec.Key.Size = r.varint()
	rec.Key.Mtime = r.varint()
	rec.Key.Ctime = r.varint()
	if r.err == nil {
		if _, err := io.ReadFull(r, rec.Sum[:]); err != nil {
			r.err = errCorrupt
		}
	}
	return rec, r.err == nil
}

// trailer checks that the checksum (compared by checksum) follows the
// last record, and nothing after it.
func (r *reader) trailer() error {
	var got [32]byte
	if _, err := io.ReadFull(r.br, got[:]); err != nil {
		return errCorrupt
	}
	if _, err := r.br.ReadByte(); err != io.EOF {
		return errCorrupt
	}
	return nil
}

// Reader looks records up by path, paths asked in tree order: a merge of
// the walk with the sorted file, holding one record at a time.
type Reader struct {
	r    *reader
	cur  Record
	have bool
}

// Reader starts a lookup pass; a nil or empty cache gives a Reader that
// finds nothing. Close it when done.
func (c *Cache) Reader() *Reader {
	if c == nil || !c.valid || c.n == 0 {
		return &Reader{}
	}
	r, err := c.open()
	if err != nil {
		return &Reader{}
	}
	if !os.SameFile(r.fi, c.id) || r.fi.Size() != c.id.Size() || !r.fi.ModTime().Equal(c.id.ModTime()) {
		// Replaced since Open checked it: run without it.
		r.close()
		return &Reader{}
	}
	rd := &Reader{r: r}
	rd.advance()
	return rd
}

func (rd *Reader) advance() {
	rec, ok := rd.r.next()
	rd.cur, rd.have = rec, ok
	if !ok {
		rd.r.close()
		rd.r = nil
	}
}

// Find returns the record of path. Each call's path must come after the
// previous one's in tree order; records before it are skipped for good.
func (rd *Reader) Find(path string) (Record, bool) {
	for rd.have {
		switch c := treeorder.Compare(rd.cur.Path, path); {
		case c < 0:
			rd.advance()
		case c == 0:
			return rd.cur, true
		default:
			return Record{}, false
		}
	}
	return Record{}, false
}

// Close releases the file.
func (rd *Reader) Close() {
	if rd.r != nil {
		rd.r.close()
		rd.r = nil
	}
	rd.have = false
}

// Writer replaces the cache with the records added to it, in tree order.
// While they equal the stored ones it writes nothing, so an unchanged
// re-check costs no write; at the first difference it starts the new file
// with the records so far, read again from the old one.
type Writer struct {
	c    *Cache
	old  *Reader // the stored records, compared in step; nil once differing
	n    int
	f    *atomicfile.File
	bw   *bufio.Writer
	h    hash.Hash
	tmp  [binary.MaxVarintLen64]byte
	last string
	err  error
}

// Writer starts a rewrite; Commit or Abort it.
func (c *Cache) Writer() *Writer {
	return &Writer{c: c, old: c.Reader()}
}

// Add appends the next record; records must come in tree order.
func (w *Writer) Add(r Record) error {
	if w.err != nil {
		return w.err
	}
	if w.n > 0 && treeorder.Compare(w.last, r.Path) >= 0 {
		w.err = fmt.Errorf("state cache: %q added after %q, out of tree order", r.Path, w.last)
		return w.err
	}
	w.last = r.Path
	if w.f == nil {
		if w.old != nil && w.old.have && w.old.cur == r {
			w.old.advance()
			w.n++
			return nil
		}
		if w.err = w.start(); w.err != nil {
			return w.err
		}
	}
	w.put(r)
	w.n++
	return nil
}

// start opens the new file and copies the first w.n records, which
// matched the stored ones, from the old file.
func (w *Writer) start() error {
	if w.old != nil {
		w.old.Close()
		w.old = nil
	}
	if err := os.MkdirAll(filepath.Dir(w.c.file), 0o755); err != nil {
		return fmt.Errorf("state cache: %w", err)
	}
	f, err := atomicfile.Create(w.c.file, 0o644)
	if err != nil {
		return fmt.Errorf("state cache: %w", err)
	}
	w.f, w.bw, w.h = f, bufio.NewWriterSize(f, 64<<10), blake3.New()
	w.write([]byte(magic))
	w.putU(uint64(len(w.c.scope)))
	w.write([]byte(w.c.scope))
	if w.n > 0 {
		old := w.c.Reader()
		for range w.n {
			if !old.have {
				old.Close()
				return errors.New("state cache: changed while it was rewritten")
			}
			w.put(old.cur)
			old.advance()
		}
		old.Close()
	}
	return nil
}

func (w *Writer) write(b []byte) {
	w.bw.Write(b) // its error sticks and comes back from Flush
	w.h.Write(b)
}

func (w *Writer) putU(v uint64) { w.write(w.tmp[:binary.PutUvarint(w.tmp[:], v)]) }
func (w *Writer) putS(v int64)  { w.write(w.tmp[:binary.PutVarint(w.tmp[:], v)]) }

func (w *Writer) put(r Record) {
	w.putU(uint64(len(r.Path)) + 1)
	w.write([]byte(r.Path))
	w.putU(r.Key.Dev)
	w.putU(r.Key.Ino)
	w.putS(r.Key.Size)
	w.putS(r.Key.Mtime)
	w.putS(r.Key.Ctime)
	w.write(r.Sum[:])
}

// Commit makes the added records the cache, atomically, so concurrent
// runs leave one whole cache, never a mix. Only the last run's records are
// kept, so deleted files do not accumulate.
func (w *Writer) Commit() error {
	if w.err != nil {
		w.Abort()
		return w.err
	}
	if w.f == nil {
		if w.old != nil && !w.old.have && w.n == w.c.n && w.c.valid {
			w.old.Close()
			return nil // the same records: rewriting them would cost a write and an fsync
		}
		if err := w.start(); err != nil {
			w.Abort()
			return err
		}
	}
	w.putU(0)
	w.bw.Write(w.h.Sum(nil))
	if err := w.bw.Flush(); err != nil {
		w.Abort()
		return fmt.Errorf("state cache: %w", err)
	}
	f := w.f
	w.f = nil
	return f.Commit()
}

// Abort leaves the stored cache as it was.
func (w *Writer) Abort() {
	if w == nil {
		return
	}
	if w.old != nil {
		w.old.Close()
	}
	if w.f != nil {
		w.f.Abort()
		w.f = nil
	}
}

// Save replaces the cache with records, in tree order.
func (c *Cache) Save(records []Record) error {
	w := c.Writer()
	for _, r := range records {
		if err := w.Add(r); err != nil {
			w.Abort()
			return err
		}
	}
	return w.Commit()
}
