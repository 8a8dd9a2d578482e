package gitrepo

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gitCmd runs git in dir with a fixed identity, failing the test on error.
func gitCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_SYSTEM=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func commitFile(t *testing.T, dir, name, content, msg string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	gitCmd(t, dir, "add", name)
	gitCmd(t, dir, "commit", "-q", "-m", msg)
	return gitCmd(t, dir, "rev-parse", "HEAD")
}

// upstream makes a repository with main (two commits) and a feature branch
// one commit ahead of main's first commit.
func upstream(t *testing.T) (dir, base string) {
	dir = t.TempDir()
	gitCmd(t, dir, "init", "-q", "-b", "main")
	base = commitFile(t, dir, "f.txt", "one", "one")
	gitCmd(t, dir, "checkout", "-q", "-b", "feature")
	commitFile(t, dir, "f.txt", "feature", "feature")
	gitCmd(t, dir, "checkout", "-q", "main")
	commitFile(t, dir, "g.txt", "two", "two")
	return dir, base
}

func TestShowAndMergeBase(t *testing.T) {
	dir, base := upstream(t)
	gitCmd(t, dir, "checkout", "-q", "feature")
	ctx := context.Background()
	r, err := Open(ctx, filepath.Join(dir))
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.ResolveBase(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if b.Rev != base || b.Note != "" {
		t.Errorf("base = %+v, want merge base %s with no note", b, base)
	}
	got, err := r.Show(ctx, b.Rev, "f.txt")
	if err != nil || string(got) != "one" {
		t.Errorf("Show = %q, %v; want one", got, err)
	}
	if _, err := r.Show(ctx, b.Rev, "g.txt"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Show missing file: err = %v, want ErrNotFound", err)
	}
}

func TestDefaultBranchFromCI(t *testing.T) {
	dir, _ := upstream(t)
	r, _ := Open(context.Background(), dir)
	tests := []struct {
		name   string
		target string
		want   string
	}{
		{"pull request's target", "release", "release"},
		{"local main", "", "main"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r.TargetBranch = tt.target
			got, err := r.DefaultBranch(context.Background())
			if err != nil || got != tt.want {
				t.Errorf("DefaultBranch = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestShallowCloneFetchesBase(t *testing.T) {
	up, _ := upstream(t)
	clone := filepath.Join(t.TempDir(), "clone")
	// As actions/checkout does for a pull request: one commit, one branch.
	gitCmd(t, filepath.Dir(clone), "clone", "-q", "--depth=1", "--single-branch", "--branch=feature", "file://"+up, clone)
	ctx := context.Background()
	r, err := Open(ctx, clone)
	if err != nil {
		t.Fatal(err)
	}
	r.TargetBranch = "main"
	if !r.Shallow(ctx) {
		t.Fatal("clone is not shallow")
	}
	b, err := r.ResolveBase(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.Note, "git fetch --unshallow") {
		t.Errorf("note = %q, want the command that gives the exact merge base", b.Note)
	}
	if got, err := r.Show(ctx, b.Rev, "g.txt"); err != nil || string(got) != "two" {
		t.Errorf("file at fetched base = %q, %v; want main's tip", got, err)
	}
	if _, err := r.ResolveBase(ctx, "no-such-branch"); !errors.Is(err, ErrNoBase) || !strings.Contains(err.Error(), "git fetch --depth=1 origin no-such-branch") {
		t.Errorf("missing base: err = %v, want ErrNoBase with the fetch command", err)
	}
}

func TestOpenOutsideRepo(t *testing.T) {
	if _, err := Open(context.Background(), t.TempDir()); !errors.Is(err, ErrNotRepo) {
		t.Errorf("err = %v, want ErrNotRepo", err)
	}
}

func TestLog(t *testing.T) {
	dir, _ := upstream(t)
	r, _ := Open(context.Background(), dir)
	revs, err := r.Log(context.Background(), "main", "f.txt", 5)
	if err != nil || len(revs) != 1 {
		t.Fatalf("Log(main, f.txt) = %v, %v; want the one commit that touched it", revs, err)
	}
	revs, err = r.Log(context.Background(), "feature", "f.txt", 1)
	if err != nil || len(revs) != 1 {
		t.Fatalf("Log -n1 = %v, %v", revs, err)
	}
	if got, _ := r.Show(context.Background(), revs[0], "f.txt"); string(got) != "feature" {
		t.Errorf("newest commit first: f.txt = %q", got)
	}
}

// A push is compared with HEAD's first parent: found locally, fetched by a
// depth-1 clone (as actions/checkout makes on a push), absent for the
// first commit, whose baseline is the empty tree.
func TestFirstParent(t *testing.T) {
	ctx := context.Background()
	up, first := upstream(t)
	r, err := Open(ctx, up)
	if err != nil {
		t.Fatal(err)
	}
	if rev, ok, err := r.FirstParent(ctx); err != nil || !ok || rev != first {
		t.Errorf("FirstParent = %s, %v, %v; want %s", rev, ok, err, first)
	}

	clone := filepath.Join(t.TempDir(), "clone")
	gitCmd(t, filepath.Dir(clone), "clone", "-q", "--depth=1", "--single-branch", "--branch=main", "file://"+up, clone)
	c, err := Open(ctx, clone)
	if err != nil {
		t.Fatal(err)
	}
	if rev, ok, err := c.FirstParent(ctx); err != nil || !ok || rev != first {
		t.Errorf("shallow FirstParent = %s, %v, %v; want %s", rev, ok, err, first)
	}

	root := t.TempDir()
	gitCmd(t, root, "init", "-q", "-b", "main")
	commitFile(t, root, "f.txt", "one", "one")
	rr, err := Open(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	if rev, ok, err := rr.FirstParent(ctx); err != nil || ok {
		t.Errorf("first commit: FirstParent = %s, %v, %v; want none", rev, ok, err)
	}
	empty, err := rr.EmptyTree(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rr.Show(ctx, empty, "f.txt"); !errors.Is(err, ErrNotFound) {
		t.Errorf("f.txt in the empty tree: err = %v, want ErrNotFound", err)
	}
}
