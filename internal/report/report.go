// Package report renders mlci's pull request report: one markdown document
// with the verdict, the data changes, the metric diff, the gate verdicts and
// the params that changed, sized to fit the forge's comment limit.
package report

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/mlci/mlci/internal/gate"
	"github.com/mlci/mlci/internal/metrics"
	"github.com/mlci/mlci/internal/plots"
	plotrender "github.com/mlci/mlci/internal/plots/render"
	"github.com/mlci/mlci/internal/progress"
)

// Dataset is one dataset's line in the data section.
type Dataset struct {
	Name string
	// Check is the data check's status against mlci.lock: "ok", "changed",
	// "not-locked", "config-changed".
	Check string
	// Message explains a failed check.
	Message string
	// Diff is the lock's change against the base: "added", "removed",
	// "changed", "unchanged", or "" when there is no base.
	Diff                     string
	Added, Removed, Modified int // files, for Diff "changed" or Check "changed"
	BytesBefore, BytesAfter  int64
	Files                    int64
	// Digest is the dataset's digest in the work tree.
	Digest string
}

// Input is everything a report can show; empty parts are left out.
type Input struct {
	// Baseline names what metrics were compared with.
	Baseline string
	Data     []Dataset
	// DataChecked says whether the data check ran.
	DataChecked bool
	Metrics     []metrics.Row
	Params      []metrics.Row
	Gates       *gate.Report
	// History, when set, charts recent values of the gated metrics.
	History *History
	// Run, when a run record exists, says what the run was made of.
	Run *Run
	// RunURL links the CI run; Commit is the head commit.
	RunURL, Commit string
	Precision      int
	// Notes are things the reader should know that fit no section, such
	// as a run record that was left out.
	Notes []string
	// Plots are drawn after the other sections; Mermaid says what the
	// forge's mermaid draws, nil meaning plotrender.DefaultMermaidOptions.
	Plots   []plots.Figure
	Mermaid *plotrender.MermaidOptions
	// PlotsDir is the report directory holding every plot in full, named
	// when the charts are left out to fit.
	PlotsDir string
	// Extra is the user's own markdown, each file's text shown as is after
	// mlci's sections, in order.
	Extra []string
}

// Run is the part of a run record the report shows.
type Run struct {
	Identity string
	// Hardware is the runner's fingerprint text; Image the container digest.
	Hardware, Image string
	// Subjects maps each artifact to its digest.
	Subjects map[string]string
	// GPUUse is the job's GPU telemetry from mlci-runner, when it ran there.
	GPUUse *GPUUse
}

// Pass is the overall verdict: data and gates.
func (in *Input) Pass() bool {
	return in.dataFailures() == 0 && (in.Gates == nil || in.Gates.Pass)
}

func (in *Input) dataFailures() int {
	n := 0
	for _, d := range in.Data {
		if d.Check != "" && d.Check != "ok" {
			n++
		}
	}
	return n
}

// Summary is one line for a commit status.
func (in *Input) Summary() string {
	var parts []string
	if in.DataChecked {
		switch f := in.dataFailures(); {
		case f > 0:
			parts = append(parts, fmt.Sprintf("%d of %d datasets differ from mlci.lock", f, len(in.Data)))
		case len(in.Data) == 1:
			parts = append(parts, "the dataset matches mlci.lock")
		default:
			parts = append(parts, fmt.Sprintf("all %d datasets match mlci.lock", len(in.Data)))
		}
	}
	if in.Gates != nil {
		parts = append(parts, gate.Summary(in.Gates))
	}
	if len(parts) == 0 {
		return "nothing to check"
	}
	return strings.Join(parts, "; ")
}

// Render writes the report within limit characters (0: no limit). Past the
// limit the longest tables are shortened, and the report says so; truncated
// reports the fact so callers can point to the full copy.
func Render(in Input, limit int) (body string, truncated bool) {
	// Budgets, from generous down to tight: the first that fits wins.
	// Plot charts go first, since the report directory has them in full;
	// then table rows.
	budgets := []budget{{rows: -1, charts: true}}
	if len(in.Plots) > 0 {
		budgets = append(budgets, budget{rows: -1})
	}
	for _, rows := range []int{200, 50, 20, 5, 0} {
		budgets = append(budgets, budget{rows: rows})
	}
	for _, bu := range budgets {
		body = render(in, bu)
		if limit <= 0 || len([]rune(body)) <= limit {
			return body, bu.rows >= 0 || !bu.charts
		}
	}
	// Even the bare report is too long: cut it, keeping the headline.
	r := []rune(body)
	note := "\n\n…(report cut to fit the comment limit; the full report is in the CI run)\n"
	return string(r[:limit-len([]rune(note))]) + note, true
}

// budget is how much of the report one rendering shows: rows per table
// (<0: all), and whether plots are drawn or only pointed at.
type budget struct {
	rows   int
	charts bool
}

