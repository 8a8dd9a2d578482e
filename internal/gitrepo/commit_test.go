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

// TestCommitPathsWithoutIdentity: a hosted CI runner configures no git
// identity, and git, unable to guess an email, refuses to commit; mlci's
// commits go through with the fallback email, and a configured identity
// still wins over it.
func TestCommitPathsWithoutIdentity(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, k := range []string{"GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")
	t.Setenv("GIT_CONFIG_SYSTEM", "/dev/null")
	// A host name without a domain, as in a container, so git cannot
	// make up an email from it either.
	t.Setenv("HOME", t.TempDir())
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = Environ(os.Environ())
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run("init", "-q", "-b", "main")
	os.WriteFile(filepath.Join(dir, "mlci.lock"), []byte("v1"), 0o644)
	run("add", ".")
	run("commit", "-qm", "init")
	head := run("rev-parse", "HEAD")
	os.WriteFile(filepath.Join(dir, "mlci.lock"), []byte("v2"), 0o644)
	r, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := r.CommitPaths(ctx, head, []string{"mlci.lock"}, "refit")
	if err != nil || c == "" {
		t.Fatalf("commit without an identity: %q, %v", c, err)
	}
	if got := run("log", "-1", "--format=%ce", c); got != FallbackEmail {
		t.Errorf("committer email %q, want %s", got, FallbackEmail)
	}
	run("config", "user.email", "me@example.com")
	if c, _, err = r.CommitPaths(ctx, head, []string{"mlci.lock"}, "again"); err != nil {
		t.Fatal(err)
	}
	if got := run("log", "-1", "--format=%ce", c); got != "me@example.com" {
		t.Errorf("with user.email set, committer email %q", got)
	}
}
