package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlci/mlci/internal/lockfile"
)

// lastLine is the final line of stderr, the one that says what to do.
func lastLine(s string) string {
	s = strings.TrimSuffix(s, "\n")
	return s[strings.LastIndex(s, "\n")+1:]
}

// A manifest is checked against mlci.lock whenever it is read, not only
// once the data changes: every edit a pull request can make to it is an
// input error that names the file and the fix.
func TestManifestVerifiedOnEveryRead(t *testing.T) {
	edit := func(f func(string) string) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			p := filepath.Join(dir, "mlci.lock.d", "digits.tsv")
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, p, f(string(data)))
		}
	}
	lines := func(s string) []string { return strings.SplitAfter(s, "\n") }
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  []string
	}{
		{"digest edited", edit(func(s string) string {
			l := lines(s)
			f := strings.Split(l[5], "\t")
			f[2] = strings.Repeat("0", 64)
			l[5] = strings.Join(f, "\t")
			return strings.Join(l, "")
		}), []string{"mlci.lock.d/digits.tsv", "does not match mlci.lock", "mlci data lock digits"}},
		{"size edited", edit(func(s string) string {
			l := lines(s)
			f := strings.Split(l[5], "\t")
			f[1] += "0"
			l[5] = strings.Join(f, "\t")
			return strings.Join(l, "")
		}), []string{"mlci.lock.d/digits.tsv", "does not match mlci.lock", "mlci data lock digits"}},
		{"line dropped", edit(func(s string) string {
			l := lines(s)
			return strings.Join(append(l[:7:7], l[8:]...), "")
		}), []string{"mlci.lock.d/digits.tsv", "does not match mlci.lock", "mlci data lock digits"}},
		{"truncated at a line", edit(func(s string) string { return strings.Join(lines(s)[:100], "") }),
			[]string{"mlci.lock.d/digits.tsv", "does not match mlci.lock", "mlci data lock digits"}},
		{"truncated mid-line", edit(func(s string) string { return s[:len(s)/2] }),
			[]string{"mlci.lock.d/digits.tsv", "mlci data lock"}},
		{"empty", edit(func(string) string { return "" }),
			[]string{"mlci.lock.d/digits.tsv", "mlci data lock"}},
		{"newer format", edit(func(s string) string { return strings.Replace(s, "# mlci-manifest 1 ", "# mlci-manifest 2 ", 1) }),
			[]string{"mlci.lock.d/digits.tsv", "written by a newer mlci", "upgrade"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := prRepo(t)
			tt.setup(t, dir)
			for _, args := range [][]string{
				{"data", "check"},
				{"data", "diff", "--base", "main"},
				{"ci", "--baseline", "baseline/metrics.json"},
			} {
				r := run(t, nil, append([]string{"-C", dir}, args...)...)
				last := lastLine(r.stderr)
				if r.code != ExitUsage {
					t.Errorf("%s: exit %d, want %d; stderr %q", args[:2], r.code, ExitUsage, r.stderr)
					continue
				}
				for _, w := range tt.want {
					if !strings.HasPrefix(last, "mlci: ") || !strings.Contains(last, w) {
						t.Errorf("%s: last stderr line %q, want it to contain %q", args[:2], last, w)
					}
				}
			}
		})
	}
}

// mlci's own files are never part of a dataset, so a dataset that holds
// the project (path: .) can pass its check.
func TestDatasetHoldingProjectSkipsOwnFiles(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "mlci.yaml"), "data:\n  - name: all\n    path: .\nmetrics: [metrics.json]\n")
	writeFile(t, filepath.Join(dir, "metrics.json"), `{"acc": 1}`)
	writeFile(t, filepath.Join(dir, "images", "a.bin"), "a")
	writeFile(t, filepath.Join(dir, "images", "b.bin"), "b")
	// Left by an earlier run that was killed, and by mlci run record.
	writeFile(t, filepath.Join(dir, ".mlci.lock.tmp-123"), "torn")
	writeFile(t, filepath.Join(dir, "mlci-run.intoto.json"), "{}")
	if r := run(t, nil, "-C", dir, "data", "lock"); r.code != ExitOK {
		t.Fatalf("lock: exit %d: %s", r.code, r.stderr)
	}
	for i, args := range [][]string{
		{"data", "check"},
		{"ci", "--forge", "local", "--baseline", "metrics.json"}, // writes mlci-report.md
		{"data", "check"},
	} {
		r := run(t, nil, append([]string{"-C", dir}, args...)...)
		if r.code != ExitOK {
			t.Fatalf("run %d, %s: exit %d: %s\n%s", i, args, r.code, r.stderr, r.stdout)
		}
	}
	manifest, err := os.ReadFile(filepath.Join(dir, "mlci.lock.d", "all.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, own := range []string{"mlci.lock", "mlci-report.md", "mlci-run.intoto.json", ".mlci/", "tmp-"} {
		if strings.Contains(string(manifest), own) {
			t.Errorf("manifest lists %s:\n%s", own, manifest)
		}
	}
	if !strings.Contains(string(manifest), "\tmlci.yaml\n") || !strings.Contains(string(manifest), "\timages/a.bin\n") {
		t.Errorf("manifest lacks the project's own files:\n%s", manifest)
	}
}

