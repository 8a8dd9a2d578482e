package render

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlci/mlci/internal/plots"
)

func nanValue() float64 { return math.NaN() }

// parseXML fails the test unless data is well-formed XML.
func parseXML(t *testing.T, data []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("not well-formed: %v", err)
		}
	}
}

func TestSVGSelfContained(t *testing.T) {
	tests := []struct {
		name string
		fig  plots.Figure
	}{
		{"line", lineFigure()},
		{"roc", rocFigure()},
		{"bar", barFigure()},
		{"scatter", scatterFigure(200)},
		{"confusion", confusionFigure()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svg, err := SVG(tt.fig)
			if err != nil {
				t.Fatal(err)
			}
			parseXML(t, svg)
			for _, bad := range []string{"<script", "href", "@import", "url(http", "<foreignObject"} {
				if bytes.Contains(bytes.ToLower(svg), []byte(strings.ToLower(bad))) {
					t.Errorf("SVG contains %q", bad)
				}
			}
		})
	}
}

func TestSVGEscapesLabels(t *testing.T) {
	hostile := `</text><script>alert(1)</script>&`
	f := lineFigure()
	f.Title, f.XLabel, f.YLabel = hostile, hostile, hostile
	f.Series[0].Name = hostile
	f.Notes = []string{hostile}
	c := confusionFigure()
	c.Matrix.Labels[0] = hostile
	b := barFigure()
	b.Series[1].Categories[0] = hostile
	for _, fig := range []plots.Figure{f, c, b} {
		svg, err := SVG(fig)
		if err != nil {
			t.Fatal(err)
		}
		parseXML(t, svg)
		if bytes.Contains(svg, []byte("<script")) {
			t.Errorf("%s: unescaped script tag", fig.Kind)
		}
	}
}

func TestSVGSizeBound(t *testing.T) {
	many := plots.Figure{Kind: plots.Confusion, Title: "100 classes", Matrix: &plots.Matrix{}}
	for i := range 100 {
		many.Matrix.Labels = append(many.Matrix.Labels, "class-"+string(rune('a'+i%26))+string(rune('a'+i/26)))
		hr, br := make([]int, 100), make([]int, 100)
		for j := range hr {
			hr[j], br[j] = 1+(i*j)%7, 1+(i+j)%5
		}
		many.Matrix.Head = append(many.Matrix.Head, hr)
		many.Matrix.Base = append(many.Matrix.Base, br)
	}
	cats := plots.Figure{Kind: plots.Bar, Title: "many bars"}
	for _, side := range []plots.Side{plots.Base, plots.Head} {
		s := plots.Series{Name: "v", Side: side}
		for i := range 100000 {
			s.X = append(s.X, float64(i))
			s.Y = append(s.Y, float64(i%97))
		}
		cats.Series = append(cats.Series, s)
	}
	roc := bigLine(100000)
	roc.Kind = plots.ROC
	for i := range roc.Series {
		for j := range roc.Series[i].X {
			roc.Series[i].X[j] /= 100000
		}
	}
	tests := []struct {
		name string
		fig  plots.Figure
	}{
		{"line 100k points", bigLine(100000)},
		{"roc 100k points", roc},
		{"scatter 100k points", scatterFigure(100000)},
		{"confusion 100 classes", many},
		{"bar 100k categories", cats},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svg, err := SVG(tt.fig)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d bytes", len(svg))
			if len(svg) > MaxSVGBytes {
				t.Errorf("%d bytes, over %d", len(svg), MaxSVGBytes)
			}
			parseXML(t, svg)
		})
	}
}

func TestSVGNoData(t *testing.T) {
	tests := []struct {
		name string
		fig  plots.Figure
	}{
		{"line without points", plots.Figure{Kind: plots.Line}},
		{"confusion without matrix", plots.Figure{Kind: plots.Confusion}},
		{"bar without series", plots.Figure{Kind: plots.Bar}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := SVG(tt.fig); !errors.Is(err, ErrNoData) {
				t.Errorf("err = %v, want ErrNoData", err)
			}
		})
	}
}

func TestHTMLAndWriteDir(t *testing.T) {
	dup := lineFigure()
	dup.ID = "TRAIN/loss.tsv" // folds onto the first after sanitizing
	figs := []plots.Figure{lineFigure(), dup, rocFigure(), {ID: "../../etc/passwd", Kind: plots.Bar, Series: barFigure().Series}, {ID: "index", Kind: plots.Scatter, Series: scatterFigure(10).Series}}
	dir := t.TempDir()
	files, err := WriteDir(dir, figs)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		if filepath.Dir(f) != dir {
			t.Errorf("%s is outside %s", f, dir)
		}
		names = append(names, filepath.Base(f))
	}
	want := []string{"train_loss.tsv.svg", "TRAIN_loss.tsv-2.svg", "eval_roc.json.svg", "etc_passwd.svg", "index-2.svg", "index.html"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("files = %v, want %v", names, want)
	}
	page, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(page, []byte("<svg ")); n != len(figs) {
		t.Errorf("page has %d SVGs, want %d", n, len(figs))
	}
	for _, bad := range []string{"<script", "src=", "href="} {
		if bytes.Contains(page, []byte(bad)) {
			t.Errorf("page contains %q", bad)
		}
	}
}

// TestWriteDirRemovesGonePlots: a plot removed from the config loses its
// SVG on the next write, and files mlci did not write stay, even when the
// list of written files names them or a path outside.
func TestWriteDirRemovesGonePlots(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "plots")
	roc := rocFigure()
	if _, err := WriteDir(dir, []plots.Figure{lineFigure(), roc}); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{filepath.Join(dir, "mine.svg"): "user's", filepath.Join(root, "outside.svg"): "outside"} {
		if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A list tampered with to name the user's file and a path outside.
	list := filepath.Join(dir, ".mlci-plots")
	old, err := os.ReadFile(list)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(list, append(old, "../outside.svg\n.hidden.svg\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteDir(dir, []plots.Figure{lineFigure()}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"train_loss.tsv.svg": true, "eval_roc.json.svg": false, "mine.svg": true, "index.html": true, "../outside.svg": true} {
		_, err := os.Stat(filepath.Join(dir, name))
		if got := err == nil; got != want {
			t.Errorf("%s exists = %v, want %v", name, got, want)
		}
	}
}
