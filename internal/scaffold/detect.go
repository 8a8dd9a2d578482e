// Package scaffold looks at a repository and writes what mlci init
// proposes: mlci.yaml, the forge's workflow and the .gitignore lines.
package scaffold

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// Limits bound the walk, so that init answers at once in a repository
// with millions of files: what lies deeper or later is not looked at, and
// Findings.Truncated says so.
type Limits struct {
	MaxDepth   int // folders below the root
	MaxEntries int // files and folders visited
}

// DefaultLimits cover the layouts ML projects use (data/raw/train is 3
// deep) with room to spare, and stop within a second on a slow disk.
func DefaultLimits() Limits { return Limits{MaxDepth: 6, MaxEntries: 50_000} }

// maxDVCFile bounds what is read of a dvc.yaml or .dvc file, and of a
// metrics file looked at for a gate: they are small; anything bigger is
// not one.
const maxDVCFile = 1 << 20

// maxConventionDepth is how deep a folder named data/ or model/ is taken
// for a dataset or a model by its name alone.
const maxConventionDepth = 2

// Findings is what Detect saw, as paths relative to the root with forward
// slashes, in walk order (shallow first within a folder's byte order).
type Findings struct {
	Data    []string `json:"data"`
	Metrics []string `json:"metrics"`
	Params  []string `json:"params"`
	Models  []string `json:"models"`
	// DVC says a dvc.yaml or .dvc file was read.
	DVC bool `json:"dvc"`
	// Truncated says the walk stopped at a limit.
	Truncated bool `json:"truncated"`
	// Notes are things the user should know, one line each: files skipped
	// and why.
	Notes []string `json:"notes,omitempty"`
}

// Folder names that hold datasets and models by convention.
var (
	dataDirs  = []string{"data", "dataset", "datasets"}
	modelDirs = []string{"model", "models"}
	// skipDirs are never entered: tools' caches and environments, and
	// baselines (a baseline/metrics.json is what the candidate is
	// compared with, not a metrics file of its own).
	skipDirs = []string{"node_modules", "venv", "env", "__pycache__", "site-packages", "baseline", "baselines", "mlci.lock.d", "wandb", "mlruns"}
	// modelExts are the suffixes of model files of the common frameworks.
	modelExts = []string{".pt", ".pth", ".onnx", ".pkl", ".pickle", ".joblib", ".safetensors", ".h5", ".keras", ".ckpt", ".tflite", ".gguf", ".mlmodel", ".pb"}
	// readableExts are the metrics and params files mlci reads.
	readableExts = []string{".json", ".yaml", ".yml", ".csv", ".tsv"}
)

