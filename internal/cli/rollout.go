package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlci/mlci/internal/config"
	"github.com/mlci/mlci/internal/forge"
	"github.com/mlci/mlci/internal/project"
	"github.com/mlci/mlci/internal/promote"
	"github.com/mlci/mlci/internal/registry"
	"github.com/mlci/mlci/internal/rollout"
	"github.com/mlci/mlci/route"
)

func newRolloutCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rollout",
		Short: "Move a version into a stage a share of traffic at a time, judged by live metrics",
		Long: `A stage with rollout: in mlci.yaml takes a new version in steps: the canary
gets the first share (say 5%), and each mlci rollout advance runs the
analysis (PromQL queries against Prometheus, in the gate grammar) and widens
it to the next step, rolls it back when the analysis fails, or waits when it
is inconclusive or min_interval has not passed. At 100% the version becomes
the stage's holder with an ordinary assignment tag. Every step is an
annotated tag object under refs/mlci/rollouts, pushed atomically, with the
share, the analysis and the actor; GTO never reads those refs, so it sees
the canary in the stage only once it is complete.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newRolloutStartCmd(g), newRolloutAdvanceCmd(g), newRolloutStatusCmd(g), newRolloutAbortCmd(g))
	return cmd
}

// rolloutOptions are the flags every rollout command shares.
type rolloutOptions struct {
	*globals
	name     string // the model in mlci.yaml
	stage    string
	registry registryFlags
	// emit is a folder to write the traffic split into for serving engines.
	emit      string
	emitKinds []string
	// now is the clock min_interval is judged by.
	now func() time.Time
}

func (o *rolloutOptions) register(cmd *cobra.Command, stageFlag string) {
	o.registry.register(cmd)
	cmd.Flags().StringVar(&o.stage, stageFlag, "", "the `STAGE` under rollout")
	cmd.MarkFlagRequired(stageFlag)
}

func (o *rolloutOptions) registerEmit(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.emit, "emit", "", "write the traffic split after this step into `DIR` (KServe, Gateway API HTTPRoute, Argo Rollouts), for a GitOps commit")
	cmd.Flags().StringSliceVar(&o.emitKinds, "emit-kind", nil, "which files --emit writes (default: all of kserve, httproute, argo-rollouts)")
}

func (o *rolloutOptions) clock() time.Time {
	if o.now != nil {
		return o.now()
	}
	return time.Now()
}

// rolloutContext is what every rollout command reads first.
type rolloutContext struct {
	p      *project.Project
	model  config.Model
	stage  config.Stage
	reg    *registry.Model // nil when nothing is registered
	root   string          // the git repository
	remote string
	state  rollout.State
}

func (o *rolloutOptions) load(ctx context.Context) (*rolloutContext, error) {
	p, err := o.loadProject()
	if err != nil {
		return nil, err
	}
	mc, err := o.model(p, o.name)
	if err != nil {
		return nil, err
	}
	st, err := stageOf(mc, o.stage)
	if err != nil {
		return nil, err
	}
	repo, remote, err := o.registryRepo(ctx, p, &o.registry)
	if err != nil {
		return nil, err
	}
	// registryState fetches the tags and the rollout steps from remote.
	state, err := o.registryState(ctx, p, &o.registry)
	if err != nil {
		return nil, err
	}
	steps, err := registry.RolloutSteps(ctx, repo.Root, o.name, o.stage)
	if err != nil {
		return nil, usageError(err)
	}
	return &rolloutContext{p: p, model: mc, stage: st, reg: state[o.name], root: repo.Root, remote: remote,
		state: rollout.Current(o.name, o.stage, steps)}, nil
}

// version finds a registered version of the model.
func (rc *rolloutContext) version(v string) *registry.Version {
	if rc.reg == nil {
		return nil
	}
	for i := range rc.reg.Versions {
		if rc.reg.Versions[i].Version == v {
			return &rc.reg.Versions[i]
		}
	}
	return nil
}

// holder is the stage's holder by GTO's reading, "" when none.
func (rc *rolloutContext) holder() string {
	if rc.reg == nil || rc.reg.Stages[rc.stage.Name] == nil {
		return ""
	}
	return rc.reg.Stages[rc.stage.Name].Version
}

func newRolloutStartCmd(g *globals) *cobra.Command {
	opts := &rolloutOptions{globals: g}
	var version string
	cmd := &cobra.Command{
		Use:   "start NAME --to STAGE [--version V]",
		Short: "Start rolling a version (default: the latest registered) into a stage at its first step",
		Long: `Check the stage's requires: as mlci promote does, then record the first step:
