package cli

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mlci/mlci/internal/lockfile"
)

// storeFiles lists the files of dir's local object store, relative to it.
func storeFiles(t *testing.T, dir string) []string {
	t.Helper()
	root := filepath.Join(dir, lockfile.StoreDir, "objects")
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

// ageStore makes every file of dir's object store look written two hours
// ago, older than data gc's default --older-than.
func ageStore(t *testing.T, dir string) {
	t.Helper()
	old := time.Now().Add(-2 * time.Hour)
	for _, f := range storeFiles(t, dir) {
		p := filepath.Join(dir, lockfile.StoreDir, "objects", filepath.FromSlash(f))
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
}

func mustRun(t *testing.T, args ...string) result {
	t.Helper()
	r := run(t, nil, args...)
	if r.code != ExitOK {
		t.Fatalf("mlci %s: exit %d: %s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// gcRepo is a repository whose main branch locked the tree-locked digits
// dataset twice, three files changing between: its first commit is also
// branch "first" and tag "v1". It returns the object store's files after
// both locks and those of the second lock alone.
func gcRepo(t *testing.T) (dir string, both, second []string) {
	t.Helper()
	dir = treeProject(t)
	git(t, dir, "init", "-q", "-b", "main")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "first lock")
	git(t, dir, "branch", "first")
	git(t, dir, "tag", "v1")
	changeThree(t, dir)
	mustRun(t, "-C", dir, "-q", "data", "lock")
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", "second lock")
	both = storeFiles(t, dir)
	// The second lock's trees alone: what a lock into an empty store
	// writes.
	objects := filepath.Join(dir, lockfile.StoreDir, "objects")
	if err := os.Rename(objects, objects+".both"); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "-C", dir, "-q", "data", "lock")
	second = storeFiles(t, dir)
	if err := os.RemoveAll(objects); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(objects+".both", objects); err != nil {
		t.Fatal(err)
	}
	if len(second) >= len(both) {
		t.Fatalf("the second lock shares every tree of the first: %d of %d", len(second), len(both))
	}
	return dir, both, second
}

func TestDataGC(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		fresh   bool // leave the objects as just written, not aged
		prepare func(t *testing.T, dir string, second []string)
		// keep is what stays: "both" locks' objects, the "second" lock's, or
		// "none".
		keep   string
		stdout string
		stderr string
	}{
		{
			name:   "working tree and HEAD",
			keep:   "second",
			stdout: "removed 5 tree objects (0.0 MiB); kept 23\n",
		},
		{name: "all commits", args: []string{"--all-commits"}, keep: "both", stdout: "removed 0 tree objects (0.0 MiB); kept 28\n"},
		{name: "all branches", args: []string{"--all-branches"}, keep: "both"},
		{name: "all tags", args: []string{"-T"}, keep: "both"},
		{
			name:   "dry run",
			args:   []string{"--dry-run"},
			keep:   "both",
			stdout: "would remove 5 tree objects (0.0 MiB); would keep 23\n",
		},
		{
			name:   "objects written within --older-than stay",
			fresh:  true,
			keep:   "both",
			stdout: "removed 0 tree objects (0.0 MiB); kept 28 (5 unreferenced but written less than 1h0m0s ago)\n",
		},
		{
			name: "temporary files of interrupted writes",
			prepare: func(t *testing.T, dir string, second []string) {
				writeFile(t, filepath.Join(dir, lockfile.StoreDir, "objects", filepath.FromSlash(second[0])+".tmp-42"), "half")
			},
			keep:   "second",
			stdout: "removed 5 tree objects (0.0 MiB) and 1 temporary files of interrupted writes; kept 23\n",
		},
		{
			name: "a kept root missing is a warning",
			prepare: func(t *testing.T, dir string, second []string) {
				l, err := lockfile.Read(filepath.Join(dir, lockfile.FileName))
				if err != nil {
					t.Fatal(err)
				}
				root := l.Datasets["digits"].Digest
				p := filepath.Join(dir, lockfile.StoreDir, "objects", string(root.Algorithm()), root.Hex()[:2], root.Hex())
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
			},
			keep:   "none",
			stderr: "the trees below them could not be marked as kept",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, both, second := gcRepo(t)
			if tt.prepare != nil {
				tt.prepare(t, dir, second)
			}
			if !tt.fresh {
				ageStore(t, dir)
			}
			r := run(t, nil, append([]string{"-C", dir, "data", "gc"}, tt.args...)...)
			if r.code != ExitOK {
				t.Fatalf("exit %d: %s%s", r.code, r.stdout, r.stderr)
			}
			if tt.stdout != "" && r.stdout != tt.stdout {
				t.Errorf("stdout %q, want %q", r.stdout, tt.stdout)
			}
			if !strings.Contains(r.stderr, tt.stderr) || tt.stderr == "" && r.stderr != "" {
				t.Errorf("stderr %q, want %q", r.stderr, tt.stderr)
			}
			got := storeFiles(t, dir)
			want := map[string][]string{"both": both, "second": second, "none": nil}[tt.keep]
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("objects after gc (-want +got):\n%s", d)
			}
		})
	}
}

