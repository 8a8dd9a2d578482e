package report

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlci/mlci/internal/config"
	"github.com/mlci/mlci/internal/gate"
	"github.com/mlci/mlci/internal/metrics"
)

// The comment limits of GitHub and GitLab, in characters: one a long report
// overflows, one it fits.
const (
	smallLimit = 65536
	largeLimit = 1000000
)

var update = flag.Bool("update", false, "rewrite golden files")

func parse(t *testing.T, path, src string) *metrics.File {
	t.Helper()
	f, err := metrics.Parse(path, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func sample(t *testing.T) Input {
	base := parse(t, "metrics.json", `{"eval": {"acc": 0.91, "loss": 0.30}, "n": 70}`)
	head := parse(t, "metrics.json", `{"eval": {"acc": 0.88, "loss": 0.25}, "n": 70}`)
	cfg, err := config.Parse("mlci.yaml", []byte("gates:\n  - {name: acc, metric: eval.acc, goal: maximize, max_drop: 1%}\n  - {name: loss, metric: eval.loss, goal: minimize, max_rise: 0.1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	g, err := gate.Evaluate(context.Background(), cfg.Gates, gate.Input{Base: []*metrics.File{base}, Head: []*metrics.File{head}})
	if err != nil {
		t.Fatal(err)
	}
	pb := parse(t, "params.yaml", "k: 1\nseed: 42\n")
	ph := parse(t, "params.yaml", "k: 3\nseed: 42\n")
	return Input{
		Baseline:    "merge base with main (1a2b3c4d5e6f)",
		DataChecked: true,
		Data: []Dataset{
			{Name: "images", Check: "ok", Diff: "changed", Added: 2, Removed: 1, Modified: 3, BytesBefore: 1 << 20, BytesAfter: 1<<20 + 4096, Files: 1001},
			{Name: "labels|v2", Check: "changed", Added: 0, Removed: 0, Modified: 1, Diff: "unchanged", BytesAfter: 512, Files: 1},
		},
		Metrics: metrics.Diff([]*metrics.File{base}, []*metrics.File{head}),
		Params:  metrics.Diff([]*metrics.File{pb}, []*metrics.File{ph}),
		Gates:   g,
		RunURL:  "https://github.com/o/r/actions/runs/42",
		Commit:  "0123456789abcdef0123",
		Notes:   []string{"mlci-run.intoto.json was recorded at commit 89abcdef0123, not at HEAD (0123456789ab)"},
	}
}

func TestRenderGolden(t *testing.T) {
	body, truncated := Render(sample(t), smallLimit)
	if truncated {
		t.Error("small report marked truncated")
	}
	p := filepath.Join("testdata", "report.md")
	if *update {
		os.WriteFile(p, []byte(body), 0o644)
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(string(want), body); d != "" {
		t.Errorf("report (-want +got):\n%s", d)
	}
}

func TestVerdictAndSummary(t *testing.T) {
	in := sample(t)
	if in.Pass() {
		t.Error("a failed gate and a changed dataset passed")
	}
	if got := in.Summary(); got != "1 of 2 datasets differ from mlci.lock; gates: 1 passed, 1 failed" {
		t.Errorf("summary = %q", got)
	}
	in.Data[1].Check = "ok"
	in.Gates.Pass = true
	if !in.Pass() {
		t.Error("all ok but not passing")
	}
}

func TestRenderFitsLimit(t *testing.T) {
	var hb, bb strings.Builder
	hb.WriteString("{")
	bb.WriteString("{")
	for i := range 5000 {
		if i > 0 {
			hb.WriteString(",")
			bb.WriteString(",")
		}
		fmt.Fprintf(&bb, `"group_with_a_long_name_%d": {"metric_%d": %d}`, i, i, i)
		fmt.Fprintf(&hb, `"group_with_a_long_name_%d": {"metric_%d": %d}`, i, i, i+1)
	}
	hb.WriteString("}")
	bb.WriteString("}")
	in := sample(t)
	in.Metrics = metrics.Diff([]*metrics.File{parse(t, "m.json", bb.String())}, []*metrics.File{parse(t, "m.json", hb.String())})
	full, cut := Render(in, 0)
	if cut || len(full) <= smallLimit {
		t.Fatalf("test report is %d characters; want one over the limit", len(full))
	}
	body, truncated := Render(in, smallLimit)
	if !truncated || len([]rune(body)) > smallLimit {
		t.Fatalf("rendered %d characters (truncated=%v), limit %d", len([]rune(body)), truncated, smallLimit)
	}
	for _, want := range []string{"## ❌ mlci: checks failed", "### Gates", "more rows, left out to fit", "tables shortened to fit"} {
		if !strings.Contains(body, want) {
			t.Errorf("shortened report lacks %q", want)
		}
	}
	if gl, truncated := Render(in, largeLimit); truncated || gl != full {
		t.Error("report under GitLab's limit was shortened")
	}
}

func TestHistory(t *testing.T) {
	in := sample(t)
	in.History = &History{
		Metrics: []string{"eval.acc", "eval.loss"},
		Points: []Point{
			{Label: "1a2b3c4", Values: map[string]float64{"eval.acc": 0.9, "eval.loss": 0.31}},
			{Label: "5d6e7f8", Values: map[string]float64{"eval.acc": 0.91}},
			{Label: "head", Values: map[string]float64{"eval.acc": 0.88, "eval.loss": 0.25}},
		},
	}
	body, _ := Render(in, smallLimit)
	for _, want := range []string{
		"### History",
		"```mermaid\nxychart-beta\n  title \"eval.acc\"\n  x-axis [\"1a2b3c4\", \"5d6e7f8\", \"head\"]\n  line [0.9, 0.91, 0.88]\n```",
		"| `eval.acc` | 0.9 | 0.91 | 0.88 |",
		"| `eval.loss` | 0.31 | — | 0.25 |",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("report lacks %q:\n%s", want, body)
		}
	}
	// A metric missing at one commit gets no chart (xychart has no gaps),
	// only its table row.
	if strings.Contains(body, `title "eval.loss"`) {
		t.Error("charted a metric with a gap")
	}
}

func TestRunSection(t *testing.T) {
	in := sample(t)
	in.Run = &Run{Identity: "blake3:abc", Hardware: "gpu: H100\ndriver: 550", Image: "sha256:def", Subjects: map[string]string{"model.bin": "sha256:123"}}
	body, _ := Render(in, smallLimit)
	for _, want := range []string{"### Run", "| identity | `blake3:abc` |", "| model.bin | `sha256:123` |", "| hardware | gpu: H100; driver: 550 |"} {
		if !strings.Contains(body, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}
