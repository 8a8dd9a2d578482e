package remote

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zeebo/blake3"

	"github.com/mlci/mlci/internal/datahash"
	"github.com/mlci/mlci/internal/digest"
)

// blob returns content and its digest, computed independently of the
// package's own hashing.
func blob(alg digest.Algorithm, s string) (digest.Digest, []byte) {
	b := []byte(s)
	if alg == digest.SHA256 {
		sum := sha256.Sum256(b)
		return digest.New(alg, sum[:]), b
	}
	sum := blake3.Sum256(b)
	return digest.New(alg, sum[:]), b
}

func openLocalT(t *testing.T) *Local {
	t.Helper()
	l, err := OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func readAll(t *testing.T, s Store, d digest.Digest) []byte {
	t.Helper()
	rc, err := s.Get(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// storeContract is what every Store must do; each store's test runs it.
func storeContract(t *testing.T, s Store, alg digest.Algorithm) {
	ctx := context.Background()
	d, content := blob(alg, "contract "+t.Name())
	other, _ := blob(alg, "never stored "+t.Name())

	if got, err := s.Has(ctx, []digest.Digest{d, other}); err != nil || got[0] || got[1] {
		t.Fatalf("Has before Put = %v, %v; want [false false]", got, err)
	}
	if _, err := s.Get(ctx, d); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get before Put: %v, want ErrNotFound", err)
	}
	for range 2 { // the second Put is a no-op
		if err := s.Put(ctx, d, int64(len(content)), bytes.NewReader(content)); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.Has(ctx, []digest.Digest{d, other}); err != nil || !got[0] || got[1] {
		t.Fatalf("Has after Put = %v, %v; want [true false]", got, err)
	}
	if got := readAll(t, s, d); !bytes.Equal(got, content) {
		t.Fatalf("Get = %q, want %q", got, content)
	}

	// An empty object, which S3 clients send without reading the body.
	h := alg.New()
	empty := digest.New(alg, h.Sum(nil))
	if err := s.Put(ctx, empty, 0, bytes.NewReader(nil)); err != nil {
		t.Fatalf("Put of an empty object: %v", err)
	}
	if got, err := s.Has(ctx, []digest.Digest{empty}); err != nil || !got[0] {
		t.Fatalf("Has of the empty object = %v, %v", got, err)
	}
	if got := readAll(t, s, empty); len(got) != 0 {
		t.Fatalf("Get of the empty object = %q", got)
	}

	bad, _ := blob(alg, "what the digest says "+t.Name())
	tests := []struct {
		name    string
		size    int64
		content string
	}{
		{"other content", int64(len("tampered")), "tampered"},
		{"short", 100, "tampered"},
		{"long", 2, "tampered"},
		{"announced empty", 0, "tampered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Put(ctx, bad, tt.size, strings.NewReader(tt.content))
			if !errors.Is(err, ErrDigestMismatch) {
				t.Fatalf("Put of wrong content: %v, want ErrDigestMismatch", err)
			}
			if got, err := s.Has(ctx, []digest.Digest{bad}); err != nil || got[0] {
				t.Fatalf("Has after a refused Put = %v, %v; want [false]", got, err)
			}
		})
	}
}

func TestLocalContract(t *testing.T) {
	for _, alg := range digest.Algorithms() {
		t.Run(string(alg), func(t *testing.T) { storeContract(t, openLocalT(t), alg) })
	}
}

func TestLocalLayout(t *testing.T) {
	l := openLocalT(t)
	d, content := blob(digest.BLAKE3, "layout")
	if err := l.Put(context.Background(), d, int64(len(content)), bytes.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(l.root, "objects", "blake3", d.Hex()[:2], d.Hex())
	if b, err := os.ReadFile(p); err != nil || !bytes.Equal(b, content) {
		t.Fatalf("object at %s: %q, %v", p, b, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(p))
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want the object alone", len(entries))
	}
}

func TestLocalRefusesMalformedDigests(t *testing.T) {
	l := openLocalT(t)
	for _, d := range []digest.Digest{"blake3:../../etc", "md5:00", "", "sha256:ABCD"} {
		t.Run(string(d), func(t *testing.T) {
			if err := l.Put(context.Background(), d, 1, strings.NewReader("x")); err == nil {
				t.Fatal("Put accepted a malformed digest")
			}
			if _, err := l.Has(context.Background(), []digest.Digest{d}); err == nil {
				t.Fatal("Has accepted a malformed digest")
			}
		})
	}
}

func TestLocalConcurrentPuts(t *testing.T) {
	l := openLocalT(t)
	d, content := blob(digest.BLAKE3, strings.Repeat("same object ", 100_000))
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() { errs <- l.Put(context.Background(), d, int64(len(content)), bytes.NewReader(content)) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := readAll(t, l, d); !bytes.Equal(got, content) {
		t.Fatal("object differs after concurrent puts")
	}
	entries, _ := os.ReadDir(filepath.Join(l.root, "objects", "blake3", d.Hex()[:2]))
	if len(entries) != 1 {
		t.Fatalf("%d entries after concurrent puts, want the object alone", len(entries))
	}
}

// TestLocalKilledWriter leaves what a writer killed mid-Put leaves: a
// partial temporary file. It must never be found, and a later Put of the
// object must succeed and clean it up once it is stale.
func TestLocalKilledWriter(t *testing.T) {
	ctx := context.Background()
	l := openLocalT(t)
	d, content := blob(digest.BLAKE3, "killed mid-write")
	dir := filepath.Join(l.root, "objects", "blake3", d.Hex()[:2])
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, d.Hex()+tempMark+"123")
	fresh := filepath.Join(dir, d.Hex()+tempMark+"456")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, content[:4], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * staleTemp)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	if got, err := l.Has(ctx, []digest.Digest{d}); err != nil || got[0] {
		t.Fatalf("Has with only a partial temp file = %v, %v; want [false]", got, err)
	}
	if _, err := l.Get(ctx, d); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get with only a partial temp file: %v, want ErrNotFound", err)
	}
	if err := l.Put(ctx, d, int64(len(content)), bytes.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, l, d); !bytes.Equal(got, content) {
		t.Fatalf("Get = %q", got)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temp file still there: %v", err)
	}
	// A recent one may belong to a live writer: it stays.
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("recent temp file removed: %v", err)
	}
}

