package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// project is a project directory with datasets, driven through the binary.
type project struct {
	t   *testing.T
	bin string
	dir string
}

func newProject(t *testing.T, bin, config string) *project {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mlci.yaml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	return &project{t, bin, dir}
}

func (p *project) write(rel, content string) {
	p.t.Helper()
	f := filepath.Join(p.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(f, []byte(content), 0o644); err != nil {
		p.t.Fatal(err)
	}
}

func (p *project) cmd(args ...string) *exec.Cmd {
	cmd := exec.Command(p.bin, append([]string{"-C", p.dir}, args...)...)
	cmd.Env = []string{"HOME=" + p.dir}
	return cmd
}

// run runs mlci to the end and returns its exit code and output.
func (p *project) run(args ...string) (int, string) {
	p.t.Helper()
	out, err := p.cmd(args...).CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &ee):
		return ee.ExitCode(), string(out)
	}
	p.t.Fatalf("mlci %s: %v", args, err)
	return 0, ""
}

// leftovers lists temporary and staged files anywhere in the project.
func (p *project) leftovers() []string {
	var out []string
	filepath.WalkDir(p.dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && (strings.Contains(d.Name(), ".tmp-") || strings.HasSuffix(d.Name(), ".pending")) {
			rel, _ := filepath.Rel(p.dir, path)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// TestKilledLockLeavesConsistentPair SIGKILLs mlci data lock at random
// points, many times. Whatever the moment, mlci.lock and its manifest must
// be one state, old or new: data check then passes, or names the changed
// files (exit 1), and never finds a manifest of another lock (exit 2). The
// next data lock removes whatever the killed one left.
func TestKilledLockLeavesConsistentPair(t *testing.T) {
	bin := buildMLCI(t)
	p := newProject(t, bin, "data: [data]\n")
	for d := range 32 {
		for f := range 64 {
			p.write(fmt.Sprintf("data/d%02d/f%02d", d, f), strings.Repeat(fmt.Sprint(d, f), 50))
		}
	}
	if code, out := p.run("-q", "data", "lock"); code != 0 {
		t.Fatalf("first lock: exit %d: %s", code, out)
	}
	// How long a whole run takes here: the kills fall anywhere in it.
	var runs []time.Duration
	for i := range 3 {
		p.write("data/d00/f00", fmt.Sprint("timing ", i))
		start := time.Now()
		if code, out := p.run("-q", "data", "lock"); code != 0 {
			t.Fatalf("lock: exit %d: %s", code, out)
		}
		runs = append(runs, time.Since(start))
	}
	slices.Sort(runs)
	span := runs[1] + runs[1]/5

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
	const rounds = 40
	committed, littered := 0, 0
	for round := range rounds {
		// A change that adds, modifies and removes a file each time.
		p.write(fmt.Sprintf("data/d%02d/f00", round%32), fmt.Sprint("round ", round))
		p.write(fmt.Sprintf("data/new/%d", round), "added")
		os.Remove(filepath.Join(p.dir, "data", "new", fmt.Sprint(round-1)))

		cmd := p.cmd("-q", "data", "lock")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		delay := time.Duration(rng.Int64N(int64(span)))
		time.Sleep(delay)
		cmd.Process.Kill()
		cmd.Wait()
		if len(p.leftovers()) > 0 {
			littered++
		}

		code, out := p.run("data", "check")
		switch code {
		case 0:
			committed++
		case 1:
			if !strings.Contains(out, "+  data/new/") || strings.Contains(out, "missing") {
				t.Fatalf("round %d (killed after %v): check against the old lock does not name the changed files:\n%s", round, delay, out)
			}
		default:
			t.Fatalf("round %d (killed after %v): data check exit %d; mlci.lock and its manifest are of different runs:\n%s\nleft: %v", round, delay, code, out, p.leftovers())
		}
		if code, out := p.run("-q", "data", "lock"); code != 0 {
			t.Fatalf("round %d: lock after the kill: exit %d: %s", round, code, out)
		}
		if left := p.leftovers(); len(left) > 0 {
			t.Fatalf("round %d (killed after %v): the next data lock left %v", round, delay, left)
		}
		if code, out := p.run("data", "check"); code != 0 {
			t.Fatalf("round %d: check after a whole lock: exit %d: %s", round, code, out)
		}
	}
	t.Logf("of %d killed runs, %d had written mlci.lock and %d left files to clean up (runs take about %v)", rounds, committed, littered, runs[1])
}

// TestConcurrentLocksKeepBoth runs two data lock processes at once, each
// for its own dataset, many times: both updates must reach mlci.lock.
func TestConcurrentLocksKeepBoth(t *testing.T) {
	bin := buildMLCI(t)
	p := newProject(t, bin, "data: [a, b]\n")
	for _, ds := range []string{"a", "b"} {
		for f := range 200 {
			p.write(fmt.Sprintf("%s/%03d", ds, f), fmt.Sprint(ds, f))
		}
	}
	if code, out := p.run("-q", "data", "lock"); code != 0 {
		t.Fatalf("first lock: exit %d: %s", code, out)
	}
	for round := range 20 {
		var wg sync.WaitGroup
		results := make([]string, 2)
		for i, ds := range []string{"a", "b"} {
			p.write(ds+"/000", fmt.Sprint("round ", round))
			wg.Add(1)
			go func() {
				defer wg.Done()
				var stderr bytes.Buffer
				cmd := p.cmd("-q", "data", "lock", ds)
				cmd.Stderr = &stderr
				if err := cmd.Run(); err != nil {
					results[i] = fmt.Sprintf("lock %s: %v: %s", ds, err, stderr.String())
				}
			}()
		}
		wg.Wait()
		for _, r := range results {
			if r != "" {
				t.Fatalf("round %d: %s", round, r)
			}
		}
		if code, out := p.run("data", "check"); code != 0 {
			t.Fatalf("round %d: after two concurrent locks, data check exit %d: one update was lost:\n%s", round, code, out)
		}
	}
}