the canary takes the first share of steps: in the stage's rollout:, the
stage's holder keeps the rest. Refused while another rollout of the stage
runs.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.name = args[0]
			return runRolloutStart(cmd.Context(), opts, version)
		},
	}
	opts.register(cmd, "to")
	opts.registerEmit(cmd)
	cmd.Flags().StringVar(&version, "version", "", "the version to roll out (default: the latest registered)")
	return cmd
}

func runRolloutStart(ctx context.Context, opts *rolloutOptions, version string) error {
	rc, err := opts.load(ctx)
	if err != nil {
		return err
	}
	if rc.reg == nil || len(rc.reg.Versions) == 0 {
		return usageError(fmt.Errorf("no versions of %s are registered; run mlci model register %s", opts.name, opts.name))
	}
	if err := rc.reg.DeprecatedError(); err != nil {
		return usageError(err)
	}
	if version == "" {
		version = rc.reg.Versions[len(rc.reg.Versions)-1].Version
	}
	v := rc.version(version)
	if v == nil {
		return usageError(fmt.Errorf("%s %s is not registered; run mlci model register %s --version %s", opts.name, version, opts.name, version))
	}
	if err := promote.Check(rc.reg, v, rc.stage); err != nil {
		return checkFailed(err)
	}
	s, err := rollout.Start(rc.state, rc.stage.Rollout, version, rc.holder())
	if err != nil {
		return usageError(err)
	}
	return opts.record(ctx, rc, s, "")
}