// A PATH argument that is a configured dataset's path is that dataset:
// same name, same excludes, so the same digest as by its name.
func TestHashConfiguredPathUsesItsConfig(t *testing.T) {
	dir := quickstart(t)
	writeFile(t, filepath.Join(dir, "data", "digits", "scratch.tmp"), "excluded by mlci.yaml")
	digests := map[string]string{}
	for _, c := range []struct{ wd, arg string }{
		{dir, "digits"},
		{dir, "data/digits"},
		{dir, "./data/digits/"},
		{filepath.Join(dir, "data"), "digits"},
	} {
		r := run(t, nil, "-C", c.wd, "--json", "data", "hash", c.arg)
		if r.code != ExitOK {
			t.Fatalf("hash %s in %s: exit %d: %s", c.arg, c.wd, r.code, r.stderr)
		}
		var doc struct{ Datasets []hashOutput }
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
			t.Fatal(err)
		}
		d := doc.Datasets[0]
		if d.Name != "digits" || d.Files != 351 {
			t.Errorf("hash %s in %s: %+v, want dataset digits with its 351 files", c.arg, c.wd, d)
		}
		digests[string(d.Digest)] = c.arg
	}
	if len(digests) != 1 {
		t.Errorf("one dataset, %d digests: %v", len(digests), digests)
	}
}

// mlci ci names the fix for a data failure, as data check does.
func TestCIDataFailureSaysWhatToDo(t *testing.T) {
	dir := quickstart(t)
	changeThree(t, dir)
	r := run(t, nil, "-C", dir, "ci", "--baseline", "baseline/metrics.json")
	if r.code != ExitFailed {
		t.Fatalf("exit %d, want 1: %s", r.code, r.stderr)
	}
	check := run(t, nil, "-C", dir, "data", "check")
	hint := lastLine(check.stderr)
	_, hint, _ = strings.Cut(hint, "; ")
	if hint == "" || !strings.Contains(r.stdout+r.stderr, hint) {
		t.Errorf("ci output lacks data check's hint %q:\nstdout:\n%s\nstderr:\n%s", hint, r.stdout, r.stderr)
	}
}

// A data lock that finds another writing mlci.lock says so, waits, and
// then adds its dataset to what the other wrote.
func TestLockWaitsForAnotherWriter(t *testing.T) {
	dir := quickstart(t)
	release, err := lockfile.Acquire(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	writeFile(t, filepath.Join(dir, "extra", "f"), "x")
	pr, pw := io.Pipe()
	var stdout bytes.Buffer
	code := make(chan int)
	go func() {
		code <- Execute(context.Background(), []string{"-C", dir, "data", "lock", "extra"}, IO{
			Stdout: &stdout, Stderr: pw, Getenv: func(string) string { return "" },
		})
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	for lines.Scan() && !strings.Contains(lines.Text(), "waiting for another mlci") {
	}
	if lines.Err() != nil || !strings.Contains(lines.Text(), lockfile.MutexFile) {
		t.Fatalf("stderr line %q, %v: want one saying it waits, and for what", lines.Text(), lines.Err())
	}
	go io.Copy(io.Discard, pr)
	select {
	case c := <-code:
		t.Fatalf("data lock exited %d while another writer held the lock", c)
	case <-time.After(100 * time.Millisecond):
	}
	release()
	if c := <-code; c != ExitOK {
		t.Fatalf("exit %d", c)
	}
	l, err := lockfile.Read(filepath.Join(dir, lockfile.FileName))
	if err != nil || l.Datasets["digits"] == nil || l.Datasets["extra"] == nil {
		t.Fatalf("lock after the wait: %v, %v; want digits kept and extra added", l, err)
	}
}
