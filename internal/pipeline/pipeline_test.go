package pipeline

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mlci/mlci/internal/baseline"
	"github.com/mlci/mlci/internal/datacheck"
	"github.com/mlci/mlci/internal/project"
)

// quickstart copies the quick-start project, which is not in git, so its
// baseline is given as files.
func quickstart(t *testing.T) *project.Project {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "quickstart")
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
		if d.Name() == "mlci-report.md" {
			return nil
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

func TestRun(t *testing.T) {
	tests := []struct {
		name       string
		change     func(t *testing.T, root string)
		wantFailed []string
		wantData   string
		wantWarn   string
	}{
		{name: "the quick start passes", wantFailed: []string{}, wantData: datacheck.StatusOK},
		{
			name: "changed data fails, and the gates still run",
			change: func(t *testing.T, root string) {
				if err := os.WriteFile(filepath.Join(root, "data/digits/train/3/3-000.pgm"), []byte("changed"), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(root, "metrics.json"), []byte(`{"eval": {"val": {"accuracy": 0.5, "loss": 0.39, "macro_f1": 0.97}}}`), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			wantFailed: []string{StepData, StepGates},
			wantData:   datacheck.StatusChanged,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := quickstart(t)
			if tt.change != nil {
				tt.change(t, p.Root)
			}
			var warnings []string
			res, err := Run(context.Background(), p, Options{
				Select:   baseline.Selection{Files: []string{"baseline/metrics.json"}},
				Baseline: baseline.Options{WorkDir: p.Root},
				Warn:     func(msg string) { warnings = append(warnings, msg) },
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.Failed, tt.wantFailed) || res.Pass() != (len(tt.wantFailed) == 0) {
				t.Errorf("Failed = %q, want %q", res.Failed, tt.wantFailed)
			}
			if !res.DataChecked || len(res.Data) != 1 || res.Data[0].Status != tt.wantData {
				t.Errorf("data = %+v, want one dataset %s", res.Data, tt.wantData)
			}
			if res.DataDiff != nil {
				t.Errorf("DataDiff = %+v without git", res.DataDiff)
			}
			if len(res.Metrics) == 0 || res.Gates == nil || res.Baseline.Kind != baseline.Files {
				t.Errorf("metrics %d rows, gates %v, baseline %+v", len(res.Metrics), res.Gates, res.Baseline)
			}
			// params.yaml has no --baseline file: nothing to compare it with.
			if len(res.Params) != 0 {
				t.Errorf("Params = %+v, want none", res.Params)
			}
			if len(warnings) > 0 {
				t.Errorf("warnings %q", warnings)
			}

			in := res.ReportInput(context.Background(), "https://ci.example/run/1", 4)
			if in.Pass() != res.Pass() || in.RunURL != "https://ci.example/run/1" || in.Baseline != "baseline/metrics.json" || !in.DataChecked {
				t.Errorf("report input %+v", in)
			}
			if len(in.Data) != 1 || in.Data[0].Check != tt.wantData || !strings.HasPrefix(in.Data[0].Digest, "blake3:") {
				t.Errorf("report data %+v", in.Data)
			}
			if tt.wantData == datacheck.StatusChanged && in.Data[0].Modified != 1 {
				t.Errorf("report data %+v, want one file modified", in.Data[0])
			}
		})
	}
}

func TestRunNeedsMetricsForGates(t *testing.T) {
	p := quickstart(t)
	// Nothing left to compare: no metrics, params, plots or data.
	p.Config.Metrics, p.Config.Params, p.Config.Plots = nil, nil, nil
	if err := os.Remove(p.LockPath()); err != nil {
		t.Fatal(err)
	}
	p.Config.Data = nil
	_, err := Run(context.Background(), p, Options{})
	if err == nil || !strings.Contains(err.Error(), "gates need metrics files") {
		t.Errorf("Run = %v, want the gates to ask for metrics files", err)
	}
}
