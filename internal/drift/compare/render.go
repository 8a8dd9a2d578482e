package compare

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Summary is the verdict in one line.
func (r *Report) Summary() string {
	verdict := "no drift"
	if r.Drift {
		verdict = "drift"
	}
	return verdict + ": " + r.counts()
}

func (r *Report) counts() string {
	s := fmt.Sprintf("%d of %d feature columns drifted (%.1f%%, allowed %.1f%%)",
		r.Drifted, r.Features, 100*r.DriftedShare, 100*r.Rules.MaxDriftedShare)
	if r.PredictionDrift {
		s += "; the prediction drifted"
	}
	if r.TargetDrift {
		s += "; the target drifted"
	}
	return s
}

// Markdown renders the report for a pull request comment: the verdict,
// then drifted columns first so the table is read from the top.
func (r *Report) Markdown() string {
	var b strings.Builder
	verdict := "no"
	if r.Drift {
		verdict = "yes"
	}
	fmt.Fprintf(&b, "**Data drift: %s** — %s\n\n", verdict, r.counts())
	for _, w := range r.Warnings {
		fmt.Fprintf(&b, "> [!WARNING]\n> %s\n\n", mdEscape(w))
	}
	b.WriteString("| Column | Kind | Test | Statistic | q | PSI | Distance | Missing | Status | Why |\n")
	b.WriteString("| --- | --- | --- | ---: | ---: | ---: | ---: | --- | --- | --- |\n")
	for _, c := range r.ordered() {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			mdEscape(c.label()), c.kindLabel(), c.Test, num(c.Statistic), num(c.Q), num(c.PSI), c.distance(),
			c.missing(), c.statusLabel(), mdEscape(c.Reason))
	}
	return b.String()
}

// Table writes the report as aligned plain text for a terminal.
func (r *Report) Table(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "COLUMN\tKIND\tTEST\tSTATISTIC\tQ\tPSI\tDISTANCE\tMISSING\tSTATUS")
	for _, c := range r.ordered() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			c.label(), c.kindLabel(), orDash(c.Test), num(c.Statistic), num(c.Q), num(c.PSI), c.distance(), c.missing(), c.statusLabel())
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write drift table: %w", err)
	}
	for _, w2 := range r.Warnings {
		if _, err := fmt.Fprintf(w, "warning: %s\n", w2); err != nil {
			return fmt.Errorf("write drift table: %w", err)
		}
	}
	_, err := fmt.Fprintln(w, r.Summary())
	if err != nil {
		return fmt.Errorf("write drift table: %w", err)
	}
	return nil
}

// ordered lists drifted columns first, each group in the report's order.
func (r *Report) ordered() []*Column {
	var first, rest []*Column
	for i := range r.Columns {
		c := &r.Columns[i]
		if c.Drifted {
			first = append(first, c)
		} else {
			rest = append(rest, c)
		}
	}
	return append(first, rest...)
}

func (c *Column) label() string {
	if c.Role != "" {
		return fmt.Sprintf("%s (%s)", c.Name, c.Role)
	}
	return c.Name
}

func (c *Column) kindLabel() string {
	if c.CurrentKind != "" && c.CurrentKind != c.Kind {
		return fmt.Sprintf("%s→%s", c.Kind, c.CurrentKind)
	}
	return string(c.Kind)
}

func (c *Column) statusLabel() string {
	s := string(c.Status)
	if c.Drifted && c.WarnOnly {
		s += " (warn only)"
	}
	return s
}

// distance is the kind's effect size: normalized Wasserstein for numbers,
// Jensen–Shannon for categories.
func (c *Column) distance() string {
	switch {
	case c.Wasserstein != nil:
		return "W " + num(c.Wasserstein)
	case c.JS != nil:
		return "JS " + num(c.JS)
	}
	return "-"
}

func (c *Column) missing() string {
	if c.Status == StatusMissingColumn || c.Status == StatusIgnored {
		return "-"
	}
	if c.Status == StatusNewColumn {
		return fmt.Sprintf("%.1f%%", 100*c.MissingAfter)
	}
	return fmt.Sprintf("%.1f%% → %.1f%%", 100*c.MissingBefore, 100*c.MissingAfter)
}

func num(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.3g", *v)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// mdEscape keeps a column name or reason from breaking the table.
func mdEscape(s string) string {
	s = strings.ReplaceAll(s, "\\", "\\\\")
	s = strings.ReplaceAll(s, "|", "\\|")
	s = strings.ReplaceAll(s, "\n", " ")
	return s
}
