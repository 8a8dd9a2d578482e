package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlci/mlci/internal/digest"
)

// dataset is a set of objects held in memory as a push source.
type dataset struct {
	objects []Object
	content map[digest.Digest][]byte
}

func makeDataset(alg digest.Algorithm, n int) *dataset {
	ds := &dataset{content: map[digest.Digest][]byte{}}
	for i := range n {
		d, b := blob(alg, fmt.Sprintf("object %d %s", i, strings.Repeat("x", i*37)))
		ds.objects = append(ds.objects, Object{Digest: d, Size: int64(len(b))})
		ds.content[d] = b
	}
	return ds
}

func (ds *dataset) open(d digest.Digest) (io.ReadCloser, error) {
	b, ok := ds.content[d]
	if !ok {
		return nil, fmt.Errorf("no object %s", d)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// into returns a place function that moves pulled objects into dir by hex
// name, and checks them against ds.
func (ds *dataset) into(t *testing.T, dir string) func(digest.Digest, string) error {
	return func(d digest.Digest, tmp string) error {
		return os.Rename(tmp, filepath.Join(dir, d.Hex()))
	}
}

func (ds *dataset) check(t *testing.T, dir string) {
	t.Helper()
	for d, want := range ds.content {
		got, err := os.ReadFile(filepath.Join(dir, d.Hex()))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("pulled %s: %v", d.Short(), err)
		}
	}
}

// counter is a Progress that adds up.
type counter struct{ files, bytes, totalFiles, totalBytes atomic.Int64 }

func (c *counter) SetTotal(f, b int64) { c.totalFiles.Store(f); c.totalBytes.Store(b) }
func (c *counter) Add(f, b int64)      { c.files.Add(f); c.bytes.Add(b) }

// fast keeps retry waits short in tests.
var fast = TransferOptions{Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}

// roundTrip pushes a dataset (twice: the second sends nothing), pulls it
// back and checks every byte; every store's test runs it.
func roundTrip(t *testing.T, s Store, alg digest.Algorithm) {
	ctx := context.Background()
	ds := makeDataset(alg, 50)
	// Duplicates are sent once.
	objects := append(append([]Object{}, ds.objects...), ds.objects[:5]...)
	var p counter
	opts := fast
	opts.Progress = &p
	st, err := Push(ctx, s, objects, ds.open, opts)
	if err != nil {
		t.Fatal(err)
	}
	if st.Objects != 50 || st.Transferred != 50 || st.Skipped != 0 {
		t.Fatalf("first push: %+v", st)
	}
	if p.files.Load() != 50 || p.bytes.Load() != p.totalBytes.Load() || p.totalFiles.Load() != 50 {
		t.Fatalf("progress: %d/%d files, %d/%d bytes", p.files.Load(), p.totalFiles.Load(), p.bytes.Load(), p.totalBytes.Load())
	}
	st, err = Push(ctx, s, objects, ds.open, fast)
	if err != nil || st.Transferred != 0 || st.Skipped != 50 {
		t.Fatalf("second push: %+v, %v; want all 50 skipped", st, err)
	}
	dir := t.TempDir()
	opts = fast
	opts.TempDir = t.TempDir()
	st, err = Pull(ctx, s, ds.objects, ds.into(t, dir), opts)
	if err != nil || st.Transferred != 50 {
		t.Fatalf("pull: %+v, %v", st, err)
	}
	ds.check(t, dir)
	if left, _ := os.ReadDir(opts.TempDir); len(left) != 0 {
		t.Fatalf("pull left %d temporary files", len(left))
	}
}

func TestRoundTripLocal(t *testing.T) {
	for _, alg := range digest.Algorithms() {
		t.Run(string(alg), func(t *testing.T) { roundTrip(t, openLocalT(t), alg) })
	}
}

func TestPullRefusesCorruptObject(t *testing.T) {
	l := openLocalT(t)
	ds := makeDataset(digest.BLAKE3, 10)
	if _, err := Push(context.Background(), l, ds.objects, ds.open, fast); err != nil {
		t.Fatal(err)
	}
	bad := ds.objects[3].Digest
	p, _ := l.path(bad)
	os.Chmod(p, 0o644)
	if err := os.WriteFile(p, bytes.Repeat([]byte("!"), int(ds.objects[3].Size)), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var placed []digest.Digest
	var mu sync.Mutex
	_, err := Pull(context.Background(), l, ds.objects, func(d digest.Digest, tmp string) error {
		mu.Lock()
		placed = append(placed, d)
		mu.Unlock()
		return os.Rename(tmp, filepath.Join(dir, d.Hex()))
	}, fast)
	if !errors.Is(err, ErrDigestMismatch) || !strings.Contains(err.Error(), string(bad)) {
		t.Fatalf("Pull of a corrupt object: %v; want ErrDigestMismatch naming %s", err, bad)
	}
	for _, d := range placed {
		if d == bad {
			t.Fatal("the corrupt object was placed")
		}
	}
}

// faulty wraps a Store and fails calls as told: the fake for retry tests.
type faulty struct {
	Store
	fail  func(op string, n int) error // n counts calls of op from 1
	mu    sync.Mutex
	calls map[string]int
}

func (f *faulty) hit(op string) error {
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[op]++
	n := f.calls[op]
	f.mu.Unlock()
	return f.fail(op, n)
}

func (f *faulty) Has(ctx context.Context, ds []digest.Digest) ([]bool, error) {
	if err := f.hit("has"); err != nil {
		return nil, err
	}
	return f.Store.Has(ctx, ds)
}

func (f *faulty) Put(ctx context.Context, d digest.Digest, size int64, r io.Reader) error {
	if err := f.hit("put"); err != nil {
		// Read part of the body first, as a connection dropped mid-upload does.
		io.CopyN(io.Discard, r, size/2)
		return err
	}
	return f.Store.Put(ctx, d, size, r)
}

func (f *faulty) Get(ctx context.Context, d digest.Digest) (io.ReadCloser, error) {
	if err := f.hit("get"); err != nil {
		return nil, err
	}
	return f.Store.Get(ctx, d)
}

func TestTransferRetries(t *testing.T) {
	reset := fmt.Errorf("%w: connection reset by peer", ErrTransient)
	tests := []struct {
		name        string
		fail        func(op string, n int) error
		wantErr     error
		wantRetries bool
	}{
		{"transient has", func(op string, n int) error {
			if op == "has" && n <= 2 {
				return reset
			}
			return nil
		}, nil, true},
		{"transient puts and gets", func(op string, n int) error {
			if (op == "put" || op == "get") && n%3 == 0 {
				return reset
			}
			return nil
		}, nil, true},
		{"unexpected EOF", func(op string, n int) error {
			if op == "put" && n == 1 {
				return io.ErrUnexpectedEOF
			}
			return nil
		}, nil, true},
		{"auth is not retried", func(op string, n int) error {
			if op == "has" {
				return fmt.Errorf("InvalidAccessKeyId: %w", ErrAuth)
			}
			return nil
		}, ErrAuth, false},
		{"outage outlasts the attempts", func(op string, n int) error {
			if op == "put" {
				return reset
			}
			return nil
		}, ErrTransient, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &faulty{Store: openLocalT(t), fail: tt.fail}
			ds := makeDataset(digest.SHA256, 20)
			st, err := Push(context.Background(), f, ds.objects, ds.open, fast)
			if err == nil {
				dir := t.TempDir()
				var pst Stats
				pst, err = Pull(context.Background(), f, ds.objects, ds.into(t, dir), fast)
				st.Retries += pst.Retries
				if err == nil {
					ds.check(t, dir)
				}
			}
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if (st.Retries > 0) != tt.wantRetries {
				t.Fatalf("retries = %d, want retries: %v", st.Retries, tt.wantRetries)
			}
			if tt.wantErr == ErrAuth && f.calls["has"] != 1 {
				t.Fatalf("Has called %d times after refused credentials, want once", f.calls["has"])
			}
		})
	}
}

func TestPushNothingHalfWritten(t *testing.T) {
	// Puts that fail mid-body leave nothing: every object Has reports is whole.
	l := openLocalT(t)
	f := &faulty{Store: l, fail: func(op string, n int) error {
		if op == "put" {
			return fmt.Errorf("%w: connection reset", ErrTransient)
		}
		return nil
	}}
	ds := makeDataset(digest.BLAKE3, 10)
	opts := fast
	opts.Attempts = 2
	if _, err := Push(context.Background(), f, ds.objects, ds.open, opts); err == nil {
		t.Fatal("push through a store that always fails succeeded")
	}
	var ds2 []digest.Digest
	for _, o := range ds.objects {
		ds2 = append(ds2, o.Digest)
	}
	present, err := l.Has(context.Background(), ds2)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range present {
		if p {
			t.Fatalf("object %s present after failed puts", ds2[i].Short())
		}
	}
}

func TestPushStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ds := makeDataset(digest.BLAKE3, 10)
	if _, err := Push(ctx, openLocalT(t), ds.objects, ds.open, fast); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// askLog records the digests each Has call asks about.
type askLog struct {
	Store
	mu    sync.Mutex
	asked [][]digest.Digest
}

func (a *askLog) Has(ctx context.Context, ds []digest.Digest) ([]bool, error) {
	a.mu.Lock()
	a.asked = append(a.asked, slices.Clone(ds))
	a.mu.Unlock()
	return a.Store.Has(ctx, ds)
}

// Push asks about neighbouring digests together, so that a batch falls in
// few fan-out folders, which S3 lists instead of a HEAD per object; every
// object is still asked about once and sent.
func TestPushAsksInDigestOrder(t *testing.T) {
	ds := makeDataset(digest.BLAKE3, 50)
	store := &askLog{Store: openLocalT(t)}
	st, err := Push(context.Background(), store, ds.objects, ds.open, TransferOptions{BatchSize: 7})
	if err != nil || st.Transferred != 50 {
		t.Fatalf("push: %+v, %v; want 50 sent", st, err)
	}
	var all []digest.Digest
	for _, b := range store.asked {
		all = append(all, b...)
	}
	if len(all) != 50 || !slices.IsSorted(all) {
		t.Errorf("asked about %d digests, sorted %v; want all 50 in digest order", len(all), slices.IsSorted(all))
	}
}
