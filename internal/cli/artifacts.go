package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mlci/mlci/internal/artifact"
	"github.com/mlci/mlci/internal/config"
	"github.com/mlci/mlci/internal/drift/profile"
	"github.com/mlci/mlci/internal/gitrepo"
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

// storeVersion stores what a version's registration tag names but does
// not hold: the model's artifact, by digest, when a store is configured,
// and the profile of its reference data (profile; nil when none). The
// registry tag is written after, so a version never names something that
// is not stored.
func (g *globals) storeVersion(ctx context.Context, p *project.Project, m config.Model, version string, rec *registry.Record, profile []byte) error {
	store, err := g.artifactStore(ctx, p)
	if err != nil {
		return err
	}
	if store != nil {
		pushed, err := store.Push(ctx, m.Name, p.Abs(m.Artifact), map[string]string{"dev.mlci.version": version})
		if err != nil {
			return serviceError(fmt.Errorf("storing %s's artifact: %w", m.Name, err))
		}
		if err := store.Tag(ctx, pushed.Digest, artifactTag(m.Name, version)); err != nil {
			return serviceError(err)
		}
		rec.Manifest = pushed.Digest
	}
	if profile == nil {
		return nil
	}
	if store == nil {
		repo, err := gitrepo.Open(ctx, p.Root)
		if err != nil {
			return usageError(err)
		}
		rec.Profile, err = registry.WriteBlob(ctx, repo.Root, profile)
		return err
	}
	return g.pushProfile(ctx, store, m, version, rec, profile)
}

// profileScheme prefixes a Record's Profile kept in the artifact store:
// "artifact:" and the manifest digest.
const profileScheme = "artifact:"

// profileFile is the name the profile has inside its artifact.
const profileFile = "profile.json"

// pushProfile keeps the version's profile in the artifact store, next to
// the model it describes, rather than in git: a team with a store keeps
// its registry light, and a deploy that can pull the model can pull the
// reference its drift checks need. It is tagged as the version's, so a
// registry that collects untagged manifests keeps it.
func (g *globals) pushProfile(ctx context.Context, store artifact.Store, m config.Model, version string, rec *registry.Record, data []byte) error {
	dir, err := os.MkdirTemp("", "mlci-profile-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, profileFile)
	if err := os.WriteFile(file, data, 0o600); err != nil {
		return err
	}
	pushed, err := store.Push(ctx, m.Name, file, map[string]string{"dev.mlci.version": version, "dev.mlci.content": "profile"})
	if err != nil {
		return serviceError(fmt.Errorf("storing %s's profile: %w", m.Name, err))
	}
	if err := store.Tag(ctx, pushed.Digest, artifactTag(m.Name, version+"-profile")); err != nil {
		return serviceError(err)
	}
	rec.Profile = profileScheme + pushed.Digest
	return nil
}

// pullProfile reads a profile a Record keeps in the artifact store.
func (g *globals) pullProfile(ctx context.Context, p *project.Project, model, ref string) ([]byte, error) {
	store, err := g.artifactStore(ctx, p)
	if err != nil {
		return nil, err
	}
	if store == nil {
		return nil, usageError(fmt.Errorf("the profile of %s is in an artifact store (%s), and mlci.yaml names none; set artifact_store as when it was registered", model, ref))
	}
	dir, err := os.MkdirTemp("", "mlci-profile-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if _, err := store.Pull(ctx, strings.TrimPrefix(ref, profileScheme), dir, artifact.PullOptions{}); err != nil {
		return nil, serviceError(fmt.Errorf("pulling the profile of %s: %w", model, err))
	}
	// The artifact is whatever whoever pushed the tag put there: one
	// regular file, of a profile's size at most.
	file := filepath.Join(dir, profileFile)
	st, err := os.Lstat(file)
	switch {
	case err != nil:
		return nil, usageError(fmt.Errorf("the artifact %s of %s holds no %s; it is not a profile mlci stored", ref, model, profileFile))
	case !st.Mode().IsRegular():
		return nil, usageError(fmt.Errorf("the artifact %s of %s: %s is not a regular file", ref, model, profileFile))
	case st.Size() > profile.MaxFileSize:
		return nil, usageError(fmt.Errorf("the profile %s of %s is %d bytes, over the %d MiB a profile may have", ref, model, st.Size(), profile.MaxFileSize>>20))
	}
	return os.ReadFile(file)
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
