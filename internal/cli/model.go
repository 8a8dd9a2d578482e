package cli

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlci/mlci/internal/config"
	"github.com/mlci/mlci/internal/datahash"
	"github.com/mlci/mlci/internal/digest"
	"github.com/mlci/mlci/internal/gate"
	"github.com/mlci/mlci/internal/gitrepo"
	"github.com/mlci/mlci/internal/lockfile"
	"github.com/mlci/mlci/internal/metrics"
	"github.com/mlci/mlci/internal/project"
	"github.com/mlci/mlci/internal/registry"
	"github.com/mlci/mlci/internal/rollout"
	"github.com/mlci/mlci/internal/suggest"
)

// registryFlags say where the registry's tags are shared.
type registryFlags struct {
	remote string
}

func (r *registryFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&r.remote, "remote", "auto", `git remote the tags are fetched from and pushed to ("auto": origin when it exists; "": this clone only)`)
}

// registryRepo opens the git repository and resolves the remote.
func (g *globals) registryRepo(ctx context.Context, p *project.Project, rf *registryFlags) (*gitrepo.Repo, string, error) {
	repo, err := gitrepo.Open(ctx, p.Root)
	if err != nil {
		return nil, "", usageError(fmt.Errorf("the model registry lives in git tags: %w", err))
	}
	remote := rf.remote
	if remote == "auto" {
		remote = ""
		if _, ok := repo.Verify(ctx, "HEAD"); ok && repo.HasRemote(ctx, "origin") {
			remote = "origin"
		}
	}
	return repo, remote, nil
}

// model finds a configured model by name, suggesting close names.
func (g *globals) model(p *project.Project, name string) (config.Model, error) {
	if p.Config == nil {
		return config.Model{}, usageError(errors.New("no mlci.yaml: list models under models: in it"))
	}
	var names []string
	for _, m := range p.Config.Models {
		if m.Name == name {
			return m, nil
		}
		names = append(names, m.Name)
	}
	msg := fmt.Sprintf("no model %q in %s", name, p.Rel(p.Config.File))
	if c := suggest.Closest(name, names, 1); len(c) > 0 {
		msg += fmt.Sprintf("; did you mean %q?", c[0])
	} else if len(names) > 0 {
		msg += fmt.Sprintf(" (models: %s)", strings.Join(names, ", "))
	}
	return config.Model{}, usageError(errors.New(msg))
}

func newModelCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "model",
		Short: "Register model versions and show the registry (annotated git tags in GTO's grammar)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newModelRegisterCmd(g), newModelShowCmd(g), newModelHistoryCmd(g), newModelPullCmd(g), newModelResolveCmd(g))
	return cmd
}

func newModelRegisterCmd(g *globals) *cobra.Command {
	opts := &modelRegisterOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "register NAME",
		Short: "Register the model's artifact at HEAD as a new version (tag NAME@vX.Y.Z)",
		Long: `Hash the model's artifact and create the annotated tag NAME@vX.Y.Z at HEAD,
carrying a record of the artifact digest, the metrics, the datasets' roots,
the gate verdict (when gates are configured), the run identity (when a run
record exists), and who registered it from which CI run. The version is
--version, or the latest bumped by --bump (default: the model's bump:, else
patch); the first is v0.0.1. The tag is pushed to the remote unless
--remote "".`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.name = args[0]
			return runModelRegister(cmd.Context(), opts)
		},
	}
	opts.registry.register(cmd)
	opts.base.register(cmd)
	cmd.Flags().StringVar(&opts.version, "version", "", "the version to register, e.g. v1.2.0")
	cmd.Flags().StringVar(&opts.bump, "bump", "", "bump the latest version: major, minor or patch")
	return cmd
}

// modelRegisterOptions are model register's flags and argument.
type modelRegisterOptions struct {
	*globals
	name     string // the model in mlci.yaml
	registry registryFlags
	base     baselineFlags // what the gates, when configured, compare with
	version  string        // "": the latest bumped by bump
	bump     string        // "": the model's bump:, else patch
}

