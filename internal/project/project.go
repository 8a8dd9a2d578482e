// Package project finds an mlci project (the folder of mlci.yaml, mlci.lock
// and the .mlci/ cache), selects and hashes its datasets, and reads the
// files its config names without leaving the repository.
package project

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mlci/mlci/internal/config"
	"github.com/mlci/mlci/internal/exitcode"
	"github.com/mlci/mlci/internal/lockfile"
	"github.com/mlci/mlci/internal/metrics"
)

// RunRecordFile is where mlci run record writes by default, in the project.
const RunRecordFile = "mlci-run.intoto.json"

// Project is where mlci.yaml, mlci.lock and the .mlci/ cache live.
type Project struct {
	// Root is the directory of the config file; without one, the nearest
	// directory up from the work directory that holds mlci.lock or .git,
	// else the work directory.
	Root string
	// Config is nil when there is no config file.
	Config *config.Config
}

// Load finds and parses the config: configFile when given (relative to
// workDir), else mlci.yaml in workDir or the nearest folder above. A
// missing config is not an error here: commands that need one say so
// themselves. A config that does not parse is a usage error.
func Load(workDir, configFile string) (*Project, error) {
	if configFile != "" {
		file := configFile
		if !filepath.IsAbs(file) {
			file = filepath.Join(workDir, file)
		}
		cfg, err := config.Load(file)
		if err != nil {
			return nil, exitcode.With(exitcode.Usage, err)
		}
		return &Project{Root: filepath.Dir(file), Config: cfg}, nil
	}
	for dir := workDir; ; dir = filepath.Dir(dir) {
		file, err := config.Find(dir)
		switch {
		case err == nil:
			cfg, err := config.Load(file)
			if err != nil {
				return nil, exitcode.With(exitcode.Usage, err)
			}
			return &Project{Root: dir, Config: cfg}, nil
		case !errors.Is(err, config.ErrNotFound):
			return nil, exitcode.With(exitcode.Usage, err)
		}
		if exists(filepath.Join(dir, lockfile.FileName)) || exists(filepath.Join(dir, ".git")) {
			return &Project{Root: dir}, nil
		}
		if parent := filepath.Dir(dir); parent == dir {
			return &Project{Root: workDir}, nil
		}
	}
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// LockPath is the project's mlci.lock.
func (p *Project) LockPath() string { return filepath.Join(p.Root, lockfile.FileName) }

// HasLock reports whether mlci.lock exists, whatever it holds.
func (p *Project) HasLock() bool { return exists(p.LockPath()) }

// Abs resolves a path from the config or lock against the root.
func (p *Project) Abs(path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(p.Root, filepath.FromSlash(path))
}

// Rel makes an absolute path relative to the root with forward slashes, or
// leaves it absolute when it lies outside.
func (p *Project) Rel(path string) string {
	r, err := filepath.Rel(p.Root, path)
	if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return path
	}
	return filepath.ToSlash(r)
}

// CacheDir is where state caches go: .mlci/cache under the root, with a
// .gitignore so it is never committed. Outside any project the user's cache
// directory is used instead, so mlci does not litter arbitrary folders.
func (p *Project) CacheDir() (string, bool) {
	if p.Config != nil || exists(filepath.Join(p.Root, ".git")) || p.HasLock() {
		dir := filepath.Join(p.Root, ".mlci")
		if err := os.MkdirAll(filepath.Join(dir, "cache"), 0o755); err != nil {
			return "", false
		}
		ignore := filepath.Join(dir, ".gitignore")
		if !exists(ignore) {
			if err := os.WriteFile(ignore, []byte("# mlci's local cache; never commit it.\n*\n"), 0o644); err != nil {
				return "", false
			}
		}
		return filepath.Join(dir, "cache"), true
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", false
	}
	return filepath.Join(base, "mlci", "state"), true
}

// ReadLockOrNew reads mlci.lock for a data lock: a missing one starts empty.
func (p *Project) ReadLockOrNew() (*lockfile.Lock, error) {
	l, err := lockfile.Read(p.LockPath())
	switch {
	case errors.Is(err, os.ErrNotExist):
		return lockfile.New(), nil
	case err != nil:
		return nil, exitcode.With(exitcode.Usage, fmt.Errorf("%w (to start over, delete it and run mlci data lock)", err))
	}
	return l, nil
}

// Files lists the project's files of a kind, "metrics" or "params"; none
// is a usage error that says where to list them.
func (p *Project) Files(kind string) ([]string, error) {
	if p.Config == nil {
		return nil, exitcode.With(exitcode.Usage, fmt.Errorf("no mlci.yaml: list %s files under %s: in it", kind, kind))
	}
	files := p.Config.Metrics
	if kind == "params" {
		files = p.Config.Params
	}
	if len(files) == 0 {
		return nil, exitcode.With(exitcode.Usage, fmt.Errorf("no %s files: list them under %s: in %s", kind, kind, p.Config.File))
	}
	return files, nil
}

// ReadMetrics parses the given metrics files from the work tree.
func (p *Project) ReadMetrics(files []string) ([]*metrics.File, error) {
	var out []*metrics.File
	for _, f := range files {
		data, err := p.ReadInput(f)
		if err != nil {
			return nil, exitcode.With(exitcode.Usage, err)
		}
		m, err := metrics.Parse(f, data)
		if err != nil {
			return nil, exitcode.With(exitcode.Usage, err)
		}
		out = append(out, m)
	}
	return out, nil
}
