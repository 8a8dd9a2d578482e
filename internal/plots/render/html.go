package render

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mlci/mlci/internal/atomicfile"
	"github.com/mlci/mlci/internal/plots"
)

// HTML returns one page showing every figure as inline SVG. The page has
// no script and loads nothing: its Content-Security-Policy forbids both,
// so a page opened from an artifact cannot reach the network even if a
// label slipped through escaping.
func HTML(figs []plots.Figure) ([]byte, error) {
	svgs := make([][]byte, len(figs))
	for i, f := range figs {
		var err error
		if svgs[i], err = SVG(f); err != nil {
			return nil, err
		}
	}
	return page(figs, svgs), nil
}

// page is the HTML page showing figs, given each one's SVG; WriteDir has
// drawn them already for their own files and does not draw them twice.
func page(figs []plots.Figure, svgs [][]byte) []byte {
	var b bytes.Buffer
	b.WriteString(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>mlci plots</title>
<style>
body { font-family: sans-serif; margin: 24px; color: #222; background: #fff; }
section { margin: 0 0 32px; }
svg { max-width: 100%; height: auto; border: 1px solid #ddd; }
.note { color: #555; font-size: 13px; }
</style>
</head>
<body>
<h1>Plots</h1>
`)
	for i, f := range figs {
		b.WriteString("<section>\n<h2>")
		_ = xml.EscapeText(&b, []byte(figureTitle(f)))
		b.WriteString("</h2>\n")
		b.Write(svgs[i])
		for _, n := range f.Notes {
			b.WriteString(`<p class="note">`)
			_ = xml.EscapeText(&b, []byte(n))
			b.WriteString("</p>\n")
		}
		b.WriteString("</section>\n")
	}
	b.WriteString("</body>\n</html>\n")
	return b.Bytes()
}

// WriteDir writes NAME.svg for each figure and index.html showing them all
// into dir, creating it, each file atomically so a reader never sees half
// of one. NAME comes from the figure's ID, made safe as a file name and
// unique among the figures. It returns the paths written, index.html last.
func WriteDir(dir string, figs []plots.Figure) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the plots directory: %w", err)
	}
	names := fileNames(figs)
	files := make([]string, 0, len(figs)+1)
	svgs := make([][]byte, len(figs))
	for i, f := range figs {
		svg, err := SVG(f)
		if err != nil {
			return files, err
		}
		svgs[i] = svg
		path := filepath.Join(dir, names[i]+".svg")
		if err := atomicfile.Write(path, svg, 0o644); err != nil {
			return files, fmt.Errorf("writing %s: %w", path, err)
		}
		files = append(files, path)
	}
	path := filepath.Join(dir, "index.html")
	if err := atomicfile.Write(path, page(figs, svgs), 0o644); err != nil {
		return files, fmt.Errorf("writing %s: %w", path, err)
	}
	if err := removeStale(dir, names); err != nil {
		return files, err
	}
	return append(files, path), nil
}

// writtenList names the SVGs the last WriteDir wrote in a directory, so
// the next one removes those of plots that are gone and nothing else: the
// directory may hold files of the user's own.
const writtenList = ".mlci-plots"

// removeStale removes the SVGs the previous WriteDir listed that are not
// in names, then lists names. A listed name that is not one WriteDir could
// have made (a path, a dot file) is ignored, since the list may come from
// a checkout.
func removeStale(dir string, names []string) error {
	list := filepath.Join(dir, writtenList)
	current := map[string]bool{}
	var b strings.Builder
	for _, n := range names {
		current[n+".svg"] = true
		b.WriteString(n + ".svg\n")
	}
	if old, err := os.ReadFile(list); err == nil && len(old) < 1<<20 {
		for _, n := range strings.Split(string(old), "\n") {
			base := strings.TrimSuffix(n, ".svg")
			if current[n] || base == n || base == "" || sanitizeName(base) != base || strings.HasPrefix(base, ".") {
				continue
			}
			if err := os.Remove(filepath.Join(dir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("removing the plot %s that is gone: %w", n, err)
			}
		}
	}
	if err := atomicfile.Write(list, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", list, err)
	}
	return nil
}

// fileNames turns IDs such as "eval/plots/roc.json" into file names such
// as "eval_plots_roc.json": only letters, digits, '.', '-' and '_', no
// leading dot, at most 80 bytes, unique without regard to case (macOS and
// Windows checkouts of an artifact fold case), never "index".
func fileNames(figs []plots.Figure) []string {
	used := map[string]bool{"index": true}
	out := make([]string, len(figs))
	for i, f := range figs {
		base := sanitizeName(f.ID)
		if base == "" {
			base = sanitizeName(f.Title)
		}
		if base == "" {
			base = "plot"
		}
		name := base
		for k := 2; used[strings.ToLower(name)]; k++ {
			name = base + "-" + strconv.Itoa(k)
		}
		used[strings.ToLower(name)] = true
		out[i] = name
	}
	return out
}

func sanitizeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	name := strings.Trim(b.String(), "._-")
	if len(name) > 80 {
		name = strings.TrimRight(name[:80], "._-")
	}
	return name
}
