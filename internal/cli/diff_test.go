package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlci/mlci/internal/datacheck"
)

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_SYSTEM=/dev/null")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// prRepo makes a repository whose main branch holds the quick-start project
// and whose feature branch changed three files and re-locked them, as a pull
// request would.
func prRepo(t *testing.T) string {
	dir := quickstart(t)
	git(t, dir, "init", "-q", "-b", "main")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "quickstart")
	git(t, dir, "checkout", "-q", "-b", "feature")
	changeThree(t, dir)
	if r := run(t, nil, "-C", dir, "-q", "data", "lock"); r.code != ExitOK {
		t.Fatalf("lock: %s", r.stderr)
	}
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", "new data")
	return dir
}

type diffDoc struct {
	Base     baseInfo
	Datasets []datacheck.DiffResult
}

func TestDataDiff(t *testing.T) {
	dir := prRepo(t)
	r := run(t, nil, "-C", dir, "--json", "data", "diff")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var doc diffDoc
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Datasets) != 1 {
		t.Fatalf("datasets = %+v", doc.Datasets)
	}
	d := doc.Datasets[0]
	if d.Status != datacheck.StatusChanged || *d.Added != 1 || *d.Removed != 1 || *d.Modified != 1 || d.Base.Bytes == d.Head.Bytes {
		t.Errorf("diff = %+v base %+v head %+v", d, d.Base, d.Head)
	}
	if !strings.Contains(doc.Base.Name, "main") {
		t.Errorf("base = %+v, want the merge base with main", doc.Base)
	}
	text := run(t, nil, "-C", dir, "data", "diff", "--base", "main")
	if !strings.Contains(text.stdout, "+1 -1 ~1") || !strings.Contains(text.stdout, "351 -> 351") {
		t.Errorf("text diff:\n%s", text.stdout)
	}
	same := run(t, nil, "-C", dir, "data", "diff", "--base", "HEAD")
	if !strings.Contains(same.stdout, "unchanged") {
		t.Errorf("diff against HEAD:\n%s", same.stdout)
	}
}

func TestDataDiffShallowClone(t *testing.T) {
	up := prRepo(t)
	clone := filepath.Join(t.TempDir(), "clone")
	git(t, filepath.Dir(clone), "clone", "-q", "--depth=1", "--single-branch", "--branch=feature", "file://"+up, clone)
	env := map[string]string{"GITHUB_BASE_REF": "main"}
	r := run(t, env, "-C", clone, "--json", "data", "diff")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var doc diffDoc
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if d := doc.Datasets[0]; d.Status != datacheck.StatusChanged || d.Added == nil || *d.Added != 1 {
		t.Errorf("diff in shallow clone = %+v", d)
	}
	if !strings.Contains(r.stderr, "git fetch --unshallow") {
		t.Errorf("stderr %q does not say how to get the exact merge base", r.stderr)
	}
	missing := run(t, nil, "-C", clone, "data", "diff", "--base", "release")
	if missing.code != ExitUsage || !strings.Contains(missing.stderr, "git fetch --depth=1 origin release") {
		t.Errorf("missing base: exit %d stderr %q", missing.code, missing.stderr)
	}
}

func TestDataDiffNoLockAtBase(t *testing.T) {
	dir := quickstart(t)
	git(t, dir, "init", "-q", "-b", "main")
	writeFile(t, filepath.Join(dir, "README.md"), "x")
	git(t, dir, "add", "README.md")
	git(t, dir, "commit", "-q", "-m", "before mlci")
	r := run(t, nil, "-C", dir, "data", "diff", "--base", "main")
	if r.code != ExitOK || !strings.Contains(r.stdout, "added") {
		t.Errorf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
}
