package datahash

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
)

// Directories stay open only while their files are being hashed: a run
// that ends, well or badly, leaves no descriptor behind, or a long-lived
// caller (the runner hashing datasets job after job) would run out.
func TestNoDescriptorLeak(t *testing.T) {
	var files [][2]string
	for d := range 40 {
		for f := range 25 {
			files = append(files, [2]string{fmt.Sprintf("d%02d/s/f%02d", d, f), fmt.Sprintf("%d-%d", d, f)})
		}
	}
	root := writeTree(t, files)
	fds := func() int {
		es, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		return len(es)
	}
	before := fds()
	res := mustHash(t, root, Options{Workers: 2})
	if res.Files != 1000 {
		t.Fatalf("hashed %d files, want 1000", res.Files)
	}
	// Cancel halfway through: the walker stops with jobs queued and others
	// never handed out.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var n atomic.Int64
	_, err := Hash(ctx, root, Options{Workers: 2, Progress: progressFunc(func() {
		if n.Add(1) == 300 {
			cancel()
		}
	})})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if after := fds(); after != before {
		t.Errorf("%d descriptors open after hashing, %d before", after, before)
	}
}

// A file read by name in its open directory hashes as the same file read
// by its full path.
func TestByNameMatchesByPath(t *testing.T) {
	root := writeTree(t, sample)
	byName := mustHash(t, root, Options{})
	var paths []job
	for _, e := range byName.Entries {
		if e.Type == File {
			paths = append(paths, job{rel: e.Path, full: root + "/" + e.Path, typ: File})
		}
	}
	w := (&hasher{opts: &Options{Algorithm: "blake3"}}).worker()
	for _, j := range paths {
		var d done
		if err := w.hash(j, &d); err != nil {
			t.Fatal(err)
		}
		for _, e := range byName.Entries {
			if e.Path == j.rel && e.Sum != d.entry.Sum {
				t.Errorf("%s: digest by name differs from digest by path", j.rel)
			}
		}
	}
}

type progressFunc func()

func (f progressFunc) SetTotal(files, bytes int64) {}
func (f progressFunc) Add(files, bytes int64)      { f() }
