package project

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlci/mlci/internal/digest"
	"github.com/mlci/mlci/internal/exitcode"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

const testConfig = "data:\n  - name: images\n    path: data/images\n    exclude: ['*.tmp']\nmetrics: [metrics.json]\n"

func TestLoad(t *testing.T) {
	tests := []struct {
		name string
		// files are written under a fresh root; workDir and configFile
		// are relative to it.
		files           map[string]string
		workDir, config string
		wantRoot        string
		wantConfig      bool
		wantCode        int
	}{
		{name: "config in the work directory", files: map[string]string{"mlci.yaml": testConfig}, wantRoot: ".", wantConfig: true},
		{name: "config above", files: map[string]string{"mlci.yaml": testConfig, "sub/x": ""}, workDir: "sub", wantRoot: ".", wantConfig: true},
		{name: "config named", files: map[string]string{"conf/ci.yaml": testConfig}, config: "conf/ci.yaml", wantRoot: "conf", wantConfig: true},
		{name: "lock without config", files: map[string]string{"mlci.lock": "", "a/b/x": ""}, workDir: "a/b", wantRoot: "."},
		{name: "git without config", files: map[string]string{".git/HEAD": "", "a/x": ""}, workDir: "a", wantRoot: "."},
		{name: "bad config is a usage error", files: map[string]string{"mlci.yaml": "data: ["}, wantCode: exitcode.Usage},
		{name: "both names are a usage error", files: map[string]string{"mlci.yaml": testConfig, ".mlci.yaml": testConfig}, wantCode: exitcode.Usage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for name, content := range tt.files {
				write(t, filepath.Join(root, name), content)
			}
			p, err := Load(filepath.Join(root, tt.workDir), tt.config)
			if tt.wantCode != 0 {
				if code := exitcode.Of(err, 0); code != tt.wantCode {
					t.Fatalf("Load: exit code %d (%v), want %d", code, err, tt.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(root, tt.wantRoot); p.Root != want {
				t.Errorf("Root = %s, want %s", p.Root, want)
			}
			if (p.Config != nil) != tt.wantConfig {
				t.Errorf("Config = %v, want one: %v", p.Config, tt.wantConfig)
			}
		})
	}
}

func TestRel(t *testing.T) {
	p := &Project{Root: filepath.FromSlash("/work/proj")}
	tests := []struct {
		name, path, want string
	}{
		{name: "inside", path: "/work/proj/data/a.csv", want: "data/a.csv"},
		{name: "the root", path: "/work/proj", want: "."},
		{name: "outside stays absolute", path: "/work/other/a.csv", want: filepath.FromSlash("/work/other/a.csv")},
		{name: "a sibling with the root as prefix", path: "/work/projX", want: filepath.FromSlash("/work/projX")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.Rel(filepath.FromSlash(tt.path)); got != tt.want {
				t.Errorf("Rel(%s) = %s, want %s", tt.path, got, tt.want)
			}
		})
	}
}

func TestSelectDatasets(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "mlci.yaml"), testConfig)
	p, err := Load(root, "")
	if err != nil {
		t.Fatal(err)
	}
	opts := PathOptions{Alg: digest.SHA256, Exclude: []string{"*.log"}, FollowSymlinks: true}
	tests := []struct {
		name    string
		workDir string
		args    []string
		want    []Dataset
	}{
		{name: "none: every configured", workDir: root, want: []Dataset{{Name: "images", Path: "data/images", Exclude: []string{"*.tmp"}, Alg: digest.SHA256}}},
		{name: "by name", workDir: root, args: []string{"images"}, want: []Dataset{{Name: "images", Path: "data/images", Exclude: []string{"*.tmp"}, Alg: digest.SHA256}}},
		{name: "by the configured path, from a sub-folder", workDir: filepath.Join(root, "data"), args: []string{"./images"}, want: []Dataset{{Name: "images", Path: "data/images", Exclude: []string{"*.tmp"}, Alg: digest.SHA256}}},
		{name: "another path takes the options", workDir: root, args: []string{"other"}, want: []Dataset{{Name: "other", Path: "other", Exclude: []string{"*.log"}, Follow: true, Alg: digest.SHA256}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.SelectDatasets(tt.workDir, tt.args, opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			for i := range got {
				g, w := got[i], tt.want[i]
				if g.Name != w.Name || g.Path != w.Path || g.Follow != w.Follow || g.Alg != w.Alg || len(g.Exclude) != len(w.Exclude) || (len(g.Exclude) > 0 && g.Exclude[0] != w.Exclude[0]) {
					t.Errorf("dataset %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
	if _, err := (&Project{Root: root}).SelectDatasets(root, nil, opts); exitcode.Of(err, 0) != exitcode.Usage {
		t.Errorf("no config, no args: %v, want a usage error", err)
	}
}

func TestFiles(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "mlci.yaml"), testConfig)
	p, err := Load(root, "")
	if err != nil {
		t.Fatal(err)
	}
	if files, err := p.Files("metrics"); err != nil || len(files) != 1 || files[0] != "metrics.json" {
		t.Errorf("Files(metrics) = %v, %v", files, err)
	}
	if _, err := p.Files("params"); exitcode.Of(err, 0) != exitcode.Usage {
		t.Errorf("Files(params) without params: %v, want a usage error", err)
	}
	if _, err := (&Project{Root: root}).Files("metrics"); exitcode.Of(err, 0) != exitcode.Usage {
		t.Errorf("Files without a config: %v, want a usage error", err)
	}
}

func TestReadLockOrNew(t *testing.T) {
	root := t.TempDir()
	p := &Project{Root: root}
	if l, err := p.ReadLockOrNew(); err != nil || len(l.Datasets) != 0 {
		t.Errorf("no lock: %v, %v; want an empty one", l, err)
	}
	write(t, p.LockPath(), "not: [a lock")
	if _, err := p.ReadLockOrNew(); exitcode.Of(err, 0) != exitcode.Usage {
		t.Errorf("bad lock: %v, want a usage error", err)
	}
	if _, err := os.Stat(p.LockPath()); errors.Is(err, os.ErrNotExist) {
		t.Error("the bad lock was removed")
	}
}