// Detect walks fsys from its root. Hidden folders (.git, .venv, .dvc...)
// and skipDirs are not entered; symbolic links are never followed (fs.WalkDir
// does not descend into them, and a link is never taken for a file), so
// nothing outside the repository is read.
func Detect(fsys fs.FS, lim Limits) (Findings, error) {
	var f Findings
	var dvcData, dvcModels []string
	seen := 0
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == "." {
				return err
			}
			f.Notes = append(f.Notes, fmt.Sprintf("%s: not read: %v", p, errors.Unwrap(err)))
			return nil
		}
		if p == "." {
			return nil
		}
		seen++
		if seen > lim.MaxEntries {
			f.Truncated = true
			return fs.SkipAll
		}
		name := d.Name()
		depth := strings.Count(p, "/") + 1
		if d.IsDir() {
			switch {
			case strings.HasPrefix(name, ".") || slices.Contains(skipDirs, name):
				return fs.SkipDir
			// Deeper, a "data" folder is more often code (a Python
			// package's data module) than a dataset.
			case depth <= maxConventionDepth && slices.Contains(dataDirs, strings.ToLower(name)):
				f.Data = append(f.Data, p)
				return fs.SkipDir // a dataset's files are data, not metrics or models
			case depth <= maxConventionDepth && slices.Contains(modelDirs, strings.ToLower(name)):
				f.Models = append(f.Models, p)
				return fs.SkipDir
			case depth >= lim.MaxDepth:
				f.Truncated = true
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil // links, sockets, devices
		}
		lower := strings.ToLower(name)
		switch {
		case name == "dvc.yaml":
			f.DVC = true
			paths, err := ParseDVC(readSmall(fsys, p))
			if err != nil {
				f.Notes = append(f.Notes, fmt.Sprintf("%s: not read: %v", p, err))
				return nil
			}
			dir := path.Dir(p)
			for _, m := range paths.Metrics {
				f.Metrics = appendDeclared(&f, fsys, m, dir, "metrics")
			}
			for _, m := range paths.Params {
				f.Params = appendDeclared(&f, fsys, m, dir, "params")
			}
			for _, o := range paths.Outs {
				o = path.Join(dir, o)
				if isModelFile(o) {
					dvcModels = append(dvcModels, o)
				} else if !slices.Contains(paths.Metrics, o) && !slices.Contains(paths.Plots, o) && isDir(fsys, o) {
					dvcData = append(dvcData, o)
				}
			}
		case strings.HasSuffix(name, ".dvc") && name != ".dvc":
			f.DVC = true
			outs, err := ParseDVCFile(readSmall(fsys, p))
			if err != nil {
				f.Notes = append(f.Notes, fmt.Sprintf("%s: not read: %v", p, err))
				return nil
			}
			for _, o := range outs {
				o = path.Join(path.Dir(p), o)
				switch fi, err := fs.Lstat(fsys, o); {
				case err != nil:
					f.Notes = append(f.Notes, fmt.Sprintf("%s: tracked by %s but not in the work tree (dvc pull, then add it to mlci.yaml)", o, p))
				case isModelFile(o):
					dvcModels = append(dvcModels, o)
				case fi.IsDir() || fi.Mode().IsRegular():
					dvcData = append(dvcData, o)
				}
			}
		case lower == "metrics.json" || strings.HasSuffix(lower, ".metrics.json"):
			f.Metrics = appendOnce(f.Metrics, p)
		case lower == "params.yaml":
			f.Params = appendOnce(f.Params, p)
		case isModelFile(p):
			f.Models = append(f.Models, p)
		}
		return nil
	})
	if err != nil {
		return f, fmt.Errorf("look at the repository: %w", err)
	}
	for _, o := range dvcData {
		f.Data = appendOnce(f.Data, o)
	}
	for _, o := range dvcModels {
		f.Models = appendOnce(f.Models, o)
	}
	f.Data = outermost(f.Data)
	f.Models = outermost(f.Models)
	// Empty lists rather than nil, so that --json shows [] and not null.
	for _, l := range []*[]string{&f.Data, &f.Metrics, &f.Params, &f.Models} {
		if *l == nil {
			*l = []string{}
		}
	}
	return f, nil
}

// appendDeclared adds a file that a dvc.yaml in dir names, if mlci can
// read it and it is there: a file only `dvc repro` makes would fail every
// run until it is committed.
func appendDeclared(f *Findings, fsys fs.FS, rel, dir, kind string) []string {
	list := f.Metrics
	if kind == "params" {
		list = f.Params
	}
	p := path.Join(dir, rel)
	if !slices.Contains(readableExts, strings.ToLower(path.Ext(p))) {
		f.Notes = append(f.Notes, fmt.Sprintf("%s: %s file left out: mlci reads only %s", p, kind, strings.Join(readableExts, ", ")))
		return list
	}
	fi, err := fs.Lstat(fsys, p)
	if err != nil || !fi.Mode().IsRegular() {
		f.Notes = append(f.Notes, fmt.Sprintf("%s: %s file left out: not in the work tree (commit it, then add it to mlci.yaml)", p, kind))
		return list
	}
	return appendOnce(list, p)
}

// readSmall returns the start of a file; a read error gives what was read,
// which the parser then refuses.
func readSmall(fsys fs.FS, p string) []byte {
	r, err := fsys.Open(p)
	if err != nil {
		return nil
	}
	defer r.Close()
	data, _ := io.ReadAll(io.LimitReader(r, maxDVCFile))
	return data
}

func isDir(fsys fs.FS, p string) bool {
	fi, err := fs.Lstat(fsys, p)
	return err == nil && fi.IsDir()
}

func isModelFile(p string) bool {
	return slices.Contains(modelExts, strings.ToLower(path.Ext(p)))
}

func appendOnce(list []string, p string) []string {
	if slices.Contains(list, p) {
		return list
	}
	return append(list, p)
}

// outermost drops paths inside another path of the list: a dataset inside
// a dataset would be hashed twice.
func outermost(list []string) []string {
	var out []string
	for _, p := range list {
		inside := slices.ContainsFunc(list, func(q string) bool {
			return q != p && strings.HasPrefix(p, q+"/")
		})
		if !inside {
			out = append(out, p)
		}
	}
	return out
}
