package cli

import (
	"path/filepath"

	"github.com/mlci/mlci/internal/project"
)

// loadProject finds and parses the config from the work directory, or
// the one --config names.
func (g *globals) loadProject() (*project.Project, error) {
	return project.Load(g.workDir, g.config)
}

func absPath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	return abs, nil
}
