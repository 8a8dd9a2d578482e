//go:build integration

package render

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/mlci/mlci/internal/plots"
)

// TestBrowserRendersFiles opens each SVG and the HTML page in headless
// Chromium and checks the screenshot shows a drawing: not blank, and with
// coloured (series) pixels besides the grey axes and text. Set
// MLCI_SCREENSHOT_DIR to keep the screenshots for a look.
func TestBrowserRendersFiles(t *testing.T) {
	bin := chromium(t)
	figs := []plots.Figure{lineFigure(), barFigure(), scatterFigure(2000), confusionFigure(), rocFigure()}
	dir := t.TempDir()
	files, err := WriteDir(dir, figs)
	if err != nil {
		t.Fatal(err)
	}
	shots := os.Getenv("MLCI_SCREENSHOT_DIR")
	if shots == "" {
		shots = t.TempDir()
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			out := filepath.Join(shots, filepath.Base(file)+".png")
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			// A profile of its own, so runs never share state.
			cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu",
				"--user-data-dir="+t.TempDir(), "--screenshot="+out, "--window-size=900,700", "file://"+file)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", bin, err, b)
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("screenshot is not a PNG: %v", err)
			}
			differ, colored := inkPixels(img)
			t.Logf("%s: %d pixels differ from the background, %d coloured", out, differ, colored)
			if differ < 2000 {
				t.Errorf("screenshot is nearly blank: %d pixels differ from the background", differ)
			}
			if colored < 200 {
				t.Errorf("screenshot has %d coloured pixels; the series did not draw", colored)
			}
		})
	}
}

// inkPixels counts pixels unlike the top-left (background) one, and those
// clearly not grey.
func inkPixels(img image.Image) (differ, colored int) {
	b := img.Bounds()
	br, bg, bb, _ := img.At(b.Min.X, b.Min.Y).RGBA()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if absDiff(r, br)+absDiff(g, bg)+absDiff(bl, bb) > 3*0x1000 {
				differ++
			}
			hi, lo := max(r, g, bl), min(r, g, bl)
			if hi-lo > 0x3000 {
				colored++
			}
		}
	}
	return differ, colored
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	// Failing, not skipping: the check is the point of this test, and
	// .ci/run installs Debian's chromium.
	t.Fatal("neither chromium nor chromium-browser is on PATH (apt-get install chromium)")
	return ""
}
