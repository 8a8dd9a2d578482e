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

func TestSaveAndFind(t *testing.T) {
	dir := t.TempDir()
	if err := Open(dir, "/data", "blake3").Save(sampleRecords()); err != nil {
		t.Fatal(err)
	}
	c := Open(dir, "/data", "blake3")
	if c.Len() != 3 {
		t.Fatalf("Len = %d (%s), want 3", c.Len(), c.Reason)
	}
	tests := []struct {
		name  string
		paths []string // asked in this order, tree order
		want  []int    // index into sampleRecords, -1 for none
	}{
		{"every record", []string{"a/x", "a/y", "b"}, []int{0, 1, 2}},
		{"skipping some", []string{"a/y"}, []int{1}},
		{"unknown between known", []string{"a/x", "a/xx", "b"}, []int{0, -1, 2}},
		{"past the end", []string{"b", "c"}, []int{2, -1}},
		{"none", []string{"0"}, []int{-1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rd := c.Reader()
			defer rd.Close()
			for i, p := range tt.paths {
				got, ok := rd.Find(p)
				if ok != (tt.want[i] >= 0) {
					t.Fatalf("Find(%q) found = %v, want %v", p, ok, tt.want[i] >= 0)
				}
				if ok && got != sampleRecords()[tt.want[i]] {
					t.Errorf("Find(%q) = %+v, want %+v", p, got, sampleRecords()[tt.want[i]])
				}
			}
		})
	}
	var nilCache *Cache
	if _, ok := nilCache.Reader().Find("a/x"); ok {
		t.Error("nil cache found a record")
	}
}

func TestWriterRefusesOutOfOrder(t *testing.T) {
	r := sampleRecords()
	if err := Open(t.TempDir(), "/data", "blake3").Save([]Record{r[1], r[0]}); err == nil {
		t.Error("records out of tree order were saved")
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

// FuzzOpen: whatever the state file holds, Open never fails or hangs,
// and a file it accepts reads back through a Reader record for record.
func FuzzOpen(f *testing.F) {
	seed := f.TempDir()
	if err := Open(seed, "/data", "blake3").Save(sampleRecords()); err != nil {
		f.Fatal(err)
	}
	good, err := os.ReadDir(seed)
	if err != nil || len(good) != 1 {
		f.Fatalf("want one state file, got %v (%v)", good, err)
	}
	data, err := os.ReadFile(filepath.Join(seed, good[0].Name()))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte(magic))
	name := good[0].Name()
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		c := Open(dir, "/data", "blake3")
		rd := c.Reader()
		defer rd.Close()
		var got []Record
		for rd.have {
			got = append(got, rd.cur)
			rd.advance()
		}
		if len(got) != c.Len() {
			t.Fatalf("Reader gave %d records, Open counted %d", len(got), c.Len())
		}
		if c.Len() > 0 {
			again := t.TempDir()
			if err := Open(again, "/data", "blake3").Save(got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(data, mustRead(t, filepath.Join(again, name)), cmpopts.EquateEmpty()); diff != "" {
				t.Fatal(diff)
			}
		}
	})
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
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
