package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseValid(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want *Config
	}{
		{
			name: "scalar item gets defaults",
			in:   "data:\n  - data/raw/\n",
			want: &Config{File: "mlci.yaml", Hash: "blake3", Data: []Dataset{{Name: "data/raw", Path: "data/raw", Line: 2}}},
		},
		{
			name: "mapping item keeps its name and cleans its path",
			in:   "version: 1\ndata:\n  - name: Train Set\n    path: ./a//b/\n    exclude: ['*.tmp']\n    follow_symlinks: yes\n",
			want: &Config{File: "mlci.yaml", Version: 1, Hash: "blake3", Data: []Dataset{
				{Name: "Train Set", Path: "a/b", Exclude: []string{"*.tmp"}, FollowSymlinks: true, Line: 3},
			}},
		},
		{
			name: "BOM and CRLF",
			in:   "\ufeffhash: sha256\r\ndata: [a]\r\n",
			want: &Config{File: "mlci.yaml", Hash: "sha256", Data: []Dataset{{Name: "a", Path: "a", Line: 2}}},
		},
		{
			name: "null sections are empty",
			in:   "data:\nmetrics:\nparams: ~\nversion: 0\n",
			want: &Config{File: "mlci.yaml", Hash: "blake3"},
		},
		{
			name: "manifest_max_files",
			in:   "data: [a]\nmanifest_max_files: 500\n",
			want: &Config{File: "mlci.yaml", Hash: "blake3", ManifestMaxFiles: 500, Data: []Dataset{{Name: "a", Path: "a", Line: 1}}},
		},
		{
			name: "metrics and params only",
			in:   "metrics: [m.json]\nparams:\n  - p.yaml\n",
			want: &Config{File: "mlci.yaml", Hash: "blake3", Metrics: []string{"m.json"}, Params: []string{"p.yaml"}},
		},
		{
			name: "merge keys share settings between datasets",
			in:   "data:\n  - &base {path: a, exclude: [x]}\n  - <<: *base\n    path: b\n",
			want: &Config{File: "mlci.yaml", Hash: "blake3", Data: []Dataset{
				{Name: "a", Path: "a", Exclude: []string{"x"}, Line: 2},
				{Name: "b", Path: "b", Exclude: []string{"x"}, Line: 3},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse("mlci.yaml", []byte(tt.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	const known = "(known keys: name, path, exclude, follow_symlinks)"
	const top = "version, hash, data, manifest_max_files, metrics, params, gates, models, artifact_store, remotes, plots, report, drift"
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"typo in data item", "data:\n  - path: a\n    exlude: [x]\n",
			`mlci.yaml:3:5: unknown key "exlude" in data[0]; did you mean "exclude"? ` + known},
		{"typo at top level", "dat: [a]\n",
			`mlci.yaml:1:1: unknown key "dat" at top level; did you mean "data"? (known keys: ` + top + ")"},
		{"wrong case", "data:\n  - Path: a\n",
			`mlci.yaml:2:5: unknown key "Path" in data[0]; did you mean "path"? ` + known},
		{"unknown with no close match", "outputs: [a]\n",
			`mlci.yaml:1:1: unknown key "outputs" at top level; remove it or use one of: ` + top},
		{"misplaced key", "data: [a]\nexclude: [b]\n",
			`mlci.yaml:2:1: unknown key "exclude" at top level; it belongs in data items or in models.profile, so check the indentation (known keys here: ` + top + ")"},
		{"misplaced key that looks like another", "data:\n  - a\npath: b\n",
			`mlci.yaml:3:1: unknown key "path" at top level; it belongs in data items, so check the indentation (known keys here: ` + top + ")"},
		{"top-level key indented into an item", "data:\n  - path: a\n    metrics: [m.json]\n",
			`mlci.yaml:3:5: unknown key "metrics" in data[0]; it belongs at the top level, so check the indentation (known keys here: name, path, exclude, follow_symlinks)`},
		{"data is a number", "data: 5\n",
			`mlci.yaml:1:7: data must be a list of strings or mappings, got 5`},
		{"data item is a list", "data:\n  - [a]\n",
			`mlci.yaml:2:5: data[0] must be a string or a mapping, got a list`},
		{"bool is not a bool", "data:\n  - path: a\n    follow_symlinks: maybe\n",
			`mlci.yaml:3:22: data[0].follow_symlinks must be true or false, got "maybe"`},
		{"exclude is a mapping", "data:\n  - path: a\n    exclude: {a: b}\n",
			`mlci.yaml:3:14: data[0].exclude must be a list of strings, got a mapping`},
		{"metrics entry is a list", "metrics:\n  - [a]\n",
			`mlci.yaml:2:5: metrics[0] must be a string, got a list`},
		{"version is text", "version: one\n",
			`mlci.yaml:1:10: version must be a whole number, got "one"`},
		{"version is a fraction", "version: 1.5\n",
			`mlci.yaml:1:10: version must be a whole number, got 1.5`},
		{"version too new", "version: 2\ndata: [a]\n",
			`mlci.yaml:1:10: unsupported config version 2; this mlci reads version 1`},
		{"negative manifest_max_files", "data: [a]\nmanifest_max_files: -1\n",
			`mlci.yaml:2:21: manifest_max_files must be 0 (the default, 10000) or more, got -1`},
		{"fractional manifest_max_files", "manifest_max_files: 1.5\n",
			`mlci.yaml:1:21: manifest_max_files must be a whole number, got 1.5`},
		{"unknown hash", "hash: md5\n",
			`mlci.yaml:1:7: hash "md5" is not supported; use "blake3" (the default) or "sha256"`},
		{"top level is a list", "- a\n",
			`mlci.yaml:1:1: the config must be a mapping, got a list`},
		{"duplicate top-level key", "hash: sha256\ndata: [a]\nhash: blake3\n",
			`mlci.yaml:3:1: duplicate key "hash" at top level (first at line 1); keep one`},
		{"duplicate key in item", "data:\n  - path: a\n    path: b\n",
			`mlci.yaml:3:5: duplicate key "path" in data[0] (first at line 2); keep one`},
		{"item without path", "data:\n  - name: x\n",
			`mlci.yaml:2:5: data[0] has no path; set "path:" to a file or directory`},
		{"null item", "data:\n  - a\n  -\n",
			`mlci.yaml:3:4: data[1] is empty; fill it in or remove the entry`},
		{"duplicate name", "data:\n  - {name: x, path: a}\n  - {name: x, path: b}\n",
			`mlci.yaml:3:5: dataset name "x" is used twice (lines 2 and 3); give each dataset a unique name`},
		{"duplicate path after cleaning", "data:\n  - {name: x, path: a/}\n  - {name: y, path: ./a}\n",
			`mlci.yaml:3:5: dataset path "a" is listed twice (lines 2 and 3); list each path once`},
		{"name clash with default name", "data:\n  - a\n  - {name: a, path: b}\n",
			`mlci.yaml:3:5: dataset name "a" is used twice (lines 2 and 3); give each dataset a unique name`},
		{"empty metrics entry", "metrics:\n  - m.json\n  - ''\n",
			`mlci.yaml:3:5: metrics[1] is empty; give the path of a metrics file or remove the entry`},
		{"empty params entry", "params: ['  ']\n",
			`mlci.yaml:1:10: params[0] is empty; give the path of a params file or remove the entry`},
		{"null params entry", "params: [~]\n",
			`mlci.yaml:1:10: params[0] is empty; fill it in or remove the entry`},
		{"empty file", "", `mlci.yaml: empty config; list your datasets under "data:" (see README for an example)`},
		{"only comments", "# nothing yet\n\n# really\n", `mlci.yaml: empty config; list your datasets under "data:" (see README for an example)`},
		{"only a document marker", "\ufeff---\n", `mlci.yaml: empty config; list your datasets under "data:" (see README for an example)`},
		{"two documents", "data: [a]\n---\ndata: [b]\n",
			`mlci.yaml:2: more than one YAML document; remove the "---" separator and keep one`},
		{"bad indentation", "data:\n  - path: a\n   exclude: [b]\n",
			`mlci.yaml:3: invalid YAML: did not find expected '-' indicator; check the indentation and quoting`},
		{"syntax error on line 1", "hash: sha256: x\n",
			`mlci.yaml:1: invalid YAML: mapping values are not allowed in this context; check the indentation and quoting`},
		{"unclosed flow list", "data:\n  - a\nmetrics: [b\n",
			`mlci.yaml:3: invalid YAML: did not find expected ',' or ']'; check the indentation and quoting`},
		{"item outside its list", "data:\n  - a\nb\n",
			`mlci.yaml:3: invalid YAML: could not find expected ':'; check the indentation and quoting`},
		{"invalid UTF-8", "data:\n  - a\n  - b\n  - \xff\n",
			`mlci.yaml:4: invalid YAML: invalid leading UTF-8 octet; check the indentation and quoting`},
		{"tab indentation", "data:\n\t- a\n",
			`mlci.yaml:2: invalid YAML: found character that cannot start any token; check the indentation and quoting`},
		{"control character", "data:\n  - a\x01\n",
			`mlci.yaml:2: invalid YAML: control characters are not allowed; check the indentation and quoting`},
		{"unknown anchor", "data:\n  - a\n  - *b\n",
			`mlci.yaml:3: invalid YAML: unknown anchor 'b' referenced; check the indentation and quoting`},
		{"merge of a list", "data:\n  - <<: [a]\n",
			`mlci.yaml:2:10: << in data[0] must merge a mapping or a list of mappings`},
		{"merge loop", "data:\n  - &a {path: x, <<: *a}\n",
			`mlci.yaml:2:22: << in data[0] merges a mapping that contains it; remove the loop`},
		{"null through an alias", "data:\n  - {path: a, name: &n ~}\n  - *n\n",
			`mlci.yaml:3:5: data[1] is empty; fill it in or remove the entry`},
		{"key is a list", "? [a]\n: b\n",
			`mlci.yaml:1:3: keys at top level must be plain names, got a list`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("mlci.yaml", []byte(tt.in))
			if err == nil {
				t.Fatalf("Parse succeeded with %+v; want error %q", cfg, tt.want)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("error %T is not *Error", err)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error:\n got: %s\nwant: %s", got, tt.want)
			}
		})
	}
}

// TestMergeBomb feeds merges that double at each level, which would take
// 2^40 steps to walk naively; the exact position of the error is arbitrary.
func TestMergeBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("data:\n  - &a0 {path: a}\n")
	for i := 1; i < 40; i++ {
		fmt.Fprintf(&b, "  - &a%d {<<: [*a%d, *a%d], path: p%d}\n", i, i-1, i-1, i)
	}
	_, err := Parse("mlci.yaml", []byte(b.String()))
	var e *Error
	if !errors.As(err, &e) || e.Line == 0 || !strings.Contains(e.Msg, "expand to too much") {
		t.Errorf("Parse = %v; want a positioned error about aliases expanding", err)
	}
}

// TestGolden pins the decoded form of the reference config in testdata.
func TestGolden(t *testing.T) {
	path := filepath.Join("testdata", "full.yaml")
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		File:    path,
		Version: 1,
		Hash:    "sha256",
		Data: []Dataset{
			{Name: "data/raw", Path: "data/raw", Line: 7},
			{Name: "train", Path: "data/train", Exclude: []string{"*.tmp", "cache/", "!keep.tmp"}, FollowSymlinks: true, Line: 8},
			{Name: "labels", Path: "/srv/shared/labels.csv", Line: 15},
		},
		Metrics: []string{"reports/metrics.json"},
		Params:  []string{"params.yaml", "configs/train.yaml"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load(%s) mismatch (-want +got):\n%s", path, diff)
	}
	if d, ok := got.Dataset("train"); !ok || d.Path != "data/train" {
		t.Errorf("Dataset(train) = %+v, %v", d, ok)
	}
	if _, ok := got.Dataset("missing"); ok {
		t.Error("Dataset(missing) found something")
	}
}

func TestLoadMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	_, err := Load(path)
	if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), path+": ") {
		t.Errorf("Load(missing) = %v; want ErrNotExist starting with the path", err)
	}
}