func render(in Input, bu budget) string {
	maxRows := bu.rows
	var b strings.Builder
	headline(&b, &in)
	if in.DataChecked || len(in.Data) > 0 {
		dataSection(&b, &in)
	}
	if in.Gates != nil && len(in.Gates.Verdicts) > 0 {
		b.WriteString("\n### Gates\n\n")
		gate.RenderMarkdown(&b, in.Gates, precision(in))
		for _, v := range in.Gates.Verdicts {
			if v.Status != gate.Pass {
				fmt.Fprintf(&b, "\n- **%s** (`mlci.yaml` line %d): %s", escape(v.Rule), v.Line, escape(v.Reason))
			}
		}
		if in.Gates.Failed+in.Gates.Warned > 0 {
			b.WriteString("\n")
		}
	}
	if changed := onlyChanged(in.Metrics); len(in.Metrics) > 0 {
		title := "Metrics"
		if in.Baseline != "" {
			title += " compared with " + in.Baseline
		}
		table(&b, title, changed, len(in.Metrics), maxRows, &in, "no metric changed")
	}
	if changed := onlyChanged(in.Params); len(changed) > 0 {
		table(&b, "Params", changed, len(in.Params), maxRows, &in, "")
	}
	if maxRows != 0 {
		renderHistory(&b, in.History, precision(in))
	}
	renderRun(&b, in.Run)
	plotsSection(&b, &in, bu.charts)
	for _, n := range in.Notes {
		fmt.Fprintf(&b, "\n> ⚠️ %s\n", escape(n))
	}
	extraSection(&b, &in)
	footer(&b, &in, maxRows >= 0)
	return b.String()
}

func precision(in Input) int {
	if in.Precision > 0 {
		return in.Precision
	}
	return 5
}

func headline(b *strings.Builder, in *Input) {
	icon, word := "✅", "passed"
	if !in.Pass() {
		icon, word = "❌", "failed"
	}
	fmt.Fprintf(b, "## %s mlci: checks %s\n\n", icon, word)
	b.WriteString(escape(in.Summary()) + "\n")
	if in.Baseline != "" {
		// What "change" means depends on it: say it before any number.
		fmt.Fprintf(b, "\nBaseline: %s\n", escape(in.Baseline))
	}
}

func dataSection(b *strings.Builder, in *Input) {
	b.WriteString("\n### Data\n\n| Dataset | Check | Change since base | Files | Size |\n|---|---|---|--:|--:|\n")
	for _, d := range in.Data {
		check := "✅ matches lock"
		switch d.Check {
		case "":
			check = "—"
		case "changed":
			check = fmt.Sprintf("❌ %d added, %d removed, %d modified", d.Added, d.Removed, d.Modified)
		case "ok":
		default:
			check = "❌ " + d.Message
		}
		diff := "—"
		switch d.Diff {
		case "changed":
			diff = fmt.Sprintf("+%d −%d ~%d", d.Added, d.Removed, d.Modified)
		case "added", "removed", "unchanged":
			diff = d.Diff
		}
		size := progress.Bytes(d.BytesAfter)
		if d.Diff == "changed" && d.BytesBefore != d.BytesAfter {
			size = progress.Bytes(d.BytesBefore) + " → " + progress.Bytes(d.BytesAfter)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", escape(d.Name), escape(check), diff, progress.Count(d.Files), size)
	}
}

func onlyChanged(rows []metrics.Row) []metrics.Row {
	var out []metrics.Row
	for _, r := range rows {
		if r.Status != metrics.StatusUnchanged {
			out = append(out, r)
		}
	}
	return out
}

// table renders rows as markdown, collapsed when long, cut to maxRows (<0:
// all) with a line saying how many were left out.
func table(b *strings.Builder, title string, rows []metrics.Row, total, maxRows int, in *Input, empty string) {
	fmt.Fprintf(b, "\n### %s\n\n", escape(title))
	if len(rows) == 0 {
		b.WriteString(empty + fmt.Sprintf(" (%d compared).\n", total))
		return
	}
	shown := rows
	if maxRows >= 0 && len(rows) > maxRows {
		shown = rows[:maxRows]
	}
	long := len(shown) > 20
	if long {
		fmt.Fprintf(b, "<details><summary>%d of %d changed</summary>\n\n", len(rows), total)
	}
	metrics.RenderMarkdown(b, shown, metrics.RenderOptions{Precision: precision(*in)})
	if len(shown) < len(rows) {
		fmt.Fprintf(b, "\n…and %d more rows, left out to fit the comment limit.\n", len(rows)-len(shown))
	}
	if long {
		b.WriteString("\n</details>\n")
	}
}

func renderRun(b *strings.Builder, r *Run) {
	if r == nil {
		return
	}
	b.WriteString("\n### Run\n\n| | |\n|---|---|\n")
	if r.Identity != "" {
		fmt.Fprintf(b, "| identity | `%s` |\n", escape(r.Identity))
	}
	names := make([]string, 0, len(r.Subjects))
	for n := range r.Subjects {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(b, "| %s | `%s` |\n", escape(n), escape(r.Subjects[n]))
	}
	if r.Image != "" {
		fmt.Fprintf(b, "| image | `%s` |\n", escape(r.Image))
	}
	hw := strings.TrimSpace(r.Hardware)
	if hw == "" {
		hw = "unknown"
	}
	fmt.Fprintf(b, "| hardware | %s |\n", escape(describeHardware(hw)))
	if r.GPUUse != nil {
		fmt.Fprintf(b, "| GPU use | %s |\n", escape(r.GPUUse.String()))
	}
}

func footer(b *strings.Builder, in *Input, shortened bool) {
	var parts []string
	if in.RunURL != "" {
		parts = append(parts, fmt.Sprintf("[CI run](%s)", in.RunURL))
	}
	if in.Commit != "" {
		c := in.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		parts = append(parts, "commit `"+c+"`")
	}
	if shortened {
		parts = append(parts, "tables shortened to fit; the full report is in the CI run's summary and artifacts")
	}
	if len(parts) > 0 {
		b.WriteString("\n<sub>" + strings.Join(parts, " · ") + "</sub>\n")
	}
}

// escape keeps user text from breaking a table row or opening HTML.
func escape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "<", "&lt;", ">", "&gt;").Replace(s)
}

// Write renders without a limit to w, for files and step summaries.
func Write(w io.Writer, in Input) error {
	body, _ := Render(in, 0)
	_, err := io.WriteString(w, body)
	return err
}
