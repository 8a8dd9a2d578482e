package datahash

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A file that cannot be read, early in a large tree, fails the run with
// its own error, not with the cancellation that error causes in the walk.
// The failing read must fail for root too, which runs the tests here: a
// link, followed, to /proc/self/mem reads as a regular file whose first
// page is never mapped, so read(2) gives EIO whoever the caller is.
func TestReadErrorBeatsCancel(t *testing.T) {
	if _, err := os.Stat("/proc/self/mem"); err != nil {
		t.Fatalf("this test needs /proc: %v", err)
	}
	var files [][2]string
	for d := range 200 {
		for f := range 10 {
			files = append(files, [2]string{fmt.Sprintf("d%03d/f%02d", d, f), fmt.Sprint(d, f)})
		}
	}
	root := writeTree(t, files)
	// "a" sorts before every "d…" directory, so the walk has most of the
	// tree ahead of it when the read fails.
	bad := filepath.Join(root, "a-unreadable")
	if err := os.Symlink("/proc/self/mem", bad); err != nil {
		t.Fatal(err)
	}
	for round := range 20 {
		_, err := Hash(context.Background(), root, Options{FollowSymlinks: true, Workers: 2})
		switch {
		case err == nil:
			t.Fatalf("round %d: no error", round)
		case errors.Is(err, context.Canceled):
			t.Fatalf("round %d: %v: the cancellation the read error caused hid it", round, err)
		case !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "input/output error"):
			t.Fatalf("round %d: %v, want the read error naming %s", round, err, bad)
		}
	}
}
