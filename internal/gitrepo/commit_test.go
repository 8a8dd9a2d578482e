package gitrepo

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestCommitPathsLeavesTheWorkTreeAlone(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	gitIn := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	write := func(name, body string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitIn("init", "-q", "-b", "main")
	write("mlci.lock", "v1")
	write("metrics.json", "{}")
	write("src.py", "a")
	write("lock.d/old.tsv", "x")
	gitIn("add", ".")
	gitIn("commit", "-qm", "init")
	head := gitIn("rev-parse", "HEAD")
	r, err := Open(ctx, dir)
	t.Setenv("GIT_AUTHOR_NAME", "t")
	t.Setenv("GIT_AUTHOR_EMAIL", "t@example.com")
	t.Setenv("GIT_COMMITTER_NAME", "t")
	t.Setenv("GIT_COMMITTER_EMAIL", "t@example.com")
	if err != nil {
		t.Fatal(err)
	}

	c, changed, err := r.CommitPaths(ctx, head, []string{"mlci.lock", "lock.d"}, "refit")
	if err != nil || c != "" || changed != nil {
		t.Fatalf("nothing changed: commit %q, changed %v, %v", c, changed, err)
	}

	write("mlci.lock", "v2")
	write("src.py", "b") // changed, but not listed: stays out
	if err := os.Remove(filepath.Join(dir, "lock.d", "old.tsv")); err != nil {
		t.Fatal(err)
	}
	write("lock.d/new.tsv", "y")
	gitIn("add", "src.py") // the user's index must survive
	c, changed, err = r.CommitPaths(ctx, head, []string{"mlci.lock", "lock.d"}, "refit")
	if err != nil || c == "" {
		t.Fatalf("CommitPaths: %q %v", c, err)
	}
	if got := strings.Join(changed, " "); got != "lock.d/new.tsv lock.d/old.tsv mlci.lock" {
		t.Errorf("changed = %q", got)
	}
	if files := gitIn("show", "--name-status", "--format=", c); files != "A\tlock.d/new.tsv\nD\tlock.d/old.tsv\nM\tmlci.lock" {
		t.Errorf("commit holds:\n%s", files)
	}
	if gitIn("rev-parse", "HEAD") != head {
		t.Error("HEAD moved")
	}
	if st := gitIn("status", "--porcelain"); !strings.Contains(st, "M  src.py") || !strings.Contains(st, " M mlci.lock") {
		t.Errorf("the user's index or work tree changed:\n%s", st)
	}
}