func runModelRegister(ctx context.Context, opts *modelRegisterOptions) error {
	p, err := opts.loadProject()
	if err != nil {
		return err
	}
	m, err := opts.model(p, opts.name)
	if err != nil {
		return err
	}
	repo, remote, err := opts.registryRepo(ctx, p, &opts.registry)
	if err != nil {
		return err
	}
	if err := cleanTree(ctx, repo); err != nil {
		return err
	}
	version := opts.version
	if version == "" {
		// From the remote's tags: a checkout's are lightweight, and
		// a stale set would bump from the wrong version.
		state, err := opts.registryState(ctx, p, &opts.registry)
		if err != nil {
			return err
		}
		latest := ""
		if st := state[m.Name]; st != nil && len(st.Versions) > 0 {
			latest = st.Versions[len(st.Versions)-1].Version
		}
		bump := opts.bump
		if bump == "" {
			bump = m.Bump
		}
		if version, err = registry.NextVersion(latest, bump); err != nil {
			return usageError(err)
		}
	}
	rec, prof, err := opts.versionRecord(ctx, p, m, &opts.base, nil)
	if err != nil {
		return err
	}
	if err := opts.storeVersion(ctx, p, m, version, &rec, prof); err != nil {
		return err
	}
	head, _ := repo.Verify(ctx, "HEAD")
	t, err := registry.Register(ctx, repo.Root, remote, m.Name, version, head, rec)
	if err != nil {
		return registryError(err)
	}
	if opts.json {
		return opts.printJSON(struct {
			Tag    string          `json:"tag"`
			Record registry.Record `json:"record"`
		}{t.String(), rec})
	}
	fmt.Fprintf(opts.io.Stdout, "registered %s %s (%s) at %s\n", m.Name, version, rec.Artifact, gitrepo.ShortRev(head))
	return nil
}

// cleanTree refuses a dirty work tree: a version must be exactly a commit.
func cleanTree(ctx context.Context, repo *gitrepo.Repo) error {
	dirty, err := repo.Dirty(ctx)
	if err != nil {
		return usageError(err)
	}
	if len(dirty) > 0 {
		return usageError(fmt.Errorf("the work tree has uncommitted changes (%s); commit them first, so the version is exactly a commit", strings.Join(dirty[:min(3, len(dirty))], ", ")))
	}
	return nil
}

// versionRecord gathers what a registration tag carries, and the profile
// storeVersion keeps beside it (built here, so that bad reference data
// fails the registration before anything is pushed). gates, when the
// caller already judged them, saves judging them again.
func (g *globals) versionRecord(ctx context.Context, p *project.Project, m config.Model, bf *baselineFlags, gates *gate.Report) (registry.Record, []byte, error) {
	rec := registry.Record{Path: m.Artifact, Time: time.Now().UTC(), Actor: g.ci.Actor(), CI: g.ci.RunURL()}
	res, err := datahash.Hash(ctx, p.Abs(m.Artifact), datahash.Options{Algorithm: digest.SHA256, MaxEntries: datahash.NoEntries})
	if err != nil {
		return rec, nil, usageError(fmt.Errorf("model %s: artifact: %w", m.Name, err))
	}
	rec.Artifact = string(res.Root)
	if len(p.Config.Metrics) > 0 {
		files, err := p.ReadMetrics(p.Config.Metrics)
		if err != nil {
			return rec, nil, err
		}
		rec.Metrics = map[string]float64{}
		for _, f := range files {
			for k, v := range f.Values {
				if v.Kind == metrics.Number {
					rec.Metrics[k] = v.Num
				}
			}
		}
	}
	if l, err := lockfile.Read(p.LockPath()); err == nil {
		rec.DataRoots = map[string]string{}
		for name, ds := range l.Datasets {
			rec.DataRoots[name] = string(ds.Digest)
		}
	}
	if len(p.Config.Gates) > 0 {
		r := gates
		if r == nil {
			if r, err = g.runGates(ctx, p, bf); err != nil {
				return rec, nil, err
			}
		}
		rec.Gate = "fail"
		if r.Pass {
			rec.Gate = "pass"
		}
	}
	prof, err := g.modelProfile(ctx, p, m)
	if err != nil {
		return rec, nil, err
	}
	if st, _, note := currentRunRecord(ctx, p); st != nil {
		rec.RunID = string(st.Predicate.BuildDefinition.InternalParameters.RunIdentity)
	} else if note != "" {
		g.warn(note)
	}
	return rec, prof, nil
}