// TestDigestsMatchDatahash checks that an object's digest is the digest the
// dataset hasher gives the same bytes as a one-file dataset, for both
// algorithms and for a file large enough to be hashed in parallel blocks.
func TestDigestsMatchDatahash(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 300_000) // 4.8 MB
	for _, alg := range digest.Algorithms() {
		for name, content := range map[string][]byte{"small": []byte("weights"), "big": big} {
			t.Run(string(alg)+"/"+name, func(t *testing.T) {
				p := filepath.Join(t.TempDir(), "f")
				if err := os.WriteFile(p, content, 0o644); err != nil {
					t.Fatal(err)
				}
				res, err := datahash.Hash(context.Background(), p, datahash.Options{Algorithm: alg})
				if err != nil {
					t.Fatal(err)
				}
				v := newVerifier(res.Root, int64(len(content)), bytes.NewReader(content))
				if _, err := io.Copy(io.Discard, v); err != nil {
					t.Fatalf("object hasher disagrees with datahash: %v", err)
				}
			})
		}
	}
}

// Where no syncfs exists, SyncFS syncs each file written and the folders
// holding them; a file it cannot open fails the sync, by name, rather than
// letting a pull report success.
func TestSyncEach(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	if err := os.WriteFile(a, []byte("a"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syncEach([]string{a, dir}); err != nil {
		t.Fatalf("syncEach: %v", err)
	}
	gone := filepath.Join(dir, "gone")
	if err := syncEach([]string{a, gone}); err == nil || !strings.Contains(err.Error(), gone) {
		t.Fatalf("syncEach of a missing file: %v; want an error naming it", err)
	}
	if err := SyncFS(dir, []string{a}); err != nil {
		t.Fatalf("SyncFS: %v", err)
	}
}

// Putting an object the store already holds marks it used, so that mlci
// data gc, which removes only unreferenced objects older than its cutoff,
// spares an object a data lock still hashing has just written again.
func TestLocalPutOfAnExistingObjectMarksItUsed(t *testing.T) {
	l := openLocalT(t)
	d, content := blob(digest.BLAKE3, "used again")
	put := func() {
		t.Helper()
		if err := l.Put(context.Background(), d, int64(len(content)), bytes.NewReader(content)); err != nil {
			t.Fatal(err)
		}
	}
	put()
	p := filepath.Join(l.root, "objects", "blake3", d.Hex()[:2], d.Hex())
	old := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	put()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.ModTime().After(old.Add(24 * time.Hour)) {
		t.Errorf("modified %v after a second put, want now (it was set to %v)", fi.ModTime(), old)
	}
}
