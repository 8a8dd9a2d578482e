package metrics

import (
	"encoding/json"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// RenderOptions control the human-readable renderers.
type RenderOptions struct {
	All       bool // include unchanged rows
	Precision int  // significant digits for values and changes; 0 means 5
}

// noChanges is printed instead of an empty table, so a quiet CI log or PR
// comment still says that the comparison ran.
const noChanges = "no metric changes\n"

// missing stands in for a value one side does not have. A dash reads as
// "nothing" where an empty cell could be mistaken for a rendering bug.
const missing = "—"

func header() [6]string {
	return [6]string{"Path", "Metric", "Base", "Head", "Change", "Change %"}
}

// RenderTable writes rows as an aligned table for a terminal. Only changed,
// added and removed rows are shown unless o.All.
func RenderTable(w io.Writer, rows []Row, o RenderOptions) error {
	shown := visible(rows, o)
	if len(shown) == 0 {
		_, err := io.WriteString(w, noChanges)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	line := func(c [6]string) {
		for i, s := range c {
			if i > 0 {
				tw.Write([]byte{'\t'})
			}
			io.WriteString(tw, terminalCell(s))
		}
		tw.Write([]byte{'\n'})
	}
	line(header())
	for _, r := range shown {
		line(cells(r, o))
	}
	// tabwriter remembers the first write error and returns it here.
	return tw.Flush()
}

// RenderMarkdown writes rows as a GitHub/GitLab markdown table, numeric
// columns right-aligned. Only changed, added and removed rows are shown
// unless o.All.
func RenderMarkdown(w io.Writer, rows []Row, o RenderOptions) error {
	shown := visible(rows, o)
	if len(shown) == 0 {
		_, err := io.WriteString(w, noChanges)
		return err
	}
	var b strings.Builder
	b.Grow(64 * (len(shown) + 2))
	markdownLine(&b, header())
	b.WriteString("| :--- | :--- | ---: | ---: | ---: | ---: |\n")
	for _, r := range shown {
		markdownLine(&b, cells(r, o))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func markdownLine(b *strings.Builder, c [6]string) {
	b.WriteString("|")
	for _, s := range c {
		b.WriteString(" ")
		markdownCell(b, s)
		b.WriteString(" |")
	}
	b.WriteString("\n")
}

// markdownCell escapes what would break the table or the comment around it:
// pipes and newlines split cells and rows, "<" could open HTML, and
// backslashes are doubled so that an escaped pipe stays escaped.
func markdownCell(b *strings.Builder, s string) {
	if !strings.ContainsAny(s, "\\|<>\r\n") {
		b.WriteString(s)
		return
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '|', '<', '>':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
			b.WriteString("<br>")
		case '\n':
			b.WriteString("<br>")
		default:
			b.WriteByte(c)
		}
	}
}

// terminalCell keeps a value on its line and in its column: tabs and
// newlines in a string param would otherwise break the table.
func terminalCell(s string) string {
	if !strings.ContainsAny(s, "\t\n\r") {
		return s
	}
	return strings.NewReplacer("\t", `\t`, "\n", `\n`, "\r", `\r`).Replace(s)
}

func visible(rows []Row, o RenderOptions) []Row {
	if o.All {
		return rows
	}
	shown := make([]Row, 0, len(rows))
	for _, r := range rows {
		if r.Status != StatusUnchanged {
			shown = append(shown, r)
		}
	}
	return shown
}

// cells formats a row. Added and removed rows carry their marker in the
// Change column, where a number would otherwise go.
func cells(r Row, o RenderOptions) [6]string {
	c := [6]string{r.Path, r.Metric, missing, missing, missing, missing}
	if r.Base != nil {
		c[2] = formatValue(*r.Base, o.Precision)
	}
	if r.Head != nil {
		c[3] = formatValue(*r.Head, o.Precision)
	}
	switch {
	case r.Status == StatusAdded:
		c[4] = "(new)"
	case r.Status == StatusRemoved:
		c[4] = "(removed)"
	case r.Change != nil:
		c[4] = FormatChange(*r.Change, o.Precision)
	}
	if r.Percent != nil {
		c[5] = FormatPercent(*r.Percent)
	}
	return c
}

func formatValue(v Value, precision int) string {
	if v.Kind == Number {
		return FormatNumber(v.Num, precision)
	}
	return v.String()
}

// jsonDoc is RenderJSON's document. Field order is the output order, which
// other tools may rely on as much as on the names.
type jsonDoc struct {
	Rows []jsonRow `json:"rows"`
}

type jsonRow struct {
	Path      string   `json:"path"`
	Metric    string   `json:"metric"`
	Base      any      `json:"base"`
	Head      any      `json:"head"`
	Change    *float64 `json:"change"`
	ChangePct *float64 `json:"change_pct"`
	Status    string   `json:"status"`
}

// RenderJSON writes all rows, unchanged ones included, for other tools.
// Numbers keep full precision; base and head are numbers when numeric,
// strings otherwise (bools as "true"/"false"), and null when missing or
// null in the file.
func RenderJSON(w io.Writer, rows []Row) error {
	doc := jsonDoc{Rows: make([]jsonRow, 0, len(rows))}
	for _, r := range rows {
		doc.Rows = append(doc.Rows, jsonRow{
			Path:      r.Path,
			Metric:    r.Metric,
			Base:      jsonValue(r.Base),
			Head:      jsonValue(r.Head),
			Change:    finite(r.Change),
			ChangePct: finite(r.Percent),
			Status:    r.Status,
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // the document is data, not for a web page
	return enc.Encode(doc)
}

func jsonValue(v *Value) any {
	switch {
	case v == nil || v.Kind == Null:
		return nil
	case v.Kind == Number:
		if math.IsNaN(v.Num) || math.IsInf(v.Num, 0) {
			return nil // JSON has no spelling for them; Parse never makes them
		}
		return v.Num
	}
	return v.String()
}

func finite(p *float64) *float64 {
	if p == nil || math.IsNaN(*p) || math.IsInf(*p, 0) {
		return nil
	}
	return p
}
