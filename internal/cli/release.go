package cli

import (
	"context"

	"github.com/mlci/mlci/internal/config"
	"github.com/mlci/mlci/internal/registry"
)

// released is one model version that a merge registered and promoted.
type released struct {
	Model   string `json:"model"`
	Version string `json:"version"`
	Stage   string `json:"stage"`
	Tag     string `json:"tag"`
	Digest  string `json:"artifact_digest"`
	Path    string `json:"artifact_path"`
}

// release registers HEAD as the next version of every model that has an
// on: merge stage and promotes it there, when the checks passed and the
// stage's requirements allow. HEAD already registered is not registered
// again, so a re-run of the job is harmless.
func (g *globals) release(ctx context.Context, p *project, pl *pipeline, bf *baselineFlags, rf *registryFlags) ([]released, error) {
	var out []released
	for _, m := range p.Config.Models {
		stage := ""
		for _, s := range m.Stages {
			if s.On == "merge" {
				stage = s.Name
			}
		}
		if stage == "" {
			continue
		}
		r, err := g.releaseOne(ctx, p, pl, bf, rf, m, stage)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

func (g *globals) releaseOne(ctx context.Context, p *project, pl *pipeline, bf *baselineFlags, rf *registryFlags, m config.Model, stage string) (released, error) {
	repo, remote, err := g.registryRepo(ctx, p, rf)
	if err != nil {
		return released{}, err
	}
	head, _ := repo.Verify(ctx, "HEAD")
	state, err := g.registryState(ctx, p, rf)
	if err != nil {
		return released{}, err
	}
	version, latest := "", ""
	if st := state[m.Name]; st != nil {
		for _, v := range st.Versions {
			if v.Commit == head {
				version = v.Version
			}
			latest = v.Version
		}
	}
	if version == "" {
		if err := cleanTree(ctx, repo); err != nil {
			return released{}, err
		}
		if version, err = registry.NextVersion(latest, m.Bump); err != nil {
			return released{}, usageError(err)
		}
		rec, err := g.versionRecord(ctx, p, m, bf, pl.gates)
		if err != nil {
			return released{}, err
		}
		if err := g.pushArtifact(ctx, p, m, version, &rec); err != nil {
			return released{}, err
		}
		if _, err := registry.Register(ctx, repo.Root, remote, m.Name, version, head, rec); err != nil {
			return released{}, registryError(err)
		}
	}
	if st := state[m.Name]; st != nil {
		if a := st.Stages[stage]; a != nil && a.Version == version {
			// A re-run of the same merge: the version is in place already.
			r := released{Model: m.Name, Version: version, Stage: stage, Tag: a.Tag, Path: m.Artifact}
			if a.Record != nil {
				r.Digest = a.Record.Artifact
			}
			return r, nil
		}
	}
	t, prec, err := g.promoteVersion(ctx, p, rf, m.Name, stage, version, true)
	if err != nil {
		return released{}, err
	}
	r := released{Model: m.Name, Version: version, Stage: stage, Tag: t.String(), Digest: prec.Artifact, Path: m.Artifact}
	return r, nil
}
