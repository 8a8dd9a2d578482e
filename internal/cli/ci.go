package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlci/mlci/internal/baseline"
	"github.com/mlci/mlci/internal/ciprovider"
	"github.com/mlci/mlci/internal/datacheck"
	"github.com/mlci/mlci/internal/forge"
	"github.com/mlci/mlci/internal/gate"
	"github.com/mlci/mlci/internal/gitrepo"
	"github.com/mlci/mlci/internal/metrics"
	"github.com/mlci/mlci/internal/pipeline"
	"github.com/mlci/mlci/internal/project"
	"github.com/mlci/mlci/internal/report"
	"github.com/mlci/mlci/internal/runrecord"
)

// ciResult is the --json document of mlci ci: each step that ran, and the
// overall verdict.
type ciResult struct {
	Pass     bool                   `json:"pass"`
	Data     []datacheck.Result     `json:"data,omitempty"`
	DataDiff []datacheck.DiffResult `json:"data_diff,omitempty"`
	Metrics  json.RawMessage        `json:"metrics,omitempty"`
	Params   json.RawMessage        `json:"params,omitempty"`
	Gates    *gate.Report           `json:"gates,omitempty"`
	Failed   []string               `json:"failed"`
	Report   *postOutput            `json:"report,omitempty"`
	Released []pipeline.Released    `json:"released,omitempty"`
	// Baseline is what the metrics, params and data were compared with.
	Baseline *baseline.Info `json:"baseline,omitempty"`
}

type postOutput struct {
	Forge      string   `json:"forge"`
	CommentURL string   `json:"comment_url,omitempty"`
	Unchanged  bool     `json:"unchanged"`
	Notes      []string `json:"notes,omitempty"`
}

// postFlags choose where and how the report is posted.
type postFlags struct {
	forge      string
	mode       string
	id         string
	failOnGate bool
	history    int
	release    string
	// dataRemote names a remote in mlci.yaml the data check proves holds
	// the locked datasets; "" checks none.
	dataRemote string
}

func (f *postFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.forge, "forge", "auto", "where to post: auto (from the CI environment), "+orList(ciprovider.Names()))
	fl.StringVar(&f.mode, "comment-mode", forge.ModeUpdate, "sticky comment: update, recreate, append or off")
	fl.StringVar(&f.id, "report-id", "default", "`ID` of the sticky comment, for several reports on one pull request")
	fl.IntVar(&f.history, "history", 0, "chart the gated metrics over the last `N` commits of the base that changed the metrics file (0: off)")
}

func (f *postFlags) validate() error {
	switch f.release {
	case "", "auto", "always", "never":
	default:
		return usageError(fmt.Errorf("--release %q: choose auto, always or never", f.release))
	}
	for _, m := range forge.Modes() {
		if f.mode == m {
			return nil
		}
	}
	return usageError(fmt.Errorf("--comment-mode %q: choose one of %s", f.mode, strings.Join(forge.Modes(), ", ")))
}