func TestFind(t *testing.T) {
	tests := []struct {
		name    string
		files   []string
		want    string // file name found, or "" for an error
		wantErr string
	}{
		{"main name", []string{FileName}, FileName, ""},
		{"hidden name", []string{AltFileName}, AltFileName, ""},
		{"both", []string{FileName, AltFileName}, "", "keep one and delete the other"},
		{"neither", nil, "", "no mlci.yaml or .mlci.yaml in "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, f), []byte("data: [a]\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := Find(dir)
			if tt.want != "" {
				if err != nil || got != filepath.Join(dir, tt.want) {
					t.Fatalf("Find = %q, %v; want %s", got, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Find = %q, %v; want error containing %q", got, err, tt.wantErr)
			}
			if errors.Is(err, ErrNotFound) != (len(tt.files) == 0) {
				t.Errorf("errors.Is(%v, ErrNotFound) = %v", err, !(len(tt.files) == 0))
			}
			for _, f := range tt.files {
				if !strings.Contains(err.Error(), f) {
					t.Errorf("error %q does not name %s", err, f)
				}
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		name string
		e    Error
		want string
	}{
		{"everything", Error{File: "f", Line: 2, Col: 3, Msg: "m"}, "f:2:3: m"},
		{"no column", Error{File: "f", Line: 2, Msg: "m"}, "f:2: m"},
		{"no line", Error{File: "f", Col: 3, Msg: "m"}, "f: m"},
		{"no file", Error{Line: 2, Col: 3, Msg: "m"}, "2:3: m"},
		{"message only", Error{Msg: "m"}, "m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.e.Error(); got != tt.want {
				t.Errorf("Error() = %q; want %q", got, tt.want)
			}
		})
	}
}

func TestSuggest(t *testing.T) {
	keys := []string{"name", "path", "exclude", "follow_symlinks"}
	tests := []struct{ key, want string }{
		{"exlude", "exclude"},
		{"excludes", "exclude"},
		{"followsymlinks", "follow_symlinks"},
		{"follow-symlink", "follow_symlinks"},
		{"pth", "path"},
		{"x", ""},
		{"size", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if got := suggest(tt.key, keys); got != tt.want {
				t.Errorf("suggest(%q) = %q; want %q", tt.key, got, tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"", "data: 5\n", "data:\n  - path: a\n    exlude: [x]\n", "data: [&a {path: x, <<: *a}]\n",
		"data: [a, a]\n", "hash: md5\n", "a: 1\n---\nb: 2\n", "data: [*x]\n", "version: 99999999999999999999\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("f.yaml", data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not *Error: %v", err, err)
			}
			if e.Line < 0 || e.Col < 0 {
				t.Fatalf("negative position in %#v", e)
			}
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("message is not one line: %q", err)
			}
			return
		}
		if cfg.Hash != HashBLAKE3 && cfg.Hash != HashSHA256 {
			t.Fatalf("hash %q passed validation", cfg.Hash)
		}
		names := map[string]bool{}
		for _, d := range cfg.Data {
			if d.Name == "" || d.Path == "" || names[d.Name] {
				t.Fatalf("bad dataset passed validation: %+v", d)
			}
			names[d.Name] = true
		}
		for _, m := range cfg.Models {
			for _, st := range m.Stages {
				for _, r := range st.Requires {
					switch r.Kind {
					case RequireGates, RequireDataCheck, RequireApproval, RequireStage:
					default:
						t.Fatalf("requirement %q of %s passed validation", r, st.Name)
					}
				}
			}
		}
	})
}

// TestLoadRefusesWhatIsNotAFile: a branch can replace mlci.yaml with a FIFO
// (reading it would wait forever) or a link to /dev/zero (never ends).
func TestLoadRefusesWhatIsNotAFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	zero := filepath.Join(dir, "zero.yaml")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fifo, zero} {
		if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("Load(%s) = %v, want it refused as not a regular file", p, err)
		}
	}
}
