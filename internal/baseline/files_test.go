package baseline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlci/mlci/internal/config"
	"github.com/mlci/mlci/internal/exitcode"
	"github.com/mlci/mlci/internal/project"
	"github.com/mlci/mlci/internal/registry"
)

func TestMatchBaseline(t *testing.T) {
	tests := []struct {
		name              string
		file              string
		heads, configured []string
		want, wantErr     string
	}{
		{name: "same base name", file: "dl/metrics.json", heads: []string{"out/metrics.json"}, want: "out/metrics.json"},
		{name: "a params file given to metrics", file: "params.yaml", heads: []string{"metrics.json"}, configured: []string{"metrics.json", "params.yaml"}, want: "params.yaml"},
		{name: "no file of that name", file: "scores.json", heads: []string{"metrics.json"}, configured: []string{"metrics.json"}, wantErr: "lists none named scores.json (metrics.json)"},
		{name: "two files share the name", file: "metrics.json", heads: []string{"a/metrics.json", "b/metrics.json"}, wantErr: "cannot tell which of [a/metrics.json b/metrics.json]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := matchBaseline(tt.file, tt.heads, tt.configured)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("matchBaseline = %q, %v; want an error with %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("matchBaseline = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestResolveFiles(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "metrics.json"), `{"acc": 0.9}`)
	writeFile(t, filepath.Join(dir, "base", "metrics.json"), `{"acc": 0.8}`)
	p := &project.Project{Root: dir, Config: &config.Config{Metrics: []string{"metrics.json"}}}
	heads := []string{"metrics.json"}
	opts := Options{WorkDir: dir}
	tests := []struct {
		name    string
		sel     Selection
		wantErr string
	}{
		{name: "a file", sel: Selection{Files: []string{"base/metrics.json"}}},
		{name: "base and baseline", sel: Selection{Ref: "main", Files: []string{"base/metrics.json"}}, wantErr: "both given"},
		{name: "no such file", sel: Selection{Files: []string{"gone/metrics.json"}}, wantErr: "no such file"},
		{name: "a folder", sel: Selection{Files: []string{"base"}}, wantErr: "is a directory"},
		{name: "two for one", sel: Selection{Files: []string{"base/metrics.json", "metrics.json"}}, wantErr: "both stand for metrics.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bl, err := Resolve(context.Background(), p, tt.sel, heads, opts)
			if tt.wantErr != "" {
				if exitcode.Of(err, 0) != exitcode.Usage || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Resolve: %v; want a usage error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if bl.Kind != Files || bl.Name != "base/metrics.json" {
				t.Errorf("baseline %q of kind %s", bl.Name, bl.Kind)
			}
			data, err := bl.Read(context.Background(), "metrics.json")
			if err != nil || string(data) != `{"acc": 0.8}` {
				t.Errorf("Read = %q, %v", data, err)
			}
			if _, err := bl.Read(context.Background(), "params.yaml"); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("Read of a file with no baseline: %v, want os.ErrNotExist", err)
			}
		})
	}
}

func TestResolveStage(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.json"), `{"acc": 0.9}`)
	writeFile(t, filepath.Join(dir, "b.json"), `{"loss": 0.1}`)
	p := &project.Project{Root: dir, Config: &config.Config{Metrics: []string{"a.json", "b.json"}}}
	state := map[string]*registry.Model{
		"digits": {
			Name:     "digits",
			Versions: []registry.Version{{Version: "v1.0.0", Record: &registry.Record{Metrics: map[string]float64{"acc": 0.8, "loss": 0.2}}}},
			Stages:   map[string]*registry.Assignment{"prod": {Version: "v1.0.0"}},
		},
	}
	opts := Options{WorkDir: dir, Registry: RegistryFunc(func(context.Context) (map[string]*registry.Model, error) { return state, nil })}
	bl, err := Resolve(context.Background(), p, Selection{Files: []string{"digits#prod"}}, p.Config.Metrics, opts)
	if err != nil {
		t.Fatal(err)
	}
	if bl.Kind != Stage || bl.Name != "digits#prod (v1.0.0 in prod)" {
		t.Errorf("baseline %q of kind %s", bl.Name, bl.Kind)
	}
	files, err := bl.ReadMetrics(context.Background(), p.Config.Metrics, nil)
	if err != nil || len(files) != 2 {
		t.Fatalf("ReadMetrics = %v, %v", files, err)
	}
	// Each recorded metric goes to the head file that has it.
	if files[0].Values["acc"].Num != 0.8 || files[1].Values["loss"].Num != 0.2 {
		t.Errorf("recorded metrics placed as %+v, %+v", files[0].Values, files[1].Values)
	}
	if _, err := Resolve(context.Background(), p, Selection{Files: []string{"digits#staging"}}, p.Config.Metrics, opts); exitcode.Of(err, 0) != exitcode.Usage {
		t.Errorf("a stage nobody holds: %v, want a usage error", err)
	}
}
