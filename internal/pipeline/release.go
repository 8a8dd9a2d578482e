package pipeline

import (
	"context"

	"github.com/mlci/mlci/internal/config"
	"github.com/mlci/mlci/internal/exitcode"
	"github.com/mlci/mlci/internal/gate"
	"github.com/mlci/mlci/internal/project"
	"github.com/mlci/mlci/internal/registry"
)

// Released is one model version that a merge registered and promoted.
type Released struct {
	Model   string `json:"model"`
	Version string `json:"version"`
	Stage   string `json:"stage"`
	Tag     string `json:"tag"`
	Digest  string `json:"artifact_digest"`
	Path    string `json:"artifact_path"`
}

// Registry is what a release needs of the model registry, the artifact
// store and the forge. Its errors carry their exit codes.
type Registry interface {
	// Head is the commit a release registers.
	Head(ctx context.Context) (string, error)
	// State is the registry's replayed state.
	State(ctx context.Context) (map[string]*registry.Model, error)
	// Register stores m's artifact and records Head as version of m,
	// with gates, the verdict the run already reached (nil: none). It
	// refuses a work tree with uncommitted changes: a version is exactly
	// a commit.
	Register(ctx context.Context, m config.Model, version string, gates *gate.Report) error
	// Promote assigns version of m to stage once the stage's
	// requirements allow it.
	Promote(ctx context.Context, m config.Model, stage, version string) (registry.Tag, registry.Record, error)
}

// Release registers HEAD as the next version of every model that has an
// on: merge stage and promotes it there, when the checks passed and the
// stage's requirements allow. HEAD already registered is not registered
// again, so a re-run of the job is harmless. It returns what was released
// before any error.
func Release(ctx context.Context, p *project.Project, res *Result, reg Registry) ([]Released, error) {
	var out []Released
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
		r, err := releaseOne(ctx, res, reg, m, stage)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

func releaseOne(ctx context.Context, res *Result, reg Registry, m config.Model, stage string) (Released, error) {
	head, err := reg.Head(ctx)
	if err != nil {
		return Released{}, err
	}
	state, err := reg.State(ctx)
	if err != nil {
		return Released{}, err
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
		if version, err = registry.NextVersion(latest, m.Bump); err != nil {
			return Released{}, exitcode.With(exitcode.Usage, err)
		}
		if err := reg.Register(ctx, m, version, res.Gates); err != nil {
			return Released{}, err
		}
	}
	if st := state[m.Name]; st != nil {
		if a := st.Stages[stage]; a != nil && a.Version == version {
			// A re-run of the same merge: the version is in place already.
			r := Released{Model: m.Name, Version: version, Stage: stage, Tag: a.Tag, Path: m.Artifact}
			if a.Record != nil {
				r.Digest = a.Record.Artifact
			}
			return r, nil
		}
	}
	t, rec, err := reg.Promote(ctx, m, stage, version)
	if err != nil {
		return Released{}, err
	}
	return Released{Model: m.Name, Version: version, Stage: stage, Tag: t.String(), Digest: rec.Artifact, Path: m.Artifact}, nil
}
