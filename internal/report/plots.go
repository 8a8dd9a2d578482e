package report

import (
	"fmt"
	"strings"

	plotrender "github.com/mlci/mlci/internal/plots/render"
)

// plotsSection draws each plot for the comment, or, when charts is false
// because they did not fit, one line saying where they are: plots are the
// first thing left out, since the report directory has them in full.
func plotsSection(b *strings.Builder, in *Input, charts bool) {
	if len(in.Plots) == 0 {
		return
	}
	b.WriteString("\n### Plots\n\n")
	if !charts {
		b.WriteString(plotsLeftOut(in) + "\n")
		return
	}
	opts := plotrender.DefaultMermaidOptions()
	if in.Mermaid != nil {
		opts = *in.Mermaid
	}
	for i, f := range in.Plots {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(plotrender.Markdown(f, opts))
	}
}

func plotsLeftOut(in *Input) string {
	where := "the report directory"
	if in.PlotsDir != "" {
		where += " (" + escape(strings.TrimSuffix(in.PlotsDir, "/")+"/index.html") + ")"
	}
	if len(in.Plots) == 1 {
		return fmt.Sprintf("1 plot is in %s, left out here to fit the comment limit.", where)
	}
	return fmt.Sprintf("%d plots are in %s, left out here to fit the comment limit.", len(in.Plots), where)
}

// extraSection is the user's own markdown, as written: it is theirs to
// format, and the forge sanitises what it renders.
func extraSection(b *strings.Builder, in *Input) {
	for _, e := range in.Extra {
		b.WriteString("\n" + strings.TrimRight(e, "\n") + "\n")
	}
}
