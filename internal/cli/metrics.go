package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"

	"github.com/spf13/cobra"

	"github.com/mlci/mlci/internal/gate"
	"github.com/mlci/mlci/internal/metrics"
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

func (g *globals) needFiles(p *project, kind string) ([]string, error) {
	if p.Config == nil {
		return nil, usageError(fmt.Errorf("no mlci.yaml: list %s files under %s: in it", kind, kind))
	}
	files := p.Config.Metrics
	if kind == "params" {
		files = p.Config.Params
	}
	if len(files) == 0 {
		return nil, usageError(fmt.Errorf("no %s files: list them under %s: in %s", kind, kind, p.Config.File))
	}
	return files, nil
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
	var out outputFlags
	show := &cobra.Command{
		Use:   "show",
		Short: "Print every metric of the work tree",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := g.loadProject()
			if err != nil {
				return err
			}
			files, err := g.needFiles(p, "metrics")
			if err != nil {
				return err
			}
			head, err := p.readMetrics(files)
			if err != nil {
				return err
			}
			// Shown as a diff against nothing, so every output format matches
			// metrics diff's.
			rows := metrics.Diff(nil, head)
			return g.renderRows(rows, metrics.RenderOptions{All: true, Precision: out.precision}, out.md)
		},
	}
	out.register(show, false)
	cmd.AddCommand(show, newDiffCmd(g, "metrics"))
	return cmd
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
	var bf baselineFlags
	var out outputFlags
	cmd := &cobra.Command{
		Use:   "diff",
		Short: "Compare " + kind + " with the baseline (git base, or --baseline FILE)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			p, err := g.loadProject()
			if err != nil {
				return err
			}
			files, err := g.needFiles(p, kind)
			if err != nil {
				return err
			}
			bl, err := g.resolveBaseline(ctx, p, &bf, files)
			if err != nil {
				return err
			}
			rows, err := g.diffFiles(ctx, p, bl, kind, files)
			if err != nil {
				return err
			}
			if !g.json && !out.md && !g.quiet {
				fmt.Fprintf(g.io.Stdout, "comparing %s with %s\n", kind, bl.Name)
			}
			return g.renderRows(rows, out.options(), out.md)
		},
	}
	bf.register(cmd)
	out.register(cmd, true)
	if kind == "params" {
		// Params are shown as written, as DVC shows them; the flag stays
		// so that command lines that gave it keep working.
		cmd.Flags().MarkHidden("precision")
	}
	return cmd
}

// diffFiles compares the files of one kind ("metrics" or "params") with
// the baseline.
func (g *globals) diffFiles(ctx context.Context, p *project, bl *baseline, kind string, files []string) ([]metrics.Row, error) {
	if bl.files != nil || bl.recorded != nil {
		// With --baseline files or a registry record, compare only the
		// files they stand for: the others have nothing to be compared with.
		var given []string
		for _, f := range files {
			_, inFiles := bl.files[f]
			_, inRecord := bl.recorded[f]
			if inFiles || inRecord {
				given = append(given, f)
			}
		}
		files = given
	}
	base, head, err := g.readSides(ctx, p, bl, kind, files, true)
	if err != nil {
		return nil, err
	}
	return metrics.Diff(base, head), nil
}

// readSides reads files of one kind at the baseline and in the work tree.
// A file the work tree lacks but the baseline has was deleted by the
// change: as in dvc metrics diff, its values show with no new value, and a
// warning says why, unless !warn. A file missing from both is a mistake in
// mlci.yaml.
func (g *globals) readSides(ctx context.Context, p *project, bl *baseline, kind string, files []string, warn bool) (base, head []*metrics.File, err error) {
	parse := metrics.Parse
	if kind == "params" {
		parse = metrics.ParseParams
	}
	base, err = bl.readMetrics(ctx, files, parse)
	if err != nil {
		return nil, nil, err
	}
	for _, f := range files {
		data, err := p.readInput(f)
		if errors.Is(err, fs.ErrNotExist) && slices.ContainsFunc(base, func(b *metrics.File) bool { return b.Path == f }) {
			if warn {
				g.warn(fmt.Sprintf("%s is not in the work tree: its %s at the baseline show with no new value", f, kind))
			}
			continue
		}
		if err != nil {
			return nil, nil, usageError(err)
		}
		m, err := parse(f, data)
		if err != nil {
			return nil, nil, usageError(err)
		}
		head = append(head, m)
	}
	return base, head, nil
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
	var bf baselineFlags
	var out outputFlags
	cmd := &cobra.Command{
		Use:   "gate",
		Short: "Judge the metrics against the gates in mlci.yaml; exit 1 if any fails",
		Long: `Evaluate every rule under gates: in mlci.yaml against the work tree's
metrics and the baseline's (git base, or --baseline FILE). Prints a verdict
table; exits 1 if a rule fails (rules with warn_only: true only warn). In
GitHub Actions each failing rule is annotated on its line of mlci.yaml.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			p, err := g.loadProject()
			if err != nil {
				return err
			}
			report, err := g.runGates(ctx, p, &bf)
			if err != nil {
				return err
			}
			if err := g.printGates(g.io.Stdout, p, report, &out); err != nil {
				return err
			}
			return gateVerdict(report)
		},
	}
	bf.register(cmd)
	out.register(cmd, false)
	return cmd
}

func (g *globals) runGates(ctx context.Context, p *project, bf *baselineFlags) (*gate.Report, error) {
	if p.Config == nil || len(p.Config.Gates) == 0 {
		return nil, usageError(errors.New("no gates: add rules under gates: in mlci.yaml (see README)"))
	}
	files, err := g.needFiles(p, "metrics")
	if err != nil {
		return nil, err
	}
	bl, err := g.resolveBaseline(ctx, p, bf, files)
	if err != nil {
		return nil, err
	}
	return g.evaluateGates(ctx, p, bl)
}

// evaluateGates judges the config's gates against a resolved baseline.
func (g *globals) evaluateGates(ctx context.Context, p *project, bl *baseline) (*gate.Report, error) {
	files, err := g.needFiles(p, "metrics")
	if err != nil {
		return nil, err
	}
	// A metrics file the change deleted leaves its metrics missing from
	// the candidate, which fails the gates that need them; the verdicts
	// say so, and the metric diff has warned.
	base, head, err := g.readSides(ctx, p, bl, "metrics", files, false)
	if err != nil {
		return nil, err
	}
	in := gate.Input{
		Base:     base,
		Head:     head,
		Seed:     bl.seed(ctx),
		BaseName: bl.Name,
		Scores: func(ctx context.Context, fromBase bool, file string) ([]byte, error) {
			if fromBase {
				if bl.files != nil {
					return nil, fmt.Errorf("%s at the baseline: with --baseline, set per_example.base: to the baseline's scores file", file)
				}
				return bl.read(ctx, file)
			}
			return p.readInput(file)
		},
	}
	report, err := gate.Evaluate(ctx, p.Config.Gates, in)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return nil, err
		}
		return nil, usageError(err)
	}
	return report, nil
}

func (g *globals) printGates(w io.Writer, p *project, r *gate.Report, out *outputFlags) error {
	if g.ci.WorkflowCommands() {
		// Workflow commands go to stdout, where the runner reads them.
		gate.Annotate(g.io.Stdout, r, p.rel(p.Config.File))
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
