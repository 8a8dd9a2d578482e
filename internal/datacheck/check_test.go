package datacheck

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlci/mlci/internal/config"
	"github.com/mlci/mlci/internal/exitcode"
	"github.com/mlci/mlci/internal/project"
)

// quickstart copies the quick-start project's config, lock and data.
func quickstart(t *testing.T) *project.Project {
	t.Helper()
	dst := t.TempDir()
	src := filepath.Join("..", "..", "testdata", "quickstart")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			if d.Name() == ".mlci" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := project.Load(dst, "")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name       string
		change     func(t *testing.T, p *project.Project)
		names      []string
		wantStatus map[string]string
		wantCode   int
	}{
		{name: "unchanged", wantStatus: map[string]string{"digits": StatusOK}},
		{
			name: "a file modified",
			change: func(t *testing.T, p *project.Project) {
				if err := os.WriteFile(filepath.Join(p.Root, "data/digits/train/3/3-000.pgm"), []byte("changed"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			wantStatus: map[string]string{"digits": StatusChanged},
		},
		{
			name: "config changed since the lock",
			change: func(t *testing.T, p *project.Project) {
				p.Config.Data[0].Exclude = nil
			},
			wantStatus: map[string]string{"digits": StatusStale},
		},
		{
			name: "configured, never locked",
			change: func(t *testing.T, p *project.Project) {
				p.Config.Data = append(p.Config.Data, config.Dataset{Name: "new", Path: "data/new"})
			},
			wantStatus: map[string]string{"digits": StatusOK, "new": StatusNotLocked},
		},
		{name: "an unknown name", names: []string{"nope"}, wantCode: exitcode.Usage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := quickstart(t)
			if tt.change != nil {
				tt.change(t, p)
			}
			ctx := context.Background()
			l, manifests, err := Load(ctx, p, nil)
			if err != nil {
				t.Fatal(err)
			}
			results, failed, err := Check(ctx, p, l, manifests, tt.names, project.HashOptions{NoCache: true})
			if tt.wantCode != 0 {
				if code := exitcode.Of(err, 0); code != tt.wantCode {
					t.Fatalf("Check: exit code %d (%v), want %d", code, err, tt.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			wantFailed := 0
			for _, s := range tt.wantStatus {
				if s != StatusOK {
					wantFailed++
				}
			}
			if len(results) != len(tt.wantStatus) || failed != wantFailed {
				t.Fatalf("results %+v, %d failed; want %v", results, failed, tt.wantStatus)
			}
			for _, r := range results {
				if r.Status != tt.wantStatus[r.Name] {
					t.Errorf("%s: %s (%s), want %s", r.Name, r.Status, r.Message, tt.wantStatus[r.Name])
				}
			}
		})
	}
}

func TestLoadWithoutLock(t *testing.T) {
	p := &project.Project{Root: t.TempDir()}
	if _, _, err := Load(context.Background(), p, nil); exitcode.Of(err, 0) != exitcode.Usage {
		t.Errorf("Load without mlci.lock: %v, want a usage error", err)
	}
}