func newRolloutAdvanceCmd(g *globals) *cobra.Command {
	opts := &rolloutOptions{globals: g}
	var prometheus string
	cmd := &cobra.Command{
		Use:   "advance NAME --stage STAGE",
		Short: "Judge the canary by its analysis and widen it, roll it back, or wait",
		Long: `Run the stage's analysis: rules against Prometheus for the canary and the
stable version. When every rule passes and min_interval has passed since the
last step, widen the canary to the next step (at 100% it takes the stage with
an assignment tag). When a rule fails, roll back: the canary's share goes to
0 and the stable version keeps the stage; the step records why, and the
command exits 1. When the analysis is inconclusive (too little traffic, no
series), wait and record nothing. Prometheus unreachable: exit 3, nothing
recorded. Meant for a scheduled job.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.name = args[0]
			return runRolloutAdvance(cmd.Context(), opts, prometheus)
		},
	}
	opts.register(cmd, "stage")
	opts.registerEmit(cmd)
	cmd.Flags().StringVar(&prometheus, "prometheus", "", "the Prometheus HTTP API's base `URL` (default: the rollout's prometheus: in mlci.yaml)")
	return cmd
}

func runRolloutAdvance(ctx context.Context, opts *rolloutOptions, prometheus string) error {
	rc, err := opts.load(ctx)
	if err != nil {
		return err
	}
	r := rc.stage.Rollout
	if r == nil {
		return usageError(fmt.Errorf("stage %s of %s has no rollout: in mlci.yaml", opts.stage, opts.name))
	}
	if !rc.state.Active {
		_, err := rollout.Advance(rc.state, rollout.Pass, "", 0, opts.clock())
		return usageError(err)
	}
	res, err := opts.analyze(ctx, r, prometheus, rc.state)
	if err != nil {
		return err
	}
	d, err := rollout.Advance(rc.state, res.verdict, res.why, r.Interval, opts.clock())
	if err != nil {
		return usageError(err)
	}
	if d.Step == nil {
		return opts.printWait(rc.state, d, res)
	}
	d.Step.Analysis = res.doc
	if err := opts.record(ctx, rc, *d.Step, res.table); err != nil {
		return err
	}
	if d.Step.Action == registry.RolloutRollback {
		return checkFailed(errors.New(d.Reason))
	}
	return nil
}

func newRolloutStatusCmd(g *globals) *cobra.Command {
	opts := &rolloutOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "status NAME --stage STAGE",
		Short: "Show the stage's rollout: versions, share, step and the history of its steps",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.name = args[0]
			return runRolloutStatus(cmd.Context(), opts)
		},
	}
	opts.register(cmd, "stage")
	return cmd
}

func runRolloutStatus(ctx context.Context, opts *rolloutOptions) error {
	rc, err := opts.load(ctx)
	if err != nil {
		return err
	}
	s := rc.state
	if opts.json {
		return opts.printJSON(s)
	}
	w := opts.io.Stdout
	switch {
	case s.Last == nil:
		fmt.Fprintf(w, "%s %s: no rollout yet; holder %s\n", s.Model, s.Stage, orNone(rc.holder()))
		return nil
	case s.Active:
		fmt.Fprintf(w, "%s %s: %s\n", s.Model, s.Stage, s.Describe())
	default:
		fmt.Fprintf(w, "%s %s: no rollout running; holder %s (last rollout: %s %s)\n", s.Model, s.Stage, orNone(rc.holder()), s.Canary, s.Last.Action)
	}
	t := newTable(w)
	t.row("STEP", "ACTION", "CANARY", "SHARE", "WHEN", "BY", "WHY")
	for _, h := range s.History {
		t.row(fmt.Sprint(h.Seq), h.Action, h.Canary, rollout.Percent(h.Share), h.Time.UTC().Format("2006-01-02 15:04"), h.Actor, h.Reason)
	}
	return t.flush()
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func newRolloutAbortCmd(g *globals) *cobra.Command {
	opts := &rolloutOptions{globals: g}
	var why string
	cmd := &cobra.Command{
		Use:   "abort NAME --stage STAGE",
		Short: "Stop the stage's rollout: the canary's share goes to 0 and the stable version keeps the stage",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.name = args[0]
			return runRolloutAbort(cmd.Context(), opts, why)
		},
	}
	opts.register(cmd, "stage")
	opts.registerEmit(cmd)
	cmd.Flags().StringVar(&why, "reason", "", "why, recorded in the step")
	return cmd
}

func runRolloutAbort(ctx context.Context, opts *rolloutOptions, why string) error {
	rc, err := opts.load(ctx)
	if err != nil {
		return err
	}
	s, err := rollout.Abort(rc.state, why)
	if err != nil {
		return usageError(err)
	}
	return opts.record(ctx, rc, s, "")
}

// record publishes step s (with the assignment tag when it completes the
// rollout), then makes it a forge deployment and writes the split for
// serving engines. Losing the race for the step to another run writes
// nothing and is reported, not failed: the other run did the work.
func (o *rolloutOptions) record(ctx context.Context, rc *rolloutContext, s registry.RolloutStep, analysisTable string) error {
	canary := rc.version(s.Canary)
	if canary == nil {
		return usageError(fmt.Errorf("%s %s is not registered any more; abort the rollout", s.Model, s.Canary))
	}
	s.Commit, s.Actor, s.CI = canary.Commit, o.ci.Actor(), o.ci.RunURL()
	plan, err := o.planEmit(rc, s)
	if err != nil {
		return err
	}
	if s.Action == registry.RolloutComplete {
		rec := registry.Record{}
		if canary.Record != nil {
			rec = *canary.Record
		}
		rec.Actor, rec.CI = s.Actor, s.CI
		s, _, err = registry.CompleteRollout(ctx, rc.root, rc.remote, s, rec, promoteAttempts)
		if err == nil {
			rec.Version = s.Canary
			err = o.tagStage(ctx, rc.p, s.Model, s.Stage, rec)
		}
	} else {
		s, err = registry.RecordStep(ctx, rc.root, rc.remote, s)
	}
	if errors.Is(err, registry.ErrStepTaken) {
		if o.json {
			return o.printJSON(struct {
				Action string `json:"action"`
				Reason string `json:"reason"`
			}{"none", err.Error()})
		}
		fmt.Fprintf(o.io.Stdout, "nothing recorded: %v\n", err)
		return nil
	}
	if err != nil {
		return registryError(err)
	}
	if err := o.deployStep(ctx, rc, s); err != nil {
		return err
	}
	files, err := plan.write(rc, s)
	if err != nil {
		return err
	}
	if o.json {
		return o.printJSON(struct {
			registry.RolloutStep
			Files []string `json:"files,omitempty"`
		}{s, files})
	}
	w := o.io.Stdout
	if analysisTable != "" {
		fmt.Fprint(w, analysisTable)
	}
	switch s.Action {
	case registry.RolloutComplete:
		fmt.Fprintf(w, "%s %s now holds %s (100%%, tag %s): %s\n", s.Model, s.Canary, s.Stage, s.Tag, s.Reason)
	case registry.RolloutRollback, registry.RolloutAbort:
		fmt.Fprintf(w, "%s %s: %s %s (0%%); %s keeps %s: %s\n", s.Model, s.Stage, s.Canary, pastTense(s.Action), orNone(s.Stable), s.Stage, s.Reason)
	default:
		fmt.Fprintf(w, "%s %s: %s at %s (step %d/%d): %s\n", s.Model, s.Stage, s.Canary, rollout.Percent(s.Share), s.Step, len(s.Steps), s.Reason)
	}
	for _, f := range files {
		fmt.Fprintf(w, "wrote %s\n", f)
	}
	return nil
}

func pastTense(action string) string {
	switch action {
	case registry.RolloutRollback:
		return "rolled back"
	case registry.RolloutAbort:
		return "aborted"
	}
	return action
}

// printWait reports an advance that recorded nothing.
func (o *rolloutOptions) printWait(s rollout.State, d rollout.Decision, res analysisResult) error {
	if o.json {
		return o.printJSON(struct {
			Action    string          `json:"action"`
			Reason    string          `json:"reason"`
			NotBefore time.Time       `json:"not_before,omitzero"`
			Share     float64         `json:"share"`
			Analysis  json.RawMessage `json:"analysis,omitempty"`
		}{"wait", d.Reason, d.NotBefore, s.Share, res.doc})
	}
	if res.table != "" {
		fmt.Fprint(o.io.Stdout, res.table)
	}
	fmt.Fprintf(o.io.Stdout, "%s %s: %s stays at %s: %s\n", s.Model, s.Stage, s.Canary, rollout.Percent(s.Share), d.Reason)
	return nil
}

// deployStep records the step as a deployment of the stage on forges that
// have them, with the share in its payload.
func (o *rolloutOptions) deployStep(ctx context.Context, rc *rolloutContext, s registry.RolloutStep) error {
	ref, desc := s.Commit, fmt.Sprintf("%s %s at %s of %s (step %d/%d)", s.Model, s.Canary, rollout.Percent(s.Share), s.Stage, s.Step, len(s.Steps))
	switch s.Action {
	case registry.RolloutRollback, registry.RolloutAbort:
		if v := rc.version(s.Stable); v != nil {
			ref = v.Commit
		}
		desc = fmt.Sprintf("%s %s %s; %s at 100%% of %s", s.Model, s.Canary, pastTense(s.Action), s.Stable, s.Stage)
	case registry.RolloutComplete:
		desc = fmt.Sprintf("%s %s at 100%% of %s (%s)", s.Model, s.Canary, s.Stage, s.Tag)
	}
	return o.recordDeployment(ctx, rc.p, forge.Deployment{
		Environment: s.Stage,
		Ref:         ref,
		Description: desc,
		Payload: map[string]any{
			"model": s.Model, "stage": s.Stage, "canary": s.Canary, "stable": s.Stable,
			"share": s.Share, "step": s.Step, "steps": len(s.Steps), "action": s.Action, "rollout_ref": s.Ref,
		},
		Production: s.Stage == "production",
	}, "step "+s.Ref)
}

func newModelResolveCmd(g *globals) *cobra.Command {
	opts := &modelResolveOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "resolve NAME#STAGE --key KEY",
		Short: "Print the version and artifact digest a request key gets from a stage, canary share included",
		Long: `Route a key as serving code does with the Go package github.com/mlci/mlci/route:
bucket = the first 8 bytes of SHA-256("NAME#STAGE@CANARY" + ":" + KEY), as a
big-endian integer, modulo 10000; the key gets the canary when its bucket is
below the canary's share in basis points. Widening the share keeps every key
that had the canary on it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.ref = args[0]
			return runModelResolve(cmd.Context(), opts)
		},
	}
	opts.registry.register(cmd)
	cmd.Flags().StringVar(&opts.key, "key", "", "the request's routing `KEY`, such as a user id")
	cmd.MarkFlagRequired("key")
	return cmd
}