func newCICmd(g *globals) *cobra.Command {
	opts := &ciOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "ci",
		Short: "Run every check mlci.yaml configures and post the report",
		Long: `Run, in order, what mlci.yaml configures: the data check against mlci.lock,
the data diff against the git base, the metric and params diffs against the
baseline (git base, or --baseline FILE), and the gates; then render the report
and post it: a sticky pull/merge request comment and a commit status on
GitHub or GitLab (detected from the environment), or mlci-report.md with no
CI around. Every step runs even when an earlier one fails, so one run shows
every problem. Exits 1 if a check failed (unless --fail-on-gate=false), 2 on
bad input, 3 when the forge failed after retries.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCI(cmd.Context(), opts)
		},
	}
	opts.base.register(cmd)
	opts.hash.register(cmd, false)
	opts.out.register(cmd, true)
	opts.post.register(cmd)
	cmd.Flags().BoolVar(&opts.post.failOnGate, "fail-on-gate", true, "exit 1 when a gate fails (data changes always fail)")
	cmd.Flags().StringVar(&opts.post.dataRemote, "data-remote", "", "also fail the data check when the remote `NAME` in mlci.yaml lacks a file or tree object of a locked dataset, as data check --remote does (default: $"+DataRemoteEnv+")")
	cmd.Flags().StringVar(&opts.post.release, "release", "auto", "register HEAD and promote it to each model's on: merge stage: auto (on a push to the default branch), always or never")
	opts.registry.register(cmd)
	return cmd
}

// DataRemoteEnv, when set, is --data-remote's value unless the flag is
// given.
const DataRemoteEnv = "MLCI_DATA_REMOTE"

// ciOptions are ci's flags.
type ciOptions struct {
	*globals
	base     baselineFlags
	hash     hashFlags
	out      outputFlags
	post     postFlags
	registry registryFlags
}

func runCI(ctx context.Context, opts *ciOptions) error {
	g := opts.globals
	p, res, in, err := g.prepareReport(ctx, &opts.base, &opts.hash, &opts.post, opts.out.precision, nil)
	if err != nil {
		return err
	}
	posted, err := g.post(ctx, p, in, &opts.post)
	if err != nil {
		return err
	}
	out := ciResult{Pass: res.Pass(), Data: res.Data, DataDiff: res.DataDiff, Gates: res.Gates, Failed: res.Failed, Report: posted, Baseline: res.Baseline.Info()}
	if out.Pass && len(p.Config.Models) > 0 && (opts.post.release == "always" || opts.post.release == "auto" && g.ci.Event() == ciprovider.EventMerge) {
		rel, err := pipeline.Release(ctx, p, res, &releaser{g: g, p: p, base: &opts.base, registry: &opts.registry})
		if err != nil {
			return err
		}
		out.Released = rel
		g.releaseOutputs(rel)
	}
	if g.json {
		out.Metrics, out.Params = rowsJSON(res.Metrics), rowsJSON(res.Params)
		if err := g.printJSON(out); err != nil {
			return err
		}
	} else {
		if err := g.printPipeline(p, res, &opts.out, posted); err != nil {
			return err
		}
		for _, r := range out.Released {
			fmt.Fprintf(g.io.Stdout, "released %s %s to %s (%s, %s)\n", r.Model, r.Version, r.Stage, r.Tag, r.Digest)
		}
	}
	if !out.Pass && (opts.post.failOnGate || slices.Contains(res.Failed, pipeline.StepData)) {
		return checkFailed(fmt.Errorf("%s failed; see the sections above for what to fix", strings.Join(res.Failed, " and ")))
	}
	return nil
}

func rowsJSON(rows []metrics.Row) json.RawMessage {
	if rows == nil {
		return nil
	}
	var b strings.Builder
	if err := metrics.RenderJSON(&b, rows); err != nil {
		return nil
	}
	return json.RawMessage(b.String())
}

// releaseOutputs tells the user's deploy step what was released: the first
// model's name, version, stage and artifact.
func (g *globals) releaseOutputs(rel []pipeline.Released) {
	a := g.ci.Outputs()
	if a == nil || len(rel) == 0 {
		return
	}
	r := rel[0]
	a.SetOutput("model", r.Model)
	a.SetOutput("version", r.Version)
	a.SetOutput("stage", r.Stage)
	a.SetOutput("artifact-digest", r.Digest)
	a.SetOutput("artifact-path", r.Path)
}

// prepareReport runs the pipeline for ci and report and builds what the
// report shows.
func (g *globals) prepareReport(ctx context.Context, bf *baselineFlags, h *hashFlags, pf *postFlags, precision int, appended []string) (*project.Project, *pipeline.Result, report.Input, error) {
	if err := pf.validate(); err != nil {
		return nil, nil, report.Input{}, err
	}
	p, err := g.loadProject()
	if err != nil {
		return nil, nil, report.Input{}, err
	}
	if p.Config == nil {
		return nil, nil, report.Input{}, usageError(errors.New("no mlci.yaml here or above: create one (see README) or pass -C DIR"))
	}
	var dataRemote *pipeline.DataRemote
	if pf.dataRemote == "" {
		// How the GitLab component's data-remote input reaches mlci; any
		// CI can set it.
		pf.dataRemote = g.io.Getenv(DataRemoteEnv)
	}
	if pf.dataRemote != "" {
		store, r, err := g.openRemote(ctx, p, pf.dataRemote)
		if err != nil {
			return nil, nil, report.Input{}, err
		}
		dataRemote = &pipeline.DataRemote{Name: r.Name, Store: store}
	}
	res, err := pipeline.Run(ctx, p, pipeline.Options{
		Select:     bf.selection(),
		Baseline:   g.baselineOptions(p),
		Hash:       h.options(g),
		Waiting:    g.waitForWriter,
		Warn:       g.warn,
		DataRemote: dataRemote,
	})
	if err != nil {
		return nil, nil, report.Input{}, err
	}
	in := res.ReportInput(ctx, g.ci.RunURL(), precision)
	in.History = pipeline.History(ctx, p, res.Baseline, pf.history)
	var note string
	in.Run, note = runInfo(ctx, p, g.io.Getenv)
	if note != "" {
		g.warn(note)
		in.Notes = append(in.Notes, note)
	}
	if _, err := g.writePlots(p, res, &in); err != nil {
		return nil, nil, report.Input{}, err
	}
	if in.Extra, err = g.extraMarkdown(p, appended); err != nil {
		return nil, nil, report.Input{}, err
	}
	return p, res, in, nil
}

// runInfo reads the project's run record, if mlci run record wrote one at
// this commit, and the GPU telemetry mlci-runner keeps beside the hardware
// file. A job on an mlci-runner host without a run record still shows its
// hardware. note says why a record was left out.
func runInfo(ctx context.Context, p *project.Project, getenv func(string) string) (r *report.Run, note string) {
	st, m, note := currentRunRecord(ctx, p)
	if st != nil {
		r = &report.Run{Identity: string(st.Predicate.BuildDefinition.InternalParameters.RunIdentity), Hardware: m.Hardware, Image: string(m.Image), Subjects: map[string]string{}}
		for _, s := range st.Subject {
			for alg, hex := range s.Digest {
				r.Subjects[s.Name] = alg + ":" + hex
			}
		}
	}
	var use *report.GPUUse
	if f := getenv(telemetryFileEnv); f != "" {
		if data, err := os.ReadFile(f); err == nil {
			if u, ok := report.ParseGPUUse(data); ok {
				use = &u
			}
		}
	}
	if r == nil && getenv(runrecord.HardwareFileEnv) != "" {
		r = &report.Run{Hardware: runrecord.HardwareFromEnv(getenv, os.ReadFile)}
	}
	if r != nil {
		r.GPUUse = use
	}
	return r, note
}

// currentRunRecord reads the project's run record when it was made at
// HEAD. A record of another commit (one left in the work tree, or restored
// from a cache) describes another run: it is left out, and note says why.
func currentRunRecord(ctx context.Context, p *project.Project) (st *runrecord.Statement, m runrecord.Materials, note string) {
	s, err := runrecord.Read(filepath.Join(p.Root, project.RunRecordFile))
	if err != nil {
		return nil, m, ""
	}
	if m, err = s.Materials(); err != nil {
		return nil, m, ""
	}
	head := ""
	if repo, err := gitrepo.Open(ctx, p.Root); err == nil {
		head, _ = repo.Verify(ctx, "HEAD")
	}
	if m.Commit != head {
		at, now := "commit "+gitrepo.ShortRev(m.Commit), "HEAD ("+gitrepo.ShortRev(head)+")"
		if m.Commit == "" {
			at = "no commit"
		}
		if head == "" {
			now = "this work tree, which is not in git"
		}
		return nil, m, fmt.Sprintf("%s was recorded at %s, not at %s, so its run identity and digests are left out; run mlci run record again in this commit's job", project.RunRecordFile, at, now)
	}
	return &s, m, ""
}

// telemetryFileEnv names the GPU telemetry summary mlci-runner writes for
// the job.
const telemetryFileEnv = "MLCI_TELEMETRY_FILE"

// printPipeline prints each step's section for a terminal or CI log.
func (g *globals) printPipeline(p *project.Project, pl *pipeline.Result, out *outputFlags, posted *postOutput) error {
	w := g.io.Stdout
	section := func(title string) {
		if out.md {
			fmt.Fprintf(w, "\n### %s\n\n", title)
		} else {
			fmt.Fprintf(w, "\n== %s ==\n", title)
		}
	}
	if pl.DataChecked {
		section("data")
		printCheck(g, pl.Data, 20)
		if pl.DataDiff != nil {
			fmt.Fprintln(w)
			printDiff(g, baseInfo{Name: pl.Baseline.Name}, pl.DataDiff)
		}
	}
	if pl.Metrics != nil {
		section("metrics: compared with " + pl.Baseline.Name)
		if err := g.renderRows(pl.Metrics, out.options(), out.md); err != nil {
			return err
		}
	}
	if changed := countChanged(pl.Params); changed > 0 {
		section("params: compared with " + pl.Baseline.Name)
		if err := g.renderRows(pl.Params, out.options(), out.md); err != nil {
			return err
		}
	}
	if pl.Gates != nil {
		section("gates")
		if err := g.printGates(w, p, pl.Gates, out); err != nil {
			return err
		}
	}
	if posted != nil {
		fmt.Fprintln(w)
		printPosted(w, posted)
	}
	verdict := "PASS"
	if len(pl.Failed) > 0 {
		verdict = "FAIL (" + strings.Join(pl.Failed, ", ") + ")"
	}
	fmt.Fprintf(w, "\nmlci: %s\n", verdict)
	return nil
}

func countChanged(rows []metrics.Row) int {
	n := 0
	for _, r := range rows {
		if r.Status != metrics.StatusUnchanged {
			n++
		}
	}
	return n
}
