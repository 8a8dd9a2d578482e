package project

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mlci/mlci/internal/gitrepo"
	"github.com/mlci/mlci/internal/metrics"
)

// The files mlci.yaml names (metrics, params, per-example scores) are the
// pull request author's to choose, and what mlci reads from them goes into
// the report, the comment and the step summary. So every read of one goes
// through ReadInput (the work tree) or ReadInputAt (a commit): the name must
// be relative and free of "..", the file must resolve, through any links,
// inside the repository and outside .git/ (where actions/checkout keeps the
// job's token), and it must be a regular file of at most
// metrics.MaxFileSize bytes.

// ReadInput reads a file that mlci.yaml names from the work tree.
func (p *Project) ReadInput(name string) ([]byte, error) {
	resolved, err := p.ResolveInput(name)
	if err != nil {
		return nil, err
	}
	data, err := metrics.ReadRegular(resolved)
	if err == nil {
		return data, nil
	}
	// Say the name mlci.yaml gives, not the resolved path.
	var nr *metrics.NotRegularError
	var me *metrics.Error
	var pe *fs.PathError
	switch {
	case errors.As(err, &nr):
		nr.Path = name
	case errors.As(err, &me):
		me.File = name
	case errors.As(err, &pe):
		err = fmt.Errorf("%s: %w", name, pe.Err)
	}
	return nil, err
}

// ResolveInput is the path, links resolved, of a file that mlci.yaml names
// in the work tree, after the checks ReadInput makes of the name and of
// where it leads; for files read as a stream, such as a model's profile
// data, whose size ReadInput's bound does not fit.
func (p *Project) ResolveInput(name string) (string, error) {
	if err := checkInputName(name); err != nil {
		return "", err
	}
	resolved, err := filepath.EvalSymlinks(filepath.Join(p.Root, filepath.FromSlash(name)))
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("%s: %w; name only files that exist in mlci.yaml", name, err)
		}
		return "", fmt.Errorf("%s: %w", name, err)
	}
	repo, err := filepath.EvalSymlinks(repoRoot(p.Root))
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(repo, resolved)
	switch {
	case err != nil || !filepath.IsLocal(rel):
		return "", fmt.Errorf("%s leads outside the repository (to %s); mlci reads only files inside it", name, resolved)
	case InGitDir(rel):
		return "", fmt.Errorf("%s leads into .git/ (%s), which holds git's credentials; name a file of the work tree", name, filepath.ToSlash(rel))
	}
	return resolved, nil
}

// ReadInputAt reads a file that mlci.yaml names as committed at rev; prefix
// is the project's folder in the repository. A link there is refused, not
// followed: git holds only its text. A file not there is
// gitrepo.ErrNotFound.
func ReadInputAt(ctx context.Context, repo *gitrepo.Repo, rev, prefix, name string) ([]byte, error) {
	if err := checkInputName(name); err != nil {
		return nil, err
	}
	data, err := repo.File(ctx, rev, path.Join(prefix, name), metrics.MaxFileSize)
	switch {
	case errors.Is(err, gitrepo.ErrSymlink):
		return nil, fmt.Errorf("%s is a symbolic link at %s; mlci does not follow links in commits: commit the file itself", name, gitrepo.ShortRev(rev))
	case errors.Is(err, gitrepo.ErrTooLarge):
		return nil, fmt.Errorf("%s at %s is over the %d MiB limit for metrics files; point mlci at a small summary file", name, gitrepo.ShortRev(rev), metrics.MaxFileSize>>20)
	}
	return data, err
}

// checkInputName refuses names that say by themselves that they leave the
// project: absolute paths and paths with "..".
func checkInputName(name string) error {
	slashed := filepath.ToSlash(name)
	switch {
	case name == "":
		return errors.New("an empty file name in mlci.yaml; give a path relative to mlci.yaml")
	case filepath.IsAbs(name) || path.IsAbs(slashed) || filepath.VolumeName(name) != "":
		return fmt.Errorf("%s is an absolute path; name files relative to mlci.yaml, inside the repository", name)
	case slices.Contains(strings.Split(slashed, "/"), ".."):
		return fmt.Errorf(`%s has ".."; name files inside the project, relative to mlci.yaml`, name)
	}
	return nil
}

// repoRoot is the nearest folder up from dir that holds .git, else dir.
func repoRoot(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if exists(filepath.Join(d, ".git")) {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

// InGitDir reports whether a path lies in a .git folder, a repository's
// own or a nested one's: git runs what a config there says, and
// actions/checkout keeps the job's token there.
func InGitDir(p string) bool {
	for _, part := range strings.Split(filepath.ToSlash(p), "/") {
		if strings.EqualFold(part, ".git") {
			return true
		}
	}
	return false
}
