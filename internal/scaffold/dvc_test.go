package scaffold

import (
	"reflect"
	"testing"
)

func TestParseDVC(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want DVCPaths
		err  bool
	}{
		{name: "empty", in: ""},
		{
			name: "stages with wdir, maps and templates",
			in: `vars: [{model: m}]
stages:
  b:
    wdir: sub
    cmd: x
    outs: [out/, {model.pt: {cache: false}}, "${model}.pkl"]
    metrics: [m.json]
    params: [lr, {../p.yaml: [a]}, {/abs.yaml: [b]}]
    plots: [{roc.csv: {x: fpr}}]
  a:
    outs: [../../up]
    params: [lr]
plots:
  - acc.png
  - Accuracy: {y: {m.json: acc}}
metrics: [top.json]
params: [top.yaml]
`,
			want: DVCPaths{
				Outs:    []string{"sub/out", "sub/model.pt"},
				Metrics: []string{"top.json", "sub/m.json"},
				Params:  []string{"top.yaml", "params.yaml", "sub/params.yaml", "p.yaml"},
				Plots:   []string{"acc.png", "Accuracy", "sub/roc.csv"},
			},
		},
		{name: "stages not a map", in: "stages: [a, b]", err: true},
		{name: "not YAML", in: "stages: {", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDVC([]byte(tt.in))
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			if !tt.err && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseDVCFile(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"dvc add", "outs:\n- md5: a\n  size: 3\n  path: images\n", []string{"images"}},
		{"several, one outside", "outs:\n- path: a.csv\n- path: ../b\n- path: a.csv\n", []string{"a.csv"}},
		{"no outs", "deps: []\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDVCFile([]byte(tt.in))
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// FuzzDVC checks that no dvc.yaml or .dvc file makes the parsers panic or
// return a path that leaves the folder.
func FuzzDVC(f *testing.F) {
	f.Add([]byte("stages:\n  t:\n    outs: [m.pkl]\n    metrics: [{s.json: {cache: false}}]\n    params: [lr, {p.yaml: [a]}]\n"))
	f.Add([]byte("outs:\n- path: data\n"))
	f.Add([]byte("metrics: [../x, /y, ${z}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseDVC(data)
		outs, err2 := ParseDVCFile(data)
		if err != nil && err2 != nil {
			return
		}
		for _, list := range [][]string{p.Outs, p.Metrics, p.Params, p.Plots, outs} {
			for _, s := range list {
				if s == "" || s == "." || s == ".." || s[0] == '/' || len(s) >= 3 && s[:3] == "../" {
					t.Fatalf("path %q leaves the folder", s)
				}
			}
		}
	})
}
