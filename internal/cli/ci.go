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

	"github.com/mlci/mlci/internal/ciprovider"
	"github.com/mlci/mlci/internal/forge"
	"github.com/mlci/mlci/internal/gate"
	"github.com/mlci/mlci/internal/gitrepo"
	"github.com/mlci/mlci/internal/metrics"
	"github.com/mlci/mlci/internal/report"
	"github.com/mlci/mlci/internal/runrecord"
)

// ciResult is the --json document of mlci ci: each step that ran, and the
// overall verdict.
type ciResult struct {
	Pass     bool            `json:"pass"`
	Data     []checkResult   `json:"data,omitempty"`
	DataDiff []diffResult    `json:"data_diff,omitempty"`
	Metrics  json.RawMessage `json:"metrics,omitempty"`
	Params   json.RawMessage `json:"params,omitempty"`
	Gates    *gate.Report    `json:"gates,omitempty"`
	Failed   []string        `json:"failed"`
	Report   *postOutput     `json:"report,omitempty"`
	Released []released      `json:"released,omitempty"`
	// Baseline is what the metrics, params and data were compared with.
	Baseline *baselineInfo `json:"baseline,omitempty"`
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
	var bf baselineFlags
	var h hashFlags
	var out outputFlags
	var pf postFlags
	var rf registryFlags
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
			ctx := cmd.Context()
			p, pl, in, err := g.prepareReport(ctx, &bf, &h, &pf, out.precision)
			if err != nil {
				return err
			}
			posted, err := g.post(ctx, p, in, &pf)
			if err != nil {
				return err
			}
			res := ciResult{Pass: len(pl.failed) == 0, Data: pl.data, DataDiff: pl.dataDiff, Gates: pl.gates, Failed: pl.failed, Report: posted, Baseline: pl.baseline.info()}
			if res.Pass && len(p.Config.Models) > 0 && (pf.release == "always" || pf.release == "auto" && g.ci.Event() == ciprovider.EventMerge) {
				rel, err := g.release(ctx, p, pl, &bf, &rf)
				if err != nil {
					return err
				}
				res.Released = rel
				g.releaseOutputs(rel)
			}
			if g.json {
				res.Metrics, res.Params = rowsJSON(pl.metrics), rowsJSON(pl.params)
				if err := g.printJSON(res); err != nil {
					return err
				}
			} else {
				if err := g.printPipeline(p, pl, &out, posted); err != nil {
					return err
				}
				for _, r := range res.Released {
					fmt.Fprintf(g.io.Stdout, "released %s %s to %s (%s, %s)\n", r.Model, r.Version, r.Stage, r.Tag, r.Digest)
				}
			}
			if !res.Pass && (pf.failOnGate || slices.Contains(pl.failed, "data")) {
				return checkFailed(fmt.Errorf("%s failed; see the sections above for what to fix", strings.Join(pl.failed, " and ")))
			}
			return nil
		},
	}
	bf.register(cmd)
	h.register(cmd, false)
	out.register(cmd, true)
	pf.register(cmd)
	cmd.Flags().BoolVar(&pf.failOnGate, "fail-on-gate", true, "exit 1 when a gate fails (data changes always fail)")
	cmd.Flags().StringVar(&pf.release, "release", "auto", "register HEAD and promote it to each model's on: merge stage: auto (on a push to the default branch), always or never")
	rf.register(cmd)
	return cmd
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
func (g *globals) releaseOutputs(rel []released) {
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
func (g *globals) prepareReport(ctx context.Context, bf *baselineFlags, h *hashFlags, pf *postFlags, precision int) (*project, *pipeline, report.Input, error) {
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
	pl, err := g.runPipeline(ctx, p, bf, h)
	if err != nil {
		return nil, nil, report.Input{}, err
	}
	in := g.reportInput(ctx, pl, precision)
	in.History = g.history(ctx, p, pl, pf.history)
	var note string
	in.Run, note = runInfo(ctx, p, g.io.Getenv)
	if note != "" {
		g.warn(note)
		in.Notes = append(in.Notes, note)
	}
	return p, pl, in, nil
}

// runInfo reads the project's run record, if mlci run record wrote one at
// this commit, and the GPU telemetry mlci-runner keeps beside the hardware
// file. A job on an mlci-runner host without a run record still shows its
// hardware. note says why a record was left out.
func runInfo(ctx context.Context, p *project, getenv func(string) string) (r *report.Run, note string) {
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
func currentRunRecord(ctx context.Context, p *project) (st *runrecord.Statement, m runrecord.Materials, note string) {
	s, err := runrecord.Read(filepath.Join(p.Root, RunRecordFile))
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
		at, now := "commit "+shortRev(m.Commit), "HEAD ("+shortRev(head)+")"
		if m.Commit == "" {
			at = "no commit"
		}
		if head == "" {
			now = "this work tree, which is not in git"
		}
		return nil, m, fmt.Sprintf("%s was recorded at %s, not at %s, so its run identity and digests are left out; run mlci run record again in this commit's job", RunRecordFile, at, now)
	}
	return &s, m, ""
}

// telemetryFileEnv names the GPU telemetry summary mlci-runner writes for
// the job.
const telemetryFileEnv = "MLCI_TELEMETRY_FILE"

// printPipeline prints each step's section for a terminal or CI log.
func (g *globals) printPipeline(p *project, pl *pipeline, out *outputFlags, posted *postOutput) error {
	w := g.io.Stdout
	section := func(title string) {
		if out.md {
			fmt.Fprintf(w, "\n### %s\n\n", title)
		} else {
			fmt.Fprintf(w, "\n== %s ==\n", title)
		}
	}
	if pl.dataChecked {
		section("data")
		printCheck(g, pl.data, 20)
		if pl.dataDiff != nil {
			fmt.Fprintln(w)
			printDiff(g, baseInfo{Name: pl.baseline.Name}, pl.dataDiff)
		}
	}
	if pl.metrics != nil {
		section("metrics: compared with " + pl.baseline.Name)
		if err := g.renderRows(pl.metrics, out.options(), out.md); err != nil {
			return err
		}
	}
	if changed := countChanged(pl.params); changed > 0 {
		section("params: compared with " + pl.baseline.Name)
		if err := g.renderRows(pl.params, out.options(), out.md); err != nil {
			return err
		}
	}
	if pl.gates != nil {
		section("gates")
		if err := g.printGates(w, p, pl.gates, out); err != nil {
			return err
		}
	}
	if posted != nil {
		fmt.Fprintln(w)
		printPosted(w, posted)
	}
	verdict := "PASS"
	if len(pl.failed) > 0 {
		verdict = "FAIL (" + strings.Join(pl.failed, ", ") + ")"
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
