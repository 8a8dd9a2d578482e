package gate

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/mlci/mlci/internal/metrics"
)

func num(x *float64, sig int) string {
	if x == nil {
		return "—"
	}
	return metrics.FormatNumber(*x, sig)
}

func change(v Verdict, sig int) string {
	if v.Change == nil {
		return "—"
	}
	s := metrics.FormatChange(*v.Change, sig)
	if v.ChangePct != nil {
		s += " (" + metrics.FormatPercent(*v.ChangePct) + ")"
	}
	return s
}

func ci(v Verdict) string {
	if v.Interval == nil {
		return ""
	}
	return fmt.Sprintf("[%s, %s]", metrics.FormatChange(v.Interval.Lo, 4), metrics.FormatChange(v.Interval.Hi, 4))
}

func result(v Verdict) string {
	switch v.Status {
	case Fail:
		return "FAIL"
	case Warn:
		return "WARN"
	}
	return "pass"
}

func hasInterval(r *Report) bool {
	for _, v := range r.Verdicts {
		if v.Interval != nil {
			return true
		}
	}
	return false
}

// RenderTable prints the verdicts for a terminal, then the reason of every
// rule that did not pass.
func RenderTable(w io.Writer, r *Report, sig int) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	withCI := hasInterval(r)
	head := "RULE\tMETRIC\tBASE\tHEAD\tCHANGE\tTHRESHOLD\tRESULT"
	if withCI {
		head += "\tCI"
	}
	fmt.Fprintln(tw, head)
	for _, v := range r.Verdicts {
		row := strings.Join([]string{v.Rule, v.Metric, num(v.Base, sig), num(v.Head, sig), change(v, sig), v.Threshold, result(v)}, "\t")
		if withCI {
			row += "\t" + ci(v)
		}
		fmt.Fprintln(tw, row)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, v := range r.Verdicts {
		if v.Status != Pass {
			fmt.Fprintf(w, "%s %s (mlci.yaml line %d): %s\n", result(v), v.Rule, v.Line, v.Reason)
		}
	}
	fmt.Fprintln(w, Summary(r))
	return nil
}

// Summary is the one-line verdict.
func Summary(r *Report) string {
	s := fmt.Sprintf("gates: %d passed, %d failed", r.Passed, r.Failed)
	if r.Warned > 0 {
		s += fmt.Sprintf(", %d warned", r.Warned)
	}
	return s
}

// RenderMarkdown prints the verdicts as a GitHub/GitLab markdown table.
func RenderMarkdown(w io.Writer, r *Report, sig int) error {
	withCI := hasInterval(r)
	var b strings.Builder
	b.WriteString("| Rule | Metric | Base | Head | Change | Threshold | Result |")
	sep := "|---|---|--:|--:|--:|---|---|"
	if withCI {
		b.WriteString(" CI |")
		sep += "---|"
	}
	b.WriteString("\n" + sep + "\n")
	icon := map[string]string{Pass: "✅ pass", Fail: "❌ fail", Warn: "⚠️ warn"}
	for _, v := range r.Verdicts {
		cells := []string{v.Rule, "`" + v.Metric + "`", num(v.Base, sig), num(v.Head, sig), change(v, sig), v.Threshold, icon[v.Status]}
		if withCI {
			cells = append(cells, ci(v))
		}
		for i, c := range cells {
			cells[i] = mdEscape(c)
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mdEscape(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

// Annotate prints GitHub Actions workflow commands that mark each rule that
// did not pass on its line of the config file.
func Annotate(w io.Writer, r *Report, configFile string) {
	for _, v := range r.Verdicts {
		if v.Status == Pass {
			continue
		}
		level := "error"
		if v.Status == Warn {
			level = "warning"
		}
		msg := fmt.Sprintf("gate %s failed on %s: %s", v.Rule, v.Metric, v.Reason)
		fmt.Fprintf(w, "::%s file=%s,line=%d,title=mlci gate %s::%s\n", level, escapeProperty(configFile), v.Line, escapeProperty(v.Rule), escapeData(msg))
	}
}

// escapeData and escapeProperty follow the runner's workflow-command
// encoding, so a metric name with a colon or newline cannot break out.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
