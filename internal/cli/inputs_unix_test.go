//go:build unix

package cli

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Input files are read only when they are regular and small: a FIFO would
// block the job forever, /dev/zero never ends, and a huge file would be
// read whole before being refused. A --baseline file may lie anywhere, but
// the same rules hold for it.
func TestInputFilesMustBeSmallRegularFiles(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, metrics string)
		args  []string // default: metrics show
		want  string
	}{
		{"fifo", func(t *testing.T, metrics string) {
			if err := syscall.Mkfifo(metrics, 0o644); err != nil {
				t.Skip("no FIFOs here:", err)
			}
		}, nil, "metrics.json is a named pipe, not a regular file"},
		{"/dev/zero", func(t *testing.T, metrics string) {
			symlink(t, "/dev/zero", metrics)
		}, nil, "metrics.json leads outside the repository (to /dev/zero)"},
		{"/dev/zero as --baseline", func(t *testing.T, metrics string) {
			writeFile(t, metrics, `{"acc": 1}`)
			symlink(t, "/dev/zero", filepath.Join(filepath.Dir(metrics), "zero", "metrics.json"))
		}, []string{"metrics", "diff", "--baseline", "zero/metrics.json"}, "zero/metrics.json is a device, not a regular file"},
		{"directory", func(t *testing.T, metrics string) {
			if err := os.Mkdir(metrics, 0o755); err != nil {
				t.Fatal(err)
			}
		}, nil, "metrics.json is a directory, not a regular file"},
		{"huge file", func(t *testing.T, metrics string) {
			f, err := os.Create(metrics)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			// Sparse: no disk used, but 200 MiB to read.
			if err := f.Truncate(200 << 20); err != nil {
				t.Fatal(err)
			}
		}, nil, "metrics.json: file is 200.0 MiB, over the 64 MiB limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := quickstart(t)
			metrics := filepath.Join(dir, "metrics.json")
			if err := os.Remove(metrics); err != nil {
				t.Fatal(err)
			}
			tt.setup(t, metrics)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			done := make(chan result, 1)
			args := tt.args
			if args == nil {
				args = []string{"metrics", "show"}
			}
			go func() { done <- run(t, nil, append([]string{"-C", dir}, args...)...) }()
			var r result
			select {
			case r = <-done:
			case <-time.After(20 * time.Second):
				// Unblock the reader stuck in open(2), so the test ends.
				if w, err := os.OpenFile(metrics, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
					w.Close()
				}
				t.Fatalf("mlci metrics show did not return within 20s")
			}
			runtime.ReadMemStats(&after)
			if r.code != ExitUsage || !strings.Contains(r.stderr, tt.want) || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("exit %d stderr %q; want exit 2 and one line containing %q", r.code, r.stderr, tt.want)
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 32<<20 {
				t.Errorf("reading the input allocated %d MiB", grew>>20)
			}
		})
	}
}
