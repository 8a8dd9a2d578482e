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
	All bool // include unchanged rows
	// Precision is the decimal places metrics and their changes are
	// rounded to, as dvc metrics show and diff round them; 0 (or less)
	// means DVC's default, 5. Params are shown as written, as DVC shows
	// them.
	Precision int
}

// noChanges is printed instead of an empty table, so a quiet CI log or PR
// comment still says that the comparison ran.
const noChanges = "no metric changes\n"

// missing stands in for a value one side does not have, or null: DVC's
// fill value. A dash reads as "nothing" where an empty cell could be
// mistaken for a rendering bug.
const missing = "-"

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

// cells formats a row as DVC's tables do (see formatValue). Added and
// removed rows carry their marker in the Change column, where a number
// would otherwise go, and a change has its sign ("+0.05"): mlci's own.
func cells(r Row, o RenderOptions) [6]string {
	decimals := o.Precision
	if decimals <= 0 {
		decimals = 5
	}
	if r.Params {
		decimals = -1
	}
	c := [6]string{r.Path, r.Metric, missing, missing, missing, missing}
	if r.Base != nil {
		c[2] = formatValue(*r.Base, decimals)
	}
	if r.Head != nil {
		c[3] = formatValue(*r.Head, decimals)
	}
	switch {
	case r.Status == StatusAdded:
		c[4] = "(new)"
	case r.Status == StatusRemoved:
		c[4] = "(removed)"
	case r.Change != nil && r.Params:
		// DVC's params diff has no change column: this one is mlci's, and
		// a change is no value written in a file, so it is rounded to
		// significant digits, which keep a small learning rate's.
		c[4] = FormatChange(*r.Change, 5)
	case r.Change != nil:
		c[4] = formatChange(r, decimals)
	}
	if r.Percent != nil {
		c[5] = FormatPercent(*r.Percent)
	}
	return c
}

// formatValue writes v as DVC's tables write it, which is Python's str()
// of what DVC loaded: an integer whole ("7"); any other number rounded to
// decimals places (Python's round; decimals < 0: as written) and with a
// point or an exponent ("0.3", "1.0", "0.0", "1e-05", "1e+16"); True and
// False; null as the missing marker; a string as it is.
func formatValue(v Value, decimals int) string {
	var buf [32]byte
	switch v.Kind {
	case Number:
		return string(appendNumberDVC(buf[:0], v.Num, v.Int, decimals))
	case Bool:
		return string(appendPyBool(buf[:0], v.Bool))
	case String:
		return v.Str
	}
	return missing
}

func appendNumberDVC(dst []byte, x float64, isInt bool, decimals int) []byte {
	if isInt {
		return appendPyInt(dst, x)
	}
	if decimals >= 0 {
		x = pyRound(x, decimals)
	}
	return appendPyFloat(dst, x)
}

// formatChange writes a row's change as DVC writes new - old: an integer
// when both sides are (booleans count, being Python ints), else a float
// rounded like the values; with a "+" when it is above zero as written.
func formatChange(r Row, decimals int) string {
	var buf [40]byte
	isInt := intLike(r.Base) && intLike(r.Head)
	s := appendNumberDVC(append(buf[:0], '+'), *r.Change, isInt, decimals)
	if *r.Change > 0 && strings.Trim(string(s[1:]), "0.") != "" {
		return string(s)
	}
	return string(s[1:])
}

func intLike(v *Value) bool {
	return v != nil && (v.Kind == Bool || v.Kind == Number && v.Int)
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
// Numbers keep full precision; base and head are JSON numbers, booleans
// and strings as in the files, as dvc metrics diff --json writes them, and
// null when missing or null in the file.
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
	case v.Kind == Bool:
		return v.Bool
	}
	return v.Str
}

func finite(p *float64) *float64 {
	if p == nil || math.IsNaN(*p) || math.IsInf(*p, 0) {
		return nil
	}
	return p
}