func TestDataGCThenCheckAndDiff(t *testing.T) {
	dir, _, _ := gcRepo(t)
	ageStore(t, dir)
	mustRun(t, "-C", dir, "data", "gc", "--all-commits")
	mustRun(t, "-C", dir, "data", "check")
	if r := mustRun(t, "-C", dir, "data", "diff", "--base", "HEAD~1"); !strings.Contains(r.stdout, "+1 -1 ~1") {
		t.Errorf("diff after gc --all-commits:\n%s", r.stdout)
	}
	// Without it the first lock's trees go: the diff still says the
	// dataset changed, but can no longer count the files.
	mustRun(t, "-C", dir, "data", "gc")
	mustRun(t, "-C", dir, "data", "check")
	if r := mustRun(t, "-C", dir, "data", "diff", "--base", "HEAD~1"); !strings.Contains(r.stdout, "changed") || strings.Contains(r.stdout, "+1 -1 ~1") {
		t.Errorf("diff after gc:\n%s", r.stdout)
	}
}

func TestDataGCIgnoresFormat1Locks(t *testing.T) {
	// A commit whose lock, of format 1, lists the digits dataset in a
	// manifest: its digest names the root tree of the same files, which
	// only an uncommitted tree lock put in the store.
	dir := quickstart(t)
	git(t, dir, "init", "-q", "-b", "main")
	mustRun(t, "-C", dir, "-q", "data", "lock")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "manifest lock")
	lock, err := os.ReadFile(filepath.Join(dir, lockfile.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(lock), `"version": 1`) {
		t.Fatalf("not a format 1 lock:\n%s", lock)
	}
	cfg := filepath.Join(dir, "mlci.yaml")
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, cfg, string(data)+"\nmanifest_max_files: 100\n")
	mustRun(t, "-C", dir, "-q", "data", "lock")
	first := storeFiles(t, dir)
	changeThree(t, dir)
	mustRun(t, "-C", dir, "-q", "data", "lock")
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", "tree lock")
	ageStore(t, dir)
	r := mustRun(t, "-C", dir, "data", "gc", "--all-commits")
	if r.stdout != "removed 5 tree objects (0.0 MiB); kept 23\n" {
		t.Errorf("stdout %q", r.stdout)
	}
	left := map[string]bool{}
	for _, f := range storeFiles(t, dir) {
		left[f] = true
	}
	gone := 0
	for _, f := range first {
		if !left[f] {
			gone++
		}
	}
	if gone != 5 {
		t.Errorf("%d of the first lock's objects removed, want the 5 the second does not share", gone)
	}
}

