package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/mlci/mlci/internal/baseline"
	"github.com/mlci/mlci/internal/report"
)

func newReportCmd(g *globals) *cobra.Command {
	opts := &reportOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Render the pull request report as markdown; --post posts it",
		Long: `Run the checks mlci.yaml configures (as mlci ci does) and print the report
that mlci ci posts: the verdict, data changes, gate verdicts, metric and
params diffs and a link to the CI run. With --post, post it to the forge
(sticky comment and commit status) as mlci ci does. The exit code is 0
whatever the verdict: the report is the result; use mlci ci or mlci gate to
fail a build.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReport(cmd.Context(), opts)
		},
	}
	opts.base.register(cmd)
	opts.hash.register(cmd, false)
	opts.post.register(cmd)
	cmd.Flags().BoolVar(&opts.postIt, "post", false, "post the report to the forge")
	cmd.Flags().StringArrayVar(&opts.appended, "append", nil, "add the markdown `FILE` to the report, after mlci's sections and report.extra's files (repeatable)")
	cmd.Flags().IntVar(&opts.precision, "precision", 5, "round metrics to `N` decimal places, as dvc metrics does; the gate table shows N significant digits")
	return cmd
}

// reportOptions are report's flags.
type reportOptions struct {
	*globals
	base      baselineFlags
	hash      hashFlags
	post      postFlags
	postIt    bool
	precision int
	// appended are markdown files shown after report.extra's.
	appended []string
}

func runReport(ctx context.Context, opts *reportOptions) error {
	g := opts.globals
	p, res, in, err := g.prepareReport(ctx, &opts.base, &opts.hash, &opts.post, opts.precision, opts.appended)
	if err != nil {
		return err
	}
	var posted *postOutput
	if opts.postIt {
		if posted, err = g.post(ctx, p, in, &opts.post); err != nil {
			return err
		}
	}
	if g.json {
		body, _ := report.Render(in, 0)
		return g.printJSON(struct {
			Pass     bool           `json:"pass"`
			Summary  string         `json:"summary"`
			Baseline *baseline.Info `json:"baseline,omitempty"`
			Body     string         `json:"body"`
			Posted   *postOutput    `json:"posted,omitempty"`
		}{in.Pass(), in.Summary(), res.Baseline.Info(), body, posted})
	}
	if err := report.Write(g.io.Stdout, in); err != nil {
		return err
	}
	if posted != nil && !g.quiet {
		printPosted(g.io.Stderr, posted)
	}
	return nil
}

func printPosted(w io.Writer, posted *postOutput) {
	line := "report: " + posted.Forge
	if posted.CommentURL != "" {
		line += " " + posted.CommentURL
	}
	if posted.Unchanged {
		line += " (unchanged)"
	}
	fmt.Fprintln(w, line)
	for _, n := range posted.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}