// modelResolveOptions are model resolve's flags and argument.
type modelResolveOptions struct {
	*globals
	ref      string
	key      string
	registry registryFlags
}

func runModelResolve(ctx context.Context, opts *modelResolveOptions) error {
	ref, err := registry.ParseRef(opts.ref)
	if err != nil || ref.Stage == "" {
		return usageError(fmt.Errorf("%q: resolve takes a stage, NAME#STAGE", opts.ref))
	}
	if opts.key == "" {
		return usageError(fmt.Errorf("--key is empty; give the request's routing key, such as a user id"))
	}
	p, state, err := opts.projectRegistry(ctx, &opts.registry)
	if err != nil {
		return err
	}
	repo, _, err := opts.registryRepo(ctx, p, &opts.registry)
	if err != nil {
		return err
	}
	m := state[ref.Artifact]
	if m == nil || m.Stages[ref.Stage] == nil {
		return usageError(fmt.Errorf("no version of %s holds %s; see mlci model show", ref.Artifact, ref.Stage))
	}
	steps, err := registry.RolloutSteps(ctx, repo.Root, ref.Artifact, ref.Stage)
	if err != nil {
		return usageError(err)
	}
	digestOf := func(v string) string {
		for _, x := range m.Versions {
			if x.Version == v && x.Record != nil {
				return x.Record.Artifact
			}
		}
		return ""
	}
	holder := m.Stages[ref.Stage].Version
	split := route.Split{Stable: route.Version{Name: holder, Digest: digestOf(holder)}}
	st := rollout.Current(ref.Artifact, ref.Stage, steps)
	if st.Active {
		basis, err := route.BasisFromPercent(st.Share)
		if err != nil {
			return usageError(fmt.Errorf("rollout step %s: %w", st.Last.Ref, err))
		}
		split.RolloutID = route.RolloutID(ref.Artifact, ref.Stage, st.Canary)
		split.Canary = route.Version{Name: st.Canary, Digest: digestOf(st.Canary)}
		split.Basis = basis
	}
	v, err := split.Resolve(opts.key)
	if err != nil {
		return usageError(err)
	}
	canary := st.Active && v.Name == st.Canary
	if opts.json {
		out := struct {
			Model   string `json:"model"`
			Stage   string `json:"stage"`
			Key     string `json:"key"`
			Version string `json:"version"`
			Digest  string `json:"artifact_digest,omitempty"`
			Canary  bool   `json:"canary"`
			Rollout string `json:"rollout_id,omitempty"`
			Bucket  *int   `json:"bucket,omitempty"`
		}{Model: ref.Artifact, Stage: ref.Stage, Key: opts.key, Version: v.Name, Digest: v.Digest, Canary: canary, Rollout: split.RolloutID}
		if st.Active {
			b := route.Bucket(split.RolloutID, opts.key)
			out.Bucket = &b
		}
		return opts.printJSON(out)
	}
	fmt.Fprintf(opts.io.Stdout, "%s %s\n", v.Name, v.Digest)
	return nil
}
