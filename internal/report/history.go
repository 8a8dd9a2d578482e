package report

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/mlci/mlci/internal/metrics"
)

// Point is one commit's values of the charted metrics.
type Point struct {
	// Label names the commit on the x axis (a short id, or "head").
	Label  string
	Values map[string]float64
}

// History is the recent values of a few metrics, oldest first.
type History struct {
	Metrics []string
	Points  []Point
}

// maxCharts bounds the charts in one report; each is a few hundred bytes
// and a reader looks at the first ones only.
const maxCharts = 3

// renderHistory writes one mermaid xychart per metric and, below them, a
// table with the same numbers, for renderers without xychart (older GitLab).
func renderHistory(b *strings.Builder, h *History, sig int) {
	if h == nil || len(h.Points) < 2 || len(h.Metrics) == 0 {
		return
	}
	b.WriteString("\n### History\n\n")
	labels := make([]string, len(h.Points))
	for i, p := range h.Points {
		labels[i] = strconv.Quote(p.Label)
	}
	for _, m := range h.Metrics[:min(maxCharts, len(h.Metrics))] {
		var ys []string
		for _, p := range h.Points {
			v, ok := p.Values[m]
			if !ok {
				// xychart has no gaps: a commit without the metric is left out
				// of the chart only through the table below.
				ys = nil
				break
			}
			ys = append(ys, metrics.FormatNumber(v, sig))
		}
		if ys == nil {
			continue
		}
		fmt.Fprintf(b, "```mermaid\nxychart-beta\n  title %s\n  x-axis [%s]\n  line [%s]\n```\n\n",
			strconv.Quote(m), strings.Join(labels, ", "), strings.Join(ys, ", "))
	}
	b.WriteString("| Metric |")
	for _, p := range h.Points {
		b.WriteString(" " + escape(p.Label) + " |")
	}
	b.WriteString("\n|---|" + strings.Repeat("--:|", len(h.Points)) + "\n")
	for _, m := range h.Metrics {
		b.WriteString("| `" + escape(m) + "` |")
		for _, p := range h.Points {
			if v, ok := p.Values[m]; ok {
				b.WriteString(" " + metrics.FormatNumber(v, sig) + " |")
			} else {
				b.WriteString(" — |")
			}
		}
		b.WriteString("\n")
	}
}
