package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlci/mlci/internal/config"
	"github.com/mlci/mlci/internal/forge"
	"github.com/mlci/mlci/internal/project"
	"github.com/mlci/mlci/internal/promote"
	"github.com/mlci/mlci/internal/registry"
	"github.com/mlci/mlci/internal/rollout"
)

// promoteAttempts bounds the retries when another promotion wins the race
// for the same counter.
const promoteAttempts = 5

func newPromoteCmd(g *globals) *cobra.Command {
	opts := &promoteOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "promote NAME --to STAGE",
		Short: "Assign a registered version to a stage (tag NAME#STAGE#N), checked against the stage's requirements",
		Long: `Assign a version (default: the latest registered) to a stage by creating
the annotated tag NAME#STAGE#N, N one more than the highest counter of the
model, and pushing it. The stage's requires: are checked first: gates (the
version's registration recorded passing gates) and stage:NAME (the version
holds that stage now). approval is granted by the forge's protected
environments. History is never rewritten: a lost race refetches the tags and
retries with the next counter.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.name = args[0]
			return runPromote(cmd.Context(), opts)
		},
	}
	opts.registry.register(cmd)
	cmd.Flags().StringVar(&opts.to, "to", "", "the `STAGE` to assign")
	cmd.Flags().StringVar(&opts.version, "version", "", "the version to assign (default: the latest registered)")
	cmd.MarkFlagRequired("to")
	return cmd
}

// promoteOptions are promote's flags and argument.
type promoteOptions struct {
	*globals
	name     string // the model in mlci.yaml
	registry registryFlags
	to       string // the stage
	version  string // "": the latest registered
}

func runPromote(ctx context.Context, opts *promoteOptions) error {
	p, err := opts.loadProject()
	if err != nil {
		return err
	}
	t, rec, err := opts.promoteVersion(ctx, p, &opts.registry, opts.name, opts.to, opts.version, true)
	if err != nil {
		return err
	}
	return opts.printAssigned(t, rec, "promoted")
}

func newRollbackCmd(g *globals) *cobra.Command {
	opts := &rollbackOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "rollback NAME --stage STAGE",
		Short: "Assign the stage's previous (or --to) version again, with a new tag",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.name = args[0]
			return runRollback(cmd.Context(), opts)
		},
	}
	opts.registry.register(cmd)
	cmd.Flags().StringVar(&opts.stage, "stage", "", "the `STAGE` to roll back")
	cmd.Flags().StringVar(&opts.to, "to", "", "the version to assign (default: the one before the current)")
	cmd.MarkFlagRequired("stage")
	return cmd
}

// rollbackOptions are rollback's flags and argument.
type rollbackOptions struct {
	*globals
	name     string // the model in mlci.yaml
	registry registryFlags
	stage    string
	to       string // "": the version that held the stage before the current one
}

func runRollback(ctx context.Context, opts *rollbackOptions) error {
	p, state, err := opts.projectRegistry(ctx, &opts.registry)
	if err != nil {
		return err
	}
	m := state[opts.name]
	if m == nil || m.Stages[opts.stage] == nil {
		return usageError(fmt.Errorf("%s has no version in %s to roll back from; see mlci model history %s", opts.name, opts.stage, opts.name))
	}
	to := opts.to
	if to == "" {
		to = promote.PreviousHolder(m, opts.stage)
		if to == "" {
			return usageError(fmt.Errorf("%s held only %s in %s; name a version with --to", opts.name, m.Stages[opts.stage].Version, opts.stage))
		}
	}
	// A rollback returns to a version that already passed the stage's
	// requirements once, so they are not checked again.
	t, rec, err := opts.promoteVersion(ctx, p, &opts.registry, opts.name, opts.stage, to, false)
	if err != nil {
		return err
	}
	return opts.printAssigned(t, rec, "rolled back")
}

// promoteVersion assigns version (default: the latest) of model name to
// stage, checking the stage's requirements when check is set.
func (g *globals) promoteVersion(ctx context.Context, p *project.Project, rf *registryFlags, name, stage, version string, check bool) (registry.Tag, registry.Record, error) {
	var none registry.Record
	mc, err := g.model(p, name)
	if err != nil {
		return registry.Tag{}, none, err
	}
	st, err := stageOf(mc, stage)
	if err != nil {
		return registry.Tag{}, none, err
	}
	state, err := g.registryState(ctx, p, rf)
	if err != nil {
		return registry.Tag{}, none, err
	}
	m := state[name]
	if m == nil || len(m.Versions) == 0 {
		return registry.Tag{}, none, usageError(fmt.Errorf("no versions of %s are registered; run mlci model register %s", name, name))
	}
	if err := m.DeprecatedError(); err != nil {
		return registry.Tag{}, none, usageError(err)
	}
	if version == "" {
		version = m.Versions[len(m.Versions)-1].Version
	}
	var v *registry.Version
	for i := range m.Versions {
		if m.Versions[i].Version == version {
			v = &m.Versions[i]
		}
	}
	if v == nil {
		return registry.Tag{}, none, usageError(fmt.Errorf("%s %s is not registered; run mlci model register %s --version %s", name, version, name, version))
	}
	if check {
		if err := promote.Check(m, v, st); err != nil {
			return registry.Tag{}, none, checkFailed(err)
		}
	}
	repo, remote, err := g.registryRepo(ctx, p, rf)
	if err != nil {
		return registry.Tag{}, none, err
	}
	// A canary shares the stage with its holder; a new holder under it
	// would leave the rollout's stable version wrong.
	steps, err := registry.RolloutSteps(ctx, repo.Root, name, stage)
	if err != nil {
		return registry.Tag{}, none, usageError(err)
	}
	if ro := rollout.Current(name, stage, steps); ro.Active {
		return registry.Tag{}, none, usageError(fmt.Errorf("%s %s is rolling out to %s (%s); finish it with mlci rollout advance, or run mlci rollout abort %s --stage %s first",
			name, ro.Canary, stage, rollout.Percent(ro.Share), name, stage))
	}
	rec := registry.Record{Actor: g.ci.Actor(), CI: g.ci.RunURL()}
	if v.Record != nil {
		rec = *v.Record
		rec.Actor, rec.CI = g.ci.Actor(), g.ci.RunURL()
	}
	rec.Version = version
	t, err := registry.Promote(ctx, repo.Root, remote, name, stage, version, rec, promoteAttempts)
	if err != nil {
		return registry.Tag{}, none, registryError(err)
	}
	if err := g.tagStage(ctx, p, name, stage, rec); err != nil {
		return t, rec, err
	}
	if err := g.deploy(ctx, p, t, rec, v.Commit); err != nil {
		return t, rec, err
	}
	return t, rec, nil
}

func (g *globals) printAssigned(t registry.Tag, rec registry.Record, verb string) error {
	if g.json {
		return g.printJSON(struct {
			Tag     string `json:"tag"`
			Model   string `json:"model"`
			Stage   string `json:"stage"`
			Version string `json:"version"`
			Digest  string `json:"artifact_digest,omitempty"`
		}{t.String(), t.Artifact, t.Stage, rec.Version, rec.Artifact})
	}
	fmt.Fprintf(g.io.Stdout, "%s %s %s to %s (%s)\n", verb, t.Artifact, rec.Version, t.Stage, t.String())
	return nil
}

// stageOf finds a stage of the model in mlci.yaml; the error, a usage
// error, lists the stages there are.
func stageOf(m config.Model, name string) (config.Stage, error) {
	var names []string
	for _, s := range m.Stages {
		if s.Name == name {
			return s, nil
		}
		names = append(names, s.Name)
	}
	return config.Stage{}, usageError(fmt.Errorf("model %s has no stage %q (stages: %s)", m.Name, name, strings.Join(names, ", ")))
}

// deploy records the promotion as a deployment on forges that have them,
// after the tag is pushed: a deployment never exists without its tag.
func (g *globals) deploy(ctx context.Context, p *project.Project, t registry.Tag, rec registry.Record, commit string) error {
	return g.recordDeployment(ctx, p, forge.Deployment{
		Environment: t.Stage,
		Ref:         commit,
		Description: fmt.Sprintf("%s %s to %s", t.Artifact, rec.Version, t.Stage),
		Payload: map[string]any{
			"model": t.Artifact, "version": rec.Version, "stage": t.Stage,
			"artifact_digest": rec.Artifact, "oci_manifest": rec.Manifest, "tag": t.String(),
		},
		Production: t.Stage == "production",
	}, "the tag "+t.String())
}

// recordDeployment creates dep on the forge when it records deployments,
// and marks it successful unless the forge holds it for approval. done
// names what was already written, for the error.
func (g *globals) recordDeployment(ctx context.Context, p *project.Project, dep forge.Deployment, done string) error {
	if g.forgeName("auto") == "local" {
		return nil
	}
	f, err := g.selectForge(p, "auto")
	if err != nil {
		return err
	}
	d, ok := f.(forge.Deployer)
	if !ok {
		return nil
	}
	res, err := d.Deploy(ctx, dep)
	if err != nil {
		return serviceError(fmt.Errorf("%s was pushed, but the %s deployment failed (re-run to retry): %w", done, f.Name(), err))
	}
	if res.State == forge.DeployWaiting {
		return nil // the forge holds it for approval
	}
	if err := d.SetDeploymentState(ctx, res.ID, forge.DeploySuccess, g.ci.RunURL()); err != nil {
		return serviceError(fmt.Errorf("deployment %d of %s: %w", res.ID, done, err))
	}
	return nil
}
