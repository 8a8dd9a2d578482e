package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/mlci/mlci/internal/baseline"
	"github.com/mlci/mlci/internal/ciprovider"
	"github.com/mlci/mlci/internal/project"
	"github.com/mlci/mlci/internal/registry"
)

// baselineFlags choose what the work tree is compared with.
type baselineFlags struct {
	base     string
	baseline []string
}

func (b *baselineFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&b.base, "base", "", "compare with the files at git `REF` (default: merge base with the default branch; on a push to it, the version in the on: merge stage, else HEAD^)")
	f.StringArrayVar(&b.baseline, "baseline", nil, "compare with this `FILE` instead of git (e.g. a downloaded artifact), or with MODEL#STAGE, the metrics recorded for the version in that stage; repeatable")
}

func (b *baselineFlags) selection() baseline.Selection {
	return baseline.Selection{Ref: b.base, Files: b.baseline}
}

// baselineOptions are what resolving a baseline needs of the command
// line and the CI environment. The registry is read from origin, as
// model show reads it.
func (g *globals) baselineOptions(p *project.Project) baseline.Options {
	return baseline.Options{
		WorkDir:      g.workDir,
		TargetBranch: g.ci.TargetBranch(),
		Warn:         g.warn,
		OnMerge:      g.ci.Event() == ciprovider.EventMerge,
		Registry: baseline.RegistryFunc(func(ctx context.Context) (map[string]*registry.Model, error) {
			return g.registryState(ctx, p, &registryFlags{remote: "auto"})
		}),
	}
}

// resolveBaseline resolves the baseline the flags choose; heads are the
// metrics or params files it stands for.
func (g *globals) resolveBaseline(ctx context.Context, p *project.Project, b *baselineFlags, heads []string) (*baseline.Baseline, error) {
	return baseline.Resolve(ctx, p, b.selection(), heads, g.baselineOptions(p))
}
