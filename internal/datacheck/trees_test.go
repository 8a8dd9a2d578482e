package datacheck

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlci/mlci/internal/datahash"
	"github.com/mlci/mlci/internal/gitrepo"
	"github.com/mlci/mlci/internal/lockfile"
	"github.com/mlci/mlci/internal/project"
)

// lockInTrees locks the quick-start's digits as a dataset too big for a
// manifest would be: its trees in .mlci/objects, no manifest.
func lockInTrees(t *testing.T, p *project.Project) {
	t.Helper()
	ctx := context.Background()
	l, err := lockfile.Read(p.LockPath())
	if err != nil {
		t.Fatal(err)
	}
	ds := l.Datasets["digits"]
	d := project.Dataset{Name: "digits", Path: ds.Path, Exclude: ds.Exclude, Alg: ds.Digest.Algorithm()}
	res, err := p.Hash(ctx, d, project.HashOptions{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	store, err := lockfile.OpenStore(p.Root)
	if err != nil {
		t.Fatal(err)
	}
	if err := lockfile.WriteTrees(ctx, store, d.Alg, res.Entries); err != nil {
		t.Fatal(err)
	}
	ds.Digest, ds.Files, ds.Bytes = res.Root, res.Files, res.Bytes
	ds.Manifest, ds.Trees = "", lockfile.TreesInObjects
	if err := lockfile.Save(p.Root, l, nil); err != nil {
		t.Fatal(err)
	}
}

func checkDigits(t *testing.T, p *project.Project) Result {
	t.Helper()
	ctx := context.Background()
	l, manifests, err := Load(ctx, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	results, _, err := Check(ctx, p, l, manifests, nil, project.HashOptions{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	return results[0]
}

func TestCheckTreeLocked(t *testing.T) {
	tests := []struct {
		name        string
		change      func(t *testing.T, p *project.Project)
		wantStatus  string
		wantChanges *datahash.Changes
		wantCounts  *[3]int // added, removed, modified
		wantMessage string
	}{
		{name: "unchanged", wantStatus: StatusOK},
		{
			// A fresh clone in CI: the lock came with git, the objects
			// did not, and an unchanged dataset does not need them.
			name:       "unchanged without the objects",
			change:     func(t *testing.T, p *project.Project) { os.RemoveAll(filepath.Join(p.Root, lockfile.StoreDir)) },
			wantStatus: StatusOK,
		},
		{
			name: "files changed",
			change: func(t *testing.T, p *project.Project) {
				writeData(t, p, "train/3/3-000.pgm", "changed")
				writeData(t, p, "train/new/a.pgm", "new")
				if err := os.Remove(filepath.Join(p.Root, "data/digits/train/0/0-000.pgm")); err != nil {
					t.Fatal(err)
				}
			},
			wantStatus: StatusChanged,
			wantChanges: &datahash.Changes{
				Added:    []datahash.Change{{Path: "train/new/a.pgm", Type: "file", NewSize: 3}},
				Removed:  []datahash.Change{{Path: "train/0/0-000.pgm", Type: "file", OldSize: -1}},
				Modified: []datahash.Change{{Path: "train/3/3-000.pgm", Type: "file", OldSize: -1, NewSize: 7}},
			},
		},
		{
			// A single file has no tree to descend into: every locked
			// file is gone and the file is new.
			name: "became a single file",
			change: func(t *testing.T, p *project.Project) {
				os.RemoveAll(filepath.Join(p.Root, "data/digits"))
				if err := os.WriteFile(filepath.Join(p.Root, "data/digits"), []byte("one"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			wantStatus: StatusChanged,
			wantCounts: &[3]int{1, 351, 0},
		},
		{
			name: "changed without the objects",
			change: func(t *testing.T, p *project.Project) {
				writeData(t, p, "train/3/3-000.pgm", "changed")
				os.RemoveAll(filepath.Join(p.Root, lockfile.StoreDir))
			},
			wantStatus:  StatusChanged,
			wantMessage: "run mlci data pull digits",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := quickstart(t)
			lockInTrees(t, p)
			if tt.change != nil {
				tt.change(t, p)
			}
			r := checkDigits(t, p)
			if r.Status != tt.wantStatus || !strings.Contains(r.Message, tt.wantMessage) {
				t.Errorf("status %s, message %q; want %s with %q", r.Status, r.Message, tt.wantStatus, tt.wantMessage)
			}
			if tt.wantCounts != nil {
				if r.Changes == nil {
					t.Fatalf("no changes named: %+v", r)
				}
				if got := [3]int{len(r.Changes.Added), len(r.Changes.Removed), len(r.Changes.Modified)}; got != *tt.wantCounts {
					t.Errorf("+-~ = %v, want %v", got, *tt.wantCounts)
				}
			}
			if tt.wantChanges != nil {
				if r.Changes == nil {
					t.Fatalf("no changes named: %+v", r)
				}
				if d := cmp.Diff(*tt.wantChanges, *r.Changes); d != "" {
					t.Errorf("changes (-want +got):\n%s", d)
				}
			}
		})
	}
}

func writeData(t *testing.T, p *project.Project, rel, content string) {
	t.Helper()
	f := filepath.Join(p.Root, "data/digits", rel)
	if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

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

func TestDiffTreeLocked(t *testing.T) {
	tests := []struct {
		name string
		// baseInTrees locks the base in trees too; otherwise the dataset
		// crossed the threshold in this change.
		baseInTrees bool
		// dropObjects removes .mlci/ before the diff, as a clone has it.
		dropObjects bool
		want        *[3]int
	}{
		{name: "both in trees", baseInTrees: true, want: &[3]int{1, 0, 1}},
		{name: "base with a manifest", want: &[3]int{1, 0, 1}},
		{name: "objects missing", baseInTrees: true, dropObjects: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			p := quickstart(t)
			if tt.baseInTrees {
				lockInTrees(t, p)
			}
			git(t, p.Root, "init", "-q", "-b", "main")
			git(t, p.Root, "add", ".")
			git(t, p.Root, "commit", "-q", "-m", "base")
			writeData(t, p, "train/3/3-000.pgm", "changed")
			writeData(t, p, "train/new/a.pgm", "new")
			lockInTrees(t, p)
			if tt.dropObjects {
				os.RemoveAll(filepath.Join(p.Root, lockfile.StoreDir))
			}
			repo, err := gitrepo.Open(ctx, p.Root)
			if err != nil {
				t.Fatal(err)
			}
			head, manifests, err := Load(ctx, p, nil)
			if err != nil {
				t.Fatal(err)
			}
			results, err := Diff(ctx, repo, "main", "", head, manifests)
			if err != nil {
				t.Fatal(err)
			}
			r := results[0]
			if r.Status != StatusChanged {
				t.Fatalf("status %s", r.Status)
			}
			if tt.want == nil {
				if r.Added != nil {
					t.Errorf("counts without the objects: +%d", *r.Added)
				}
				return
			}
			if r.Added == nil {
				t.Fatalf("no counts: %+v", r)
			}
			if got := [3]int{*r.Added, *r.Removed, *r.Modified}; got != *tt.want {
				t.Errorf("+-~ = %v, want %v", got, *tt.want)
			}
		})
	}
}
