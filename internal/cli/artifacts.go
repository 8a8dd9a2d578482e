package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/mlci/mlci/internal/artifact"
	"github.com/mlci/mlci/internal/config"
	"github.com/mlci/mlci/internal/project"
	"github.com/mlci/mlci/internal/registry"
)

// artifactStore opens the project's artifact_store, or returns nil when
// none is configured.
func (g *globals) artifactStore(ctx context.Context, p *project.Project) (artifact.Store, error) {
	if p.Config == nil || p.Config.ArtifactStore == "" {
		return nil, nil
	}
	s, err := artifact.Open(ctx, p.Config.ArtifactStore, p.Root, artifact.Options{Credential: g.ci.RegistryCredential})
	if err != nil {
		return nil, usageError(fmt.Errorf("artifact_store: %w", err))
	}
	return s, nil
}

// artifactTag names an artifact's tag in a store shared by every model:
// NAME-vX.Y.Z for a version, NAME-STAGE for a stage. Slashes in monorepo
// names are not allowed in OCI tags.
func artifactTag(model, suffix string) string {
	r := strings.NewReplacer("/", "_", ":", "_")
	return r.Replace(model) + "-" + suffix
}

// pushArtifact stores the model's artifact by digest and records the
// digest; the registry tag is written after, so a version never names an
// artifact that is not stored.
func (g *globals) pushArtifact(ctx context.Context, p *project.Project, m config.Model, version string, rec *registry.Record) error {
	store, err := g.artifactStore(ctx, p)
	if err != nil || store == nil {
		return err
	}
	pushed, err := store.Push(ctx, m.Name, p.Abs(m.Artifact), map[string]string{"dev.mlci.version": version})
	if err != nil {
		return serviceError(fmt.Errorf("storing %s's artifact: %w", m.Name, err))
	}
	if err := store.Tag(ctx, pushed.Digest, artifactTag(m.Name, version)); err != nil {
		return serviceError(err)
	}
	rec.Manifest = pushed.Digest
	return nil
}

// tagStage points the stage's artifact tag at the version's manifest.
func (g *globals) tagStage(ctx context.Context, p *project.Project, model, stage string, rec registry.Record) error {
	store, err := g.artifactStore(ctx, p)
	if err != nil || store == nil || rec.Manifest == "" {
		return err
	}
	if err := store.Tag(ctx, rec.Manifest, artifactTag(model, stage)); err != nil {
		return serviceError(fmt.Errorf("the registry tag was pushed, but tagging the artifact %s failed (re-run the promotion to retry): %w", artifactTag(model, stage), err))
	}
	return nil
}
