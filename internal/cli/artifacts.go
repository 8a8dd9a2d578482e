package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlci/mlci/internal/artifact"
	"github.com/mlci/mlci/internal/config"
	"github.com/mlci/mlci/internal/registry"
)

// artifactStore opens the project's artifact_store, or returns nil when
// none is configured.
func (g *globals) artifactStore(ctx context.Context, p *project) (artifact.Store, error) {
	if p.Config == nil || p.Config.ArtifactStore == "" {
		return nil, nil
	}
	s, err := artifact.Open(ctx, p.Config.ArtifactStore, p.Root, g.io.Getenv)
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
// manifest; the registry tag is written after, so a version never names an
// artifact that is not stored.
func (g *globals) pushArtifact(ctx context.Context, p *project, m config.Model, version string, rec *registry.Record) error {
	store, err := g.artifactStore(ctx, p)
	if err != nil || store == nil {
		return err
	}
	pushed, err := store.Push(ctx, m.Name, p.abs(m.Artifact), map[string]string{"dev.mlci.version": version})
	if err != nil {
		return serviceError(fmt.Errorf("storing %s's artifact: %w", m.Name, err))
	}
	if err := store.Tag(ctx, pushed.Manifest, artifactTag(m.Name, version)); err != nil {
		return serviceError(err)
	}
	rec.Manifest = pushed.Manifest
	return nil
}

// tagStage points the stage's artifact tag at the version's manifest.
func (g *globals) tagStage(ctx context.Context, p *project, model, stage string, rec registry.Record) error {
	store, err := g.artifactStore(ctx, p)
	if err != nil || store == nil || rec.Manifest == "" {
		return err
	}
	if err := store.Tag(ctx, rec.Manifest, artifactTag(model, stage)); err != nil {
		return serviceError(fmt.Errorf("the registry tag was pushed, but tagging the artifact %s failed (re-run the promotion to retry): %w", artifactTag(model, stage), err))
	}
	return nil
}

func newModelPullCmd(g *globals) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "pull NAME#STAGE|NAME@vX.Y.Z -o DIR",
		Short: "Fetch a model's artifact from the artifact store, by stage or version",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			p, err := g.loadProject()
			if err != nil {
				return err
			}
			store, err := g.artifactStore(ctx, p)
			if err != nil {
				return err
			}
			if store == nil {
				return usageError(errors.New("no artifact_store in mlci.yaml: set it to oci-layout:PATH or oci://REGISTRY/REPO"))
			}
			var tag string
			if name, stage, ok := strings.Cut(args[0], "#"); ok {
				tag = artifactTag(name, stage)
			} else if name, version, ok := strings.Cut(args[0], "@"); ok {
				tag = artifactTag(name, version)
			} else {
				return usageError(fmt.Errorf("%q: name a stage (NAME#STAGE) or a version (NAME@vX.Y.Z)", args[0]))
			}
			pulled, err := store.Pull(ctx, tag, out)
			if err != nil {
				if errors.Is(err, artifact.ErrNotFound) {
					return usageError(err)
				}
				return serviceError(err)
			}
			if g.json {
				return g.printJSON(struct {
					Manifest string `json:"manifest"`
					Files    int    `json:"files"`
					Dir      string `json:"dir"`
				}{pulled.Manifest, pulled.Files, out})
			}
			fmt.Fprintf(g.io.Stdout, "pulled %s (%s, %d files) into %s\n", args[0], pulled.Manifest, pulled.Files, out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", ".", "`DIR` to unpack into")
	return cmd
}
