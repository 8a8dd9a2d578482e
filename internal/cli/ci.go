package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlci/mlci/internal/gate"
	"github.com/mlci/mlci/internal/metrics"
)

// ciResult is the --json document of mlci ci: each step that ran, and the
// overall verdict.
type ciResult struct {
	Pass    bool            `json:"pass"`
	Data    []checkResult   `json:"data,omitempty"`
	Metrics json.RawMessage `json:"metrics,omitempty"`
	Gates   *gate.Report    `json:"gates,omitempty"`
	Failed  []string        `json:"failed"`
}

func newCICmd(g *globals) *cobra.Command {
	var bf baselineFlags
	var h hashFlags
	var out outputFlags
	cmd := &cobra.Command{
		Use:   "ci",
		Short: "Run every check mlci.yaml configures: data check, metric diff, gates",
		Long: `Run, in order, what mlci.yaml configures: the data check against mlci.lock,
the metric diff against the baseline (git base, or --baseline FILE), and the
gates. Every step runs even when an earlier one fails, so one run shows all
problems; the exit code is 1 if any check failed, 2 on bad input.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			p, err := g.loadProject()
			if err != nil {
				return err
			}
			if p.Config == nil {
				return usageError(errors.New("no mlci.yaml here or above: create one (see README) or pass -C DIR"))
			}
			res := ciResult{Failed: []string{}}
			w := g.io.Stdout
			text := !g.json
			section := func(title string) {
				if text {
					if out.md {
						fmt.Fprintf(w, "\n### %s\n\n", title)
					} else {
						fmt.Fprintf(w, "\n== %s ==\n", title)
					}
				}
			}
			if len(p.Config.Data) > 0 || exists(p.lockPath()) {
				section("data")
				results, failed, err := g.checkData(ctx, p, nil, &h)
				if err != nil {
					return err
				}
				res.Data = results
				if failed > 0 {
					res.Failed = append(res.Failed, "data")
				}
				if text {
					printCheck(g, results, 20)
				}
			}
			if len(p.Config.Metrics) > 0 {
				bl, err := g.resolveBaseline(ctx, p, &bf, p.Config.Metrics)
				if err != nil {
					return err
				}
				section("metrics: compared with " + bl.Name)
				rows, err := diffFiles(ctx, p, bl, p.Config.Metrics)
				if err != nil {
					return err
				}
				var buf bytes.Buffer
				if err := metrics.RenderJSON(&buf, rows); err != nil {
					return err
				}
				res.Metrics = buf.Bytes()
				if text {
					if err := g.renderRows(rows, out.options(), out.md); err != nil {
						return err
					}
				}
			}
			if len(p.Config.Gates) > 0 {
				section("gates")
				report, err := g.runGates(ctx, p, &bf)
				if err != nil {
					return err
				}
				res.Gates = report
				if !report.Pass {
					res.Failed = append(res.Failed, "gates")
				}
				if text {
					if err := g.printGates(w, p, report, &out); err != nil {
						return err
					}
				}
			}
			res.Pass = len(res.Failed) == 0
			if g.json {
				if err := g.printJSON(res); err != nil {
					return err
				}
			} else {
				verdict := "PASS"
				if !res.Pass {
					verdict = "FAIL (" + strings.Join(res.Failed, ", ") + ")"
				}
				fmt.Fprintf(w, "\nmlci: %s\n", verdict)
			}
			if !res.Pass {
				return checkFailed(fmt.Errorf("%s failed; see the sections above for what to fix", strings.Join(res.Failed, " and ")))
			}
			return nil
		},
	}
	bf.register(cmd)
	h.register(cmd, false)
	out.register(cmd, true)
	return cmd
}
