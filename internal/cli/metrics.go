package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/mlci/mlci/internal/gate"
	"github.com/mlci/mlci/internal/metrics"
	"github.com/mlci/mlci/internal/pipeline"
	"github.com/mlci/mlci/internal/project"
)

// outputFlags pick the rendering of a table.
type outputFlags struct {
	md        bool
	all       bool
	precision int
}

func (o *outputFlags) register(cmd *cobra.Command, withAll bool) {
	f := cmd.Flags()
	f.BoolVar(&o.md, "md", false, "print GitHub/GitLab markdown")
	if withAll {
		f.BoolVar(&o.all, "all", false, "show unchanged rows too")
	}
	// Metric tables round as dvc metrics does; gate tables, mlci's own,
	// keep significant digits.
	usage := "round metrics to `N` decimal places, as dvc metrics does"
	switch cmd.Name() {
	case "gate":
		usage = "significant `DIGITS` for numbers"
	case "ci":
		usage += "; the gate table shows N significant digits"
	}
	f.IntVar(&o.precision, "precision", 5, usage)
}

func (o *outputFlags) options() metrics.RenderOptions {
	return metrics.RenderOptions{All: o.all, Precision: o.precision}
}

func newMetricsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "metrics",
		Short: "Show metrics and compare them with a baseline",
		Long: `Metrics files (JSON or YAML, read as DVC reads them; CSV/TSV, mlci's own)
are listed under metrics: in mlci.yaml. Nested keys are flattened with ".";
lists and nulls are no metrics, as in DVC. Numbers are shown as dvc metrics
shows them: rounded to --precision decimal places.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	opts := &metricsShowOptions{globals: g}
	show := &cobra.Command{
		Use:   "show",
		Short: "Print every metric of the work tree",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMetricsShow(cmd.Context(), opts)
		},
	}
	opts.out.register(show, false)
	cmd.AddCommand(show, newDiffCmd(g, "metrics"))
	return cmd
}

// metricsShowOptions are metrics show's flags.
type metricsShowOptions struct {
	*globals
	out outputFlags // --all is implied: every metric is shown
}

// runMetricsShow takes ctx as every run function does, though reading the
// work tree's files needs no cancellation.
func runMetricsShow(_ context.Context, opts *metricsShowOptions) error {
	p, err := opts.loadProject()
	if err != nil {
		return err
	}
	files, err := p.Files("metrics")
	if err != nil {
		return err
	}
	head, err := p.ReadMetrics(files)
	if err != nil {
		return err
	}
	// Shown as a diff against nothing, so every output format matches
	// metrics diff's.
	rows := metrics.Diff(nil, head)
	return opts.renderRows(rows, metrics.RenderOptions{All: true, Precision: opts.out.precision}, opts.out.md)
}

func newParamsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "params",
		Short: "Compare params with a baseline",
		Long: `Params files are listed under params: in mlci.yaml and read as DVC reads
them: nested keys flattened with ".", a list shown as one value ("[64, 32]"),
values as written, never rounded.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newDiffCmd(g, "params"))
	return cmd
}

func newDiffCmd(g *globals, kind string) *cobra.Command {
	opts := &metricsDiffOptions{globals: g, kind: kind}
	cmd := &cobra.Command{
		Use:   "diff",
		Short: "Compare " + kind + " with the baseline (git base, or --baseline FILE)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMetricsDiff(cmd.Context(), opts)
		},
	}
	opts.base.register(cmd)
	opts.out.register(cmd, true)
	if kind == "params" {
		// Params are shown as written, as DVC shows them; the flag stays
		// so that command lines that gave it keep working.
		cmd.Flags().MarkHidden("precision")
	}
	return cmd
}

// metricsDiffOptions are the flags of metrics diff and params diff.
type metricsDiffOptions struct {
	*globals
	kind string // "metrics" or "params"
	base baselineFlags
	out  outputFlags
}

func runMetricsDiff(ctx context.Context, opts *metricsDiffOptions) error {
	p, err := opts.loadProject()
	if err != nil {
		return err
	}
	files, err := p.Files(opts.kind)
	if err != nil {
		return err
	}
	bl, err := opts.resolveBaseline(ctx, p, &opts.base, files)
	if err != nil {
		return err
	}
	rows, err := pipeline.DiffFiles(ctx, p, bl, opts.kind, files, opts.warn)
	if err != nil {
		return err
	}
	if !opts.json && !opts.out.md && !opts.quiet {
		fmt.Fprintf(opts.io.Stdout, "comparing %s with %s\n", opts.kind, bl.Name)
	}
	return opts.renderRows(rows, opts.out.options(), opts.out.md)
}

func (g *globals) renderRows(rows []metrics.Row, o metrics.RenderOptions, md bool) error {
	switch {
	case g.json:
		return metrics.RenderJSON(g.io.Stdout, rows)
	case md:
		return metrics.RenderMarkdown(g.io.Stdout, rows, o)
	}
	return metrics.RenderTable(g.io.Stdout, rows, o)
}

func newGateCmd(g *globals) *cobra.Command {
	opts := &gateOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "gate",
		Short: "Judge the metrics against the gates in mlci.yaml; exit 1 if any fails",
		Long: `Evaluate every rule under gates: in mlci.yaml against the work tree's
metrics and the baseline's (git base, or --baseline FILE). Prints a verdict
table; exits 1 if a rule fails (rules with warn_only: true only warn). In
GitHub Actions each failing rule is annotated on its line of mlci.yaml.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGate(cmd.Context(), opts)
		},
	}
	opts.base.register(cmd)
	opts.out.register(cmd, false)
	return cmd
}

// gateOptions are gate's flags.
type gateOptions struct {
	*globals
	base baselineFlags
	out  outputFlags
}

func runGate(ctx context.Context, opts *gateOptions) error {
	p, err := opts.loadProject()
	if err != nil {
		return err
	}
	report, err := opts.runGates(ctx, p, &opts.base)
	if err != nil {
		return err
	}
	if err := opts.printGates(opts.io.Stdout, p, report, &opts.out); err != nil {
		return err
	}
	return gateVerdict(report)
}

// runGates judges the config's gates against the baseline the flags
// choose.
func (g *globals) runGates(ctx context.Context, p *project.Project, bf *baselineFlags) (*gate.Report, error) {
	if p.Config == nil || len(p.Config.Gates) == 0 {
		return nil, usageError(errors.New("no gates: add rules under gates: in mlci.yaml (see README)"))
	}
	files, err := p.Files("metrics")
	if err != nil {
		return nil, err
	}
	bl, err := g.resolveBaseline(ctx, p, bf, files)
	if err != nil {
		return nil, err
	}
	return pipeline.Gates(ctx, p, bl)
}

func (g *globals) printGates(w io.Writer, p *project.Project, r *gate.Report, out *outputFlags) error {
	if g.ci.WorkflowCommands() {
		// Workflow commands go to stdout, where the runner reads them.
		gate.Annotate(g.io.Stdout, r, p.Rel(p.Config.File))
	}
	switch {
	case g.json:
		return g.printJSON(r)
	case out.md:
		return gate.RenderMarkdown(w, r, out.precision)
	}
	return gate.RenderTable(w, r, out.precision)
}

func gateVerdict(r *gate.Report) error {
	if r.Pass {
		return nil
	}
	return checkFailed(fmt.Errorf("%s; fix the model or, if the change is intended, the rule in mlci.yaml", gate.Summary(r)))
}
