package statecache

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func sampleRecords() []Record {
	return []Record{
		{Path: "a/x", Key: Key{Dev: 1, Ino: 2, Size: 3, Mtime: 4, Ctime: 5}, Sum: [32]byte{1}},
		{Path: "a/y", Key: Key{Dev: 1, Ino: 3, Size: 30, Mtime: -4, Ctime: 50}, Sum: [32]byte{2}},
		{Path: "b", Key: Key{Dev: 1, Ino: 4, Size: 0, Mtime: 1 << 60, Ctime: 1}, Sum: [32]byte{3}},
	}
}

func TestSaveAndGet(t *testing.T) {
	dir := t.TempDir()
	if err := Open(dir, "/data", "blake3").Save(sampleRecords()); err != nil {
		t.Fatal(err)
	}
	c := Open(dir, "/data", "blake3")
	tests := []struct {
		name  string
		index int
		path  string
		want  int // index into sampleRecords, -1 for none
	}{
		{"at its index", 1, "a/y", 1},
		{"at another index", 0, "b", 2},
		{"index out of range", 99, "a/x", 0},
		{"negative index", -1, "a/x", 0},
		{"unknown path", 0, "zzz", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, at, ok := c.Get(tt.index, tt.path)
			if ok != (tt.want >= 0) {
				t.Fatalf("found = %v, want %v", ok, tt.want >= 0)
			}
			if ok && (got != sampleRecords()[tt.want] || at != tt.want) {
				t.Errorf("got %+v at %d, want %+v at %d", got, at, sampleRecords()[tt.want], tt.want)
			}
		})
	}
	var nilCache *Cache
	if _, _, ok := nilCache.Get(0, "a/x"); ok {
		t.Error("nil cache found a record")
	}
}

func TestSaveSkipsIdenticalRewrite(t *testing.T) {
	dir := t.TempDir()
	c := Open(dir, "/data", "blake3")
	if err := c.Save(sampleRecords()); err != nil {
		t.Fatal(err)
	}
	old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(c.file, old, old); err != nil {
		t.Fatal(err)
	}
	if err := Open(dir, "/data", "blake3").Save(sampleRecords()); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(c.file)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.ModTime().Equal(old) {
		t.Error("an identical cache was rewritten")
	}
	changed := sampleRecords()[:2]
	if err := Open(dir, "/data", "blake3").Save(changed); err != nil {
		t.Fatal(err)
	}
	if got := Open(dir, "/data", "blake3"); got.Len() != 2 {
		t.Errorf("after saving 2 records the cache holds %d", got.Len())
	}
}

func TestScope(t *testing.T) {
	dir := t.TempDir()
	if err := Open(dir, "/data", "blake3").Save(sampleRecords()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Cache{Open(dir, "/data", "sha256"), Open(dir, "/other", "blake3")} {
		if c.Len() != 0 {
			t.Errorf("cache for %q loaded %d records of another scope", c.scope, c.Len())
		}
	}
}

func FuzzDecode(f *testing.F) {
	c := &Cache{scope: "blake3\x00/data"}
	f.Add(c.encode(sampleRecords()))
	f.Add([]byte(magic))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := &Cache{scope: "blake3\x00/data"}
		if err := d.decode(data); err != nil {
			return
		}
		// Whatever decodes must encode back to the same records.
		again := &Cache{scope: d.scope}
		if err := again.decode(d.encode(d.records)); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(d.records, again.records, cmpopts.EquateEmpty()); diff != "" {
			t.Fatal(diff)
		}
	})
}

// A run killed while saving leaves a temporary file; the next run that
// opens a cache in the directory removes it.
func TestOpenRemovesAbandonedTemps(t *testing.T) {
	dir := t.TempDir()
	torn := filepath.Join(dir, ".state-0123456789abcdef.tmp-42")
	if err := os.WriteFile(torn, []byte("torn"), 0o600); err != nil {
		t.Fatal(err)
	}
	Open(dir, "/data/other", "blake3")
	if _, err := os.Stat(torn); !os.IsNotExist(err) {
		t.Errorf("abandoned temporary file still there: %v", err)
	}
}

// TestOpenRefusesWhatIsNotAFile: .mlci/ can come with a branch, and its
// state file made a link to /dev/zero must not be read forever.
func TestOpenRefusesWhatIsNotAFile(t *testing.T) {
	dir := t.TempDir()
	c := Open(dir, "/data/x", "blake3")
	if err := os.Symlink("/dev/zero", c.file); err != nil {
		t.Fatal(err)
	}
	c = Open(dir, "/data/x", "blake3")
	if c.Len() != 0 || !strings.Contains(c.Reason, "not a regular file") {
		t.Errorf("Open over /dev/zero: %d records, reason %q; want an empty cache that says why", c.Len(), c.Reason)
	}
}