func registryError(err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	if errors.Is(err, registry.ErrConflict) {
		return serviceError(err)
	}
	return usageError(err)
}

// modelRow is one model in `model show`; its JSON keys, like the
// assignments', are snake_case as in the rest of mlci's JSON.
type modelRow struct {
	Model      string                          `json:"model"`
	Latest     string                          `json:"latest"`
	Digest     string                          `json:"digest,omitempty"`
	Deprecated bool                            `json:"deprecated"`
	Stages     map[string]*registry.Assignment `json:"stages"`
	// Rollouts are the stages with a canary now.
	Rollouts map[string]rollout.State `json:"rollouts,omitempty"`
}

func newModelShowCmd(g *globals) *cobra.Command {
	opts := &modelShowOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "show [NAME]",
		Short: "Models × stages: the version in each stage, its digest, date and actor",
		Long: `Models × stages, as gto show reads the tags: a stage is held by the version
whose assignment is the latest by tag date; an unassigned or deregistered
version gives the stage back to the one before; deprecated models are left
out unless --deprecated.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.names = args
			return runModelShow(cmd.Context(), opts)
		},
	}
	opts.registry.register(cmd)
	cmd.Flags().BoolVar(&opts.deprecated, "deprecated", false, "include deprecated models")
	return cmd
}

// modelShowOptions are model show's flags and argument.
type modelShowOptions struct {
	*globals
	// names holds the one model to show, or none for every model; a
	// slice, as an empty NAME is still a name (and matches no model).
	names      []string
	registry   registryFlags
	deprecated bool
}

func runModelShow(ctx context.Context, opts *modelShowOptions) error {
	p, state, err := opts.projectRegistry(ctx, &opts.registry)
	if err != nil {
		return err
	}
	repo, _, err := opts.registryRepo(ctx, p, &opts.registry)
	if err != nil {
		return err
	}
	one := len(opts.names) == 1
	var rows []modelRow
	for _, name := range slices.Sorted(maps.Keys(state)) {
		if one && name != opts.names[0] {
			continue
		}
		m := state[name]
		for _, w := range m.Warnings {
			opts.warn(w)
		}
		if m.Deprecated && !opts.deprecated {
			if one {
				return usageError(fmt.Errorf("%w; --deprecated shows it", m.DeprecatedError()))
			}
			continue
		}
		row := modelRow{Model: name, Stages: m.Stages, Deprecated: m.Deprecated}
		if row.Rollouts, err = activeRollouts(ctx, repo.Root, m); err != nil {
			return usageError(err)
		}
		if n := len(m.Versions); n > 0 {
			row.Latest = m.Versions[n-1].Version
			if r := m.Versions[n-1].Record; r != nil {
				row.Digest = r.Artifact
			}
		}
		rows = append(rows, row)
	}
	if one && len(rows) == 0 {
		return usageError(fmt.Errorf("no versions of %s are registered; run mlci model register %s", opts.names[0], opts.names[0]))
	}
	if opts.json {
		return opts.printJSON(rows)
	}
	t := newTable(opts.io.Stdout)
	t.row("MODEL", "STAGE", "VERSION", "DIGEST", "SINCE", "BY")
	for _, r := range rows {
		name := r.Model
		if r.Deprecated {
			name += " (deprecated)"
		}
		t.row(name, "(latest)", r.Latest, shortDigest(r.Digest), "", "")
		for _, s := range slices.Sorted(maps.Keys(r.Stages)) {
			a := r.Stages[s]
			d, by := "", ""
			if a.Record != nil {
				d, by = a.Record.Artifact, a.Record.Actor
			}
			version := a.Version
			if !a.Registered {
				version = "commit " + gitrepo.ShortRev(a.Commit) // GTO names it by the commit
			}
			if ro, ok := r.Rollouts[s]; ok {
				version = ro.Describe()
			}
			t.row("", s, version, shortDigest(d), a.Time.UTC().Format("2006-01-02 15:04"), by)
		}
	}
	return t.flush()
}

func newModelHistoryCmd(g *globals) *cobra.Command {
	opts := &modelHistoryOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "history NAME",
		Short: "Every registration and stage assignment of a model, oldest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.name = args[0]
			return runModelHistory(cmd.Context(), opts)
		},
	}
	opts.registry.register(cmd)
	return cmd
}

// modelHistoryOptions are model history's flags and argument.
type modelHistoryOptions struct {
	*globals
	name     string
	registry registryFlags
}

func runModelHistory(ctx context.Context, opts *modelHistoryOptions) error {
	_, state, err := opts.projectRegistry(ctx, &opts.registry)
	if err != nil {
		return err
	}
	m := state[opts.name]
	if m == nil {
		return usageError(fmt.Errorf("no registry events for %s; run mlci model register %s", opts.name, opts.name))
	}
	if opts.json {
		return opts.printJSON(m.History)
	}
	t := newTable(opts.io.Stdout)
	t.row("TIME", "EVENT", "TAG", "VERSION", "COMMIT", "BY")
	for _, e := range m.History {
		t.row(e.Time.UTC().Format("2006-01-02 15:04:05"), e.Kind.String(), e.Name, e.Version, gitrepo.ShortRev(e.Commit), e.Tagger)
	}
	return t.flush()
}

// projectRegistry loads the project and replays its registry: what every
// command that only reads the registry starts with.
func (g *globals) projectRegistry(ctx context.Context, rf *registryFlags) (*project.Project, map[string]*registry.Model, error) {
	p, err := g.loadProject()
	if err != nil {
		return nil, nil, err
	}
	state, err := g.registryState(ctx, p, rf)
	return p, state, err
}

// activeRollouts reads the stages of m that have a canary now. A rollout
// shares a stage with its holder, so only held stages are read.
func activeRollouts(ctx context.Context, dir string, m *registry.Model) (map[string]rollout.State, error) {
	var out map[string]rollout.State
	for stage := range m.Stages {
		steps, err := registry.RolloutSteps(ctx, dir, m.Name, stage)
		if err != nil {
			return nil, err
		}
		if st := rollout.Current(m.Name, stage, steps); st.Active {
			if out == nil {
				out = map[string]rollout.State{}
			}
			out[stage] = st
		}
	}
	return out, nil
}

// registryState refetches the tags (checkouts make them lightweight, which
// the registry ignores) and replays them.
func (g *globals) registryState(ctx context.Context, p *project.Project, rf *registryFlags) (map[string]*registry.Model, error) {
	repo, remote, err := g.registryRepo(ctx, p, rf)
	if err != nil {
		return nil, err
	}
	if remote != "" && !g.tagsFetched[repo.Root] {
		// The rollout steps come along, so a stage under rollout reads as
		// one everywhere.
		if err := registry.FetchRollouts(ctx, repo.Root, remote); err != nil {
			return nil, serviceError(err)
		}
		if g.tagsFetched == nil {
			g.tagsFetched = map[string]bool{}
		}
		g.tagsFetched[repo.Root] = true
	}
	events, err := registry.Events(ctx, repo.Root)
	if err != nil {
		return nil, usageError(err)
	}
	return registry.State(events), nil
}

func shortDigest(d string) string {
	if d == "" {
		return ""
	}
	return digest.Digest(d).Short()
}
