package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlci/mlci/internal/lockfile"
)

// treeProject is the quick start with a manifest threshold below its 351
// files, locked: the digits dataset keeps its file list in tree objects.
func treeProject(t *testing.T) string {
	t.Helper()
	dir := quickstart(t)
	cfg := filepath.Join(dir, "mlci.yaml")
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, cfg, string(data)+"\nmanifest_max_files: 100\n")
	r := run(t, nil, "-C", dir, "data", "lock")
	if r.code != ExitOK {
		t.Fatalf("lock: exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, ".mlci/objects/") {
		t.Errorf("lock output does not say where the file list went:\n%s", r.stdout)
	}
	return dir
}

func TestDataLockBigDatasetInTrees(t *testing.T) {
	dir := treeProject(t)
	lock, err := os.ReadFile(filepath.Join(dir, lockfile.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(lock), `"trees": "objects"`) || strings.Contains(string(lock), `"manifest"`) {
		t.Errorf("mlci.lock:\n%s", lock)
	}
	if _, err := os.Stat(filepath.Join(dir, lockfile.ManifestDir, "digits.tsv")); !os.IsNotExist(err) {
		t.Errorf("the manifest is still in git's way: %v", err)
	}
	if r := run(t, nil, "-C", dir, "data", "check"); r.code != ExitOK {
		t.Errorf("check of the unchanged dataset: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	changeThree(t, dir)
	r := run(t, nil, "-C", dir, "data", "check")
	if r.code != ExitFailed {
		t.Fatalf("check after a change: exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{
		"1 added, 1 removed, 1 modified",
		"+  data/digits/val/9/9-100.pgm",
		"-  data/digits/val/9/9-006.pgm",
		"~  data/digits/train/3/3-000.pgm",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("check output lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "-1 B") {
		t.Errorf("unknown sizes shown as -1:\n%s", r.stdout)
	}
	// A clone that has the lock but not the objects is told how to get them.
	if err := os.RemoveAll(filepath.Join(dir, lockfile.StoreDir)); err != nil {
		t.Fatal(err)
	}
	r = run(t, nil, "-C", dir, "data", "check")
	if r.code != ExitFailed || !strings.Contains(r.stdout, "run mlci data pull digits") {
		t.Errorf("check without the objects: exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestDataDiffBigDatasetInTrees(t *testing.T) {
	dir := treeProject(t)
	git(t, dir, "init", "-q", "-b", "main")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "base")
	changeThree(t, dir)
	if r := run(t, nil, "-C", dir, "-q", "data", "lock"); r.code != ExitOK {
		t.Fatalf("lock: %s", r.stderr)
	}
	r := run(t, nil, "-C", dir, "data", "diff", "--base", "main")
	if r.code != ExitOK || !strings.Contains(r.stdout, "+1 -1 ~1") {
		t.Errorf("diff: exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
}
