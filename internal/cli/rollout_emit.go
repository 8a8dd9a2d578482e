package cli

import (
	"fmt"

	"github.com/mlci/mlci/internal/config"
	"github.com/mlci/mlci/internal/registry"
	"github.com/mlci/mlci/internal/rollout/emit"
)

// emitDir is where a step writes the split: --emit, else the rollout's
// emit.dir; "" writes nothing.
func (o *rolloutOptions) emitDir(r *config.Rollout) string {
	if o.emit != "" {
		return o.emit
	}
	if r != nil && r.Emit != nil {
		return r.Emit.Dir
	}
	return ""
}

// emitPlan is what a step will write for serving engines: the folder,
// the kinds and the target; nil when nothing is written.
type emitPlan struct {
	dir    string
	kinds  []emit.Kind
	target emit.Target
}

// planEmit renders the split after step s once, so a split an engine
// refuses stops the step before anything is recorded.
func (o *rolloutOptions) planEmit(rc *rolloutContext, s registry.RolloutStep) (*emitPlan, error) {
	dir := o.emitDir(rc.stage.Rollout)
	if dir == "" {
		return nil, nil
	}
	var cfg config.RolloutEmit
	if e := rc.stage.Rollout.Emit; e != nil {
		cfg = *e
	}
	names := cfg.Kinds
	if len(o.emitKinds) > 0 {
		names = o.emitKinds
	}
	kinds := emit.Kinds()
	if len(names) > 0 {
		kinds = kinds[:0:0]
		for _, k := range names {
			kind, err := emit.ParseKind(k)
			if err != nil {
				return nil, usageError(fmt.Errorf("--emit-kind: %w", err))
			}
			kinds = append(kinds, kind)
		}
	}
	t := emit.Target{Model: s.Model, Stage: s.Stage, Namespace: cfg.Namespace, Format: cfg.Format, Gateway: cfg.Gateway, Port: cfg.Port,
		Stable: o.backend(rc, s.Stable), Canary: o.backend(rc, s.Canary), Percent: s.Share}
	switch s.Action {
	case registry.RolloutComplete:
		// The canary holds the stage now: all traffic to it.
		t.Stable = t.Canary
	case registry.RolloutRollback, registry.RolloutAbort:
		// All traffic back to the stable version.
		t.Canary, t.Percent = t.Stable, 100
	}
	for _, k := range kinds {
		if _, err := emit.Render(t, k); err != nil {
			return nil, usageError(fmt.Errorf("emit %s: nothing recorded: %w", k, err))
		}
	}
	return &emitPlan{dir: dir, kinds: kinds, target: t}, nil
}

// write writes the planned split and returns the files, project-relative.
func (e *emitPlan) write(rc *rolloutContext, s registry.RolloutStep) ([]string, error) {
	if e == nil {
		return nil, nil
	}
	files, err := emit.Write(rc.p.Abs(e.dir), e.target, e.kinds)
	if err != nil {
		return nil, usageError(fmt.Errorf("emit %s: step %s was recorded, but the split was not written (it is written again by the next step): %w", e.dir, s.Ref, err))
	}
	for i, f := range files {
		files[i] = rc.p.Rel(f)
	}
	return files, nil
}

// backend is how a serving engine finds version v: its artifact in the
// project's artifact store by manifest digest. Without a store a version
// has no location an engine could load it from, and the URI stays empty.
func (o *rolloutOptions) backend(rc *rolloutContext, v string) emit.Backend {
	b := emit.Backend{Version: v}
	ver := rc.version(v)
	if ver == nil || ver.Record == nil {
		return b
	}
	b.Digest = ver.Record.Artifact
	if rc.p.Config != nil && rc.p.Config.ArtifactStore != "" && ver.Record.Manifest != "" {
		b.URI = rc.p.Config.ArtifactStore + "@" + ver.Record.Manifest
	}
	return b
}
