package cli

import (
	"context"

	"github.com/mlci/mlci/internal/config"
	"github.com/mlci/mlci/internal/gate"
	"github.com/mlci/mlci/internal/pipeline"
	"github.com/mlci/mlci/internal/project"
	"github.com/mlci/mlci/internal/registry"
)

// releaser is the registry, artifact store and forge that a merge's
// release registers and promotes through, as model register and promote
// do.
type releaser struct {
	g        *globals
	p        *project.Project
	base     *baselineFlags
	registry *registryFlags
}

var _ pipeline.Registry = (*releaser)(nil)

func (r *releaser) Head(ctx context.Context) (string, error) {
	repo, _, err := r.g.registryRepo(ctx, r.p, r.registry)
	if err != nil {
		return "", err
	}
	head, _ := repo.Verify(ctx, "HEAD")
	return head, nil
}

func (r *releaser) State(ctx context.Context) (map[string]*registry.Model, error) {
	return r.g.registryState(ctx, r.p, r.registry)
}

func (r *releaser) Register(ctx context.Context, m config.Model, version string, gates *gate.Report) error {
	repo, remote, err := r.g.registryRepo(ctx, r.p, r.registry)
	if err != nil {
		return err
	}
	if err := cleanTree(ctx, repo); err != nil {
		return err
	}
	rec, prof, err := r.g.versionRecord(ctx, r.p, m, r.base, gates)
	if err != nil {
		return err
	}
	if err := r.g.storeVersion(ctx, r.p, m, version, &rec, prof); err != nil {
		return err
	}
	head, _ := repo.Verify(ctx, "HEAD")
	if _, err := registry.Register(ctx, repo.Root, remote, m.Name, version, head, rec); err != nil {
		return registryError(err)
	}
	return nil
}

func (r *releaser) Promote(ctx context.Context, m config.Model, stage, version string) (registry.Tag, registry.Record, error) {
	return r.g.promoteVersion(ctx, r.p, r.registry, m.Name, stage, version, true)
}
