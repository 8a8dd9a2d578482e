package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/mlci/mlci/internal/config"
	"github.com/mlci/mlci/internal/lockfile"
)

// project is where mlci.yaml, mlci.lock and the .mlci/ cache live.
type project struct {
	// Root is the directory of the config file; without one, the nearest
	// directory up from the work directory that holds mlci.lock or .git,
	// else the work directory.
	Root string
	// Config is nil when there is no config file.
	Config *config.Config
}

// loadProject finds and parses the config. A missing config is not an error
// here: commands that need one say so themselves.
func (g *globals) loadProject() (*project, error) {
	if g.config != "" {
		file := g.config
		if !filepath.IsAbs(file) {
			file = filepath.Join(g.workDir, file)
		}
		cfg, err := config.Load(file)
		if err != nil {
			return nil, usageError(err)
		}
		return &project{Root: filepath.Dir(file), Config: cfg}, nil
	}
	for dir := g.workDir; ; dir = filepath.Dir(dir) {
		file, err := config.Find(dir)
		switch {
		case err == nil:
			cfg, err := config.Load(file)
			if err != nil {
				return nil, usageError(err)
			}
			return &project{Root: dir, Config: cfg}, nil
		case !errors.Is(err, config.ErrNotFound):
			return nil, usageError(err)
		}
		if exists(filepath.Join(dir, lockfile.FileName)) || exists(filepath.Join(dir, ".git")) {
			return &project{Root: dir}, nil
		}
		if parent := filepath.Dir(dir); parent == dir {
			return &project{Root: g.workDir}, nil
		}
	}
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

func (p *project) lockPath() string { return filepath.Join(p.Root, lockfile.FileName) }

// abs resolves a dataset path from the config or lock against the root.
func (p *project) abs(path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(p.Root, filepath.FromSlash(path))
}

// rel makes an absolute path relative to the root with forward slashes, or
// leaves it absolute when it lies outside.
func (p *project) rel(path string) string {
	r, err := filepath.Rel(p.Root, path)
	if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return path
	}
	return filepath.ToSlash(r)
}

// cacheDir is where state caches go: .mlci/cache under the root, with a
// .gitignore so it is never committed. Outside any project the user's cache
// directory is used instead, so mlci does not litter arbitrary folders.
func (p *project) cacheDir() (string, bool) {
	if p.Config != nil || exists(filepath.Join(p.Root, ".git")) || exists(p.lockPath()) {
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

func absPath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	return abs, nil
}
