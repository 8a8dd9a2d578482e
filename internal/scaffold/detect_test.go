package scaffold

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// tree writes files (path → content; a path ending in "/" is a folder)
// under a new folder and returns it.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		abs := filepath.Join(root, filepath.FromSlash(p))
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(abs, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(abs, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name                          string
		files                         map[string]string
		lim                           Limits
		data, metrics, params, models []string
		dvc, truncated                bool
		note                          string // a note that must be there
	}{
		{
			name:  "empty",
			files: map[string]string{},
		},
		{
			name: "conventional layout",
			files: map[string]string{
				"data/train/a.csv": "x", "data/metrics.json": "{}", // inside a dataset: data
				"metrics.json": `{"acc": 1}`, "eval/test.metrics.json": "{}",
				"params.yaml": "lr: 1", "models/net.pt": "w", "export/net.onnx": "w",
				"baseline/metrics.json": "{}", "baseline/params.yaml": "lr: 2",
			},
			data: []string{"data"}, metrics: []string{"eval/test.metrics.json", "metrics.json"},
			params: []string{"params.yaml"}, models: []string{"export/net.onnx", "models"},
		},
		{
			name: "datasets folders, and a deep data folder is code",
			files: map[string]string{
				"datasets/x.bin": "x", "project/dataset/y.bin": "y", "src/pkg/data/__init__.py": "",
			},
			data: []string{"datasets", "project/dataset"},
		},
		{
			name: "skipped folders",
			files: map[string]string{
				".git/metrics.json": "{}", ".venv/lib/model.pkl": "w", "node_modules/x/params.yaml": "",
				".hidden/data/x": "x", "venv/data/y": "y",
			},
		},
		{
			name: "dvc add and dvc.yaml",
			files: map[string]string{
				"raw.dvc":             "outs:\n- md5: abc\n  path: raw\n",
				"raw/a.jpg":           "x",
				"weights.dvc":         "outs:\n- path: weights.safetensors\n",
				"weights.safetensors": "w",
				"gone.dvc":            "outs:\n- path: gone\n",
				"dvc.yaml": `stages:
  prepare:
    cmd: python prepare.py
    deps: [raw]
    outs: [prepared]
  train:
    cmd: python train.py
    params: [train.lr, {conf/train.yaml: [epochs]}]
    outs:
      - model.pkl
    metrics:
      - scores.json:
          cache: false
      - missing.json
      - report.toml
    plots: [plots/roc.csv]
metrics: [summary.json]
`,
				"prepared/x": "x", "model.pkl": "w", "scores.json": `{"auc": 0.9}`, "summary.json": "{}",
				"params.yaml": "train: {lr: 1}", "conf/train.yaml": "epochs: 3", "report.toml": "",
			},
			data:    []string{"prepared", "raw"},
			metrics: []string{"summary.json", "scores.json"},
			params:  []string{"params.yaml", "conf/train.yaml"},
			models:  []string{"model.pkl", "weights.safetensors"},
			dvc:     true,
			note:    "missing.json: metrics file left out: not in the work tree",
		},
		{
			name:   "a broken dvc.yaml is a note",
			files:  map[string]string{"dvc.yaml": "stages: [", "params.yaml": ""},
			params: []string{"params.yaml"}, dvc: true, note: "dvc.yaml: not read",
		},
		{
			name:      "depth limit",
			files:     map[string]string{"a/b/c/metrics.json": "{}", "a/metrics.json": "{}"},
			lim:       Limits{MaxDepth: 2, MaxEntries: 100},
			metrics:   []string{"a/metrics.json"},
			truncated: true,
		},
		{
			name:      "entry limit",
			files:     map[string]string{"a/1": "", "a/2": "", "a/3": "", "z/metrics.json": "{}"},
			lim:       Limits{MaxDepth: 6, MaxEntries: 3},
			truncated: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lim := tt.lim
			if lim == (Limits{}) {
				lim = DefaultLimits()
			}
			got, err := Detect(os.DirFS(tree(t, tt.files)), lim)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				what      string
				got, want []string
			}{{"data", got.Data, tt.data}, {"metrics", got.Metrics, tt.metrics}, {"params", got.Params, tt.params}, {"models", got.Models, tt.models}} {
				if c.want == nil {
					c.want = []string{}
				}
				if !slices.Equal(c.got, c.want) {
					t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
				}
			}
			if got.DVC != tt.dvc || got.Truncated != tt.truncated {
				t.Errorf("dvc, truncated = %v, %v; want %v, %v", got.DVC, got.Truncated, tt.dvc, tt.truncated)
			}
			if tt.note != "" && !slices.ContainsFunc(got.Notes, func(n string) bool { return strings.Contains(n, tt.note) }) {
				t.Errorf("notes %q lack %q", got.Notes, tt.note)
			}
		})
	}
}

// A link is never followed, to a folder outside the repository or to a
// file, so nothing outside is read or proposed.
func TestDetectSkipsLinks(t *testing.T) {
	outside := tree(t, map[string]string{"metrics.json": "{}", "net.pt": "w", "data/x": "x"})
	root := tree(t, map[string]string{"README.md": ""})
	for name, target := range map[string]string{
		"ext": outside, "data": filepath.Join(outside, "data"),
		"metrics.json": filepath.Join(outside, "metrics.json"), "net.pt": filepath.Join(outside, "net.pt"),
	} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Skip("no symbolic links here:", err)
		}
	}
	got, err := Detect(os.DirFS(root), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Data)+len(got.Metrics)+len(got.Params)+len(got.Models) != 0 {
		t.Errorf("followed a link: %+v", got)
	}
}