func TestDataGCMalformedLockInCommit(t *testing.T) {
	dir, both, _ := gcRepo(t)
	good, err := os.ReadFile(filepath.Join(dir, lockfile.FileName))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, lockfile.FileName), `{"version": 2, "datasets": {`)
	git(t, dir, "commit", "-q", "-am", "broken lock")
	bad := strings.TrimSpace(gitOutput(t, dir, "rev-parse", "--short=12", "HEAD"))
	writeFile(t, filepath.Join(dir, lockfile.FileName), string(good))
	git(t, dir, "commit", "-q", "-am", "lock restored")
	ageStore(t, dir)
	tests := []struct {
		name string
		args []string
		code int
	}{
		{name: "kept by --all-commits", args: []string{"--all-commits", "--dry-run"}, code: ExitUsage},
		{name: "kept by --all-commits, removing", args: []string{"--all-commits"}, code: ExitUsage},
		// Last: it removes the first lock's objects.
		{name: "not kept", args: nil, code: ExitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, nil, append([]string{"-C", dir, "data", "gc"}, tt.args...)...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d: %s%s", r.code, tt.code, r.stdout, r.stderr)
			}
			if tt.code == ExitOK {
				return
			}
			msg := strings.TrimSuffix(r.stderr, "\n")
			if strings.Contains(msg, "\n") || !strings.Contains(msg, "commit "+bad) || !strings.Contains(msg, "malformed") {
				t.Errorf("stderr is not one line naming commit %s:\n%s", bad, r.stderr)
			}
			if d := cmp.Diff(both, storeFiles(t, dir)); d != "" {
				t.Errorf("objects removed (-before +after):\n%s", d)
			}
		})
	}
}

func TestDataGCUsage(t *testing.T) {
	dir := treeProject(t) // no git repository
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"negative age", []string{"--older-than", "-1h"}, ExitUsage},
		{"not a duration", []string{"--older-than", "soon"}, ExitUsage},
		{"arguments", []string{"digits"}, ExitUsage},
		{"history without git", []string{"--all-commits"}, ExitUsage},
		{"without git, the working tree's lock", nil, ExitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, nil, append([]string{"-C", dir, "data", "gc"}, tt.args...)...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d: %s%s", r.code, tt.code, r.stdout, r.stderr)
			}
		})
	}
}

func gitOutput(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	return string(out)
}

// A repository can commit .mlci, or .mlci/objects, as a link to another
// project's store; gc through it would remove that project's trees, which
// no lock here names. gc refuses a store reached through a link.
func TestDataGCRefusesALinkedStore(t *testing.T) {
	for _, link := range []string{lockfile.StoreDir, filepath.Join(lockfile.StoreDir, "objects")} {
		t.Run(filepath.ToSlash(link), func(t *testing.T) {
			victim := t.TempDir()
			obj := filepath.Join(victim, "objects", "blake3", "ab", "ab"+strings.Repeat("0", 62))
			writeFile(t, obj, "another project's tree")
			old := time.Now().Add(-48 * time.Hour)
			if err := os.Chtimes(obj, old, old); err != nil {
				t.Fatal(err)
			}
			dir := treeProject(t)
			if err := os.RemoveAll(filepath.Join(dir, lockfile.StoreDir)); err != nil {
				t.Fatal(err)
			}
			target := victim
			if link != lockfile.StoreDir {
				target = filepath.Join(victim, "objects")
				if err := os.MkdirAll(filepath.Join(dir, lockfile.StoreDir), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
				t.Fatal(err)
			}
			r := run(t, nil, "-C", dir, "data", "gc", "--older-than", "0")
			if r.code != ExitUsage || !strings.Contains(lastLine(r.stderr), "link") {
				t.Errorf("exit %d, stderr %q; want %d and a line naming the link", r.code, r.stderr, ExitUsage)
			}
			if _, err := os.Stat(obj); err != nil {
				t.Errorf("the other store's object: %v; want it kept", err)
			}
		})
	}
}
