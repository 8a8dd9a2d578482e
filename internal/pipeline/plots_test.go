package pipeline

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/mlci/mlci/internal/baseline"
	"github.com/mlci/mlci/internal/plots"
	"github.com/mlci/mlci/internal/project"
)

func gitRun(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const plotsConfig = `plots:
  - loss.csv:
      x: step
      y: loss
  - preds.csv:
      template: confusion
      x: actual
      y: predicted
`

// plotsRepo commits base on main, then writes head into the work tree on
// a branch, so the git base is main's commit.
func plotsRepo(t *testing.T, config string, base, head map[string]string) *project.Project {
	t.Helper()
	root := t.TempDir()
	gitRun(t, root, "init", "-q", "-b", "main")
	writeFiles(t, root, map[string]string{"mlci.yaml": config})
	writeFiles(t, root, base)
	gitRun(t, root, "add", "-A")
	gitRun(t, root, "commit", "-q", "-m", "base")
	gitRun(t, root, "checkout", "-q", "-b", "change")
	writeFiles(t, root, head)
	p, err := project.Load(root, "")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunPlots(t *testing.T) {
	headFiles := map[string]string{
		"loss.csv":  "step,loss\n0,1\n1,0.5\n2,0.25\n",
		"preds.csv": "actual,predicted\na,a\na,b\nb,b\n",
	}
	tests := []struct {
		name   string
		config string
		base   map[string]string
		sel    baseline.Selection
		// wantSides are the sides of loss.csv's series; wantBaseMatrix
		// whether the confusion matrix has a base.
		wantSides      []plots.Side
		wantBaseMatrix bool
	}{
		{
			name:   "git base",
			config: plotsConfig,
			base: map[string]string{
				"loss.csv":  "step,loss\n0,1\n1,0.7\n2,0.4\n",
				"preds.csv": "actual,predicted\na,b\na,b\nb,b\n",
			},
			wantSides:      []plots.Side{plots.Base, plots.Head},
			wantBaseMatrix: true,
		},
		{
			name:           "a file missing at the base shows the head alone",
			config:         plotsConfig,
			base:           map[string]string{"loss.csv": "step,loss\n0,1\n1,0.7\n2,0.4\n"},
			wantSides:      []plots.Side{plots.Base, plots.Head},
			wantBaseMatrix: false,
		},
		{
			name:      "--baseline file stands for the plot file of its name",
			config:    plotsConfig,
			base:      map[string]string{"old/loss.csv": "step,loss\n0,2\n1,1\n"},
			sel:       baseline.Selection{Files: []string{"old/loss.csv"}},
			wantSides: []plots.Side{plots.Base, plots.Head},
		},
		{
			name:   "plots of a dvc.yaml",
			config: "plots: dvc.yaml\n",
			base: map[string]string{
				"dvc.yaml": "stages: {}\n" + plotsConfig,
				"loss.csv": "step,loss\n0,1\n",
			},
			wantSides: []plots.Side{plots.Base, plots.Head},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := plotsRepo(t, tt.config, tt.base, headFiles)
			res, err := Run(context.Background(), p, Options{Select: tt.sel, Baseline: baseline.Options{WorkDir: p.Root}})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Plots) != 2 {
				t.Fatalf("%d figures, want 2: %+v", len(res.Plots), res.Plots)
			}
			var sides []plots.Side
			for _, s := range res.Plots[0].Series {
				sides = append(sides, s.Side)
			}
			if len(sides) != len(tt.wantSides) || sides[0] != tt.wantSides[0] {
				t.Errorf("loss.csv series sides %v, want %v", sides, tt.wantSides)
			}
			m := res.Plots[1].Matrix
			if m == nil || (m.Base != nil) != tt.wantBaseMatrix {
				t.Errorf("confusion matrix %+v, want a base: %v", m, tt.wantBaseMatrix)
			}
			if in := res.ReportInput(context.Background(), "", 4); len(in.Plots) != 2 {
				t.Errorf("report input has %d plots, want 2", len(in.Plots))
			}
		})
	}
}

func TestRunPlotsHeadFileMissing(t *testing.T) {
	p := plotsRepo(t, plotsConfig, nil, map[string]string{"loss.csv": "step,loss\n0,1\n"})
	if _, err := Run(context.Background(), p, Options{Baseline: baseline.Options{WorkDir: p.Root}}); err == nil {
		t.Fatal("Run succeeded without preds.csv in the work tree")
	}
}

// A plot's data file is the change author's: committed as a link to a file
// on the runner, its values would be printed into a public comment. The
// head side reads through the project's bounded reader, which refuses it.
func TestPlotFileLinkedOutsideIsRefused(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret.csv")
	if err := os.WriteFile(secret, []byte("step,loss\n0,4242\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := plotsRepo(t, "plots:\n  - loss.csv:\n      x: step\n      y: loss\n", map[string]string{"loss.csv": "step,loss\n0,1\n"}, nil)
	if err := os.Remove(filepath.Join(p.Root, "loss.csv")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(p.Root, "loss.csv")); err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), p, Options{Baseline: baseline.Options{WorkDir: p.Root}})
	if err == nil {
		for _, f := range res.Plots {
			for _, s := range f.Series {
				if s.Side == plots.Head && len(s.Y) > 0 && s.Y[0] == 4242 {
					t.Fatalf("the linked file's values reached the plot: %+v", s)
				}
			}
		}
		t.Fatal("Run accepted a plot file that links outside the repository")
	}
}
