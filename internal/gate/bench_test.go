package gate

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/mlci/mlci/internal/config"
	"github.com/mlci/mlci/internal/metrics"
)

// BenchmarkDiffGatesMarkdown is the speed goal: 10,000 metrics in
// head and base and 50 rules, diffed, judged and rendered as markdown.
func BenchmarkDiffGatesMarkdown(b *testing.B) {
	var hj, bj strings.Builder
	hj.WriteString("{")
	bj.WriteString("{")
	for i := range 10000 {
		if i > 0 {
			hj.WriteString(",")
			bj.WriteString(",")
		}
		fmt.Fprintf(&bj, `"group%d": {"m%d": %g}`, i, i, 0.5+float64(i%100)/1000)
		fmt.Fprintf(&hj, `"group%d": {"m%d": %g}`, i, i, 0.5+float64((i*7)%100)/1000)
	}
	hj.WriteString("}")
	bj.WriteString("}")
	head, err := metrics.Parse("metrics.json", []byte(hj.String()))
	if err != nil {
		b.Fatal(err)
	}
	base, err := metrics.Parse("metrics.json", []byte(bj.String()))
	if err != nil {
		b.Fatal(err)
	}
	var cfg strings.Builder
	cfg.WriteString("gates:\n")
	for i := range 50 {
		metric := fmt.Sprintf("group%d.m%d", i*200, i*200)
		if i%10 == 0 {
			metric = fmt.Sprintf("group%d*.m*", i) // a glob over many metrics
		}
		fmt.Fprintf(&cfg, "  - {name: r%d, metric: %q, goal: maximize, min: 0.4, max_drop: 5%%}\n", i, metric)
	}
	c, err := config.Parse("mlci.yaml", []byte(cfg.String()))
	if err != nil {
		b.Fatal(err)
	}
	in := Input{Base: []*metrics.File{base}, Head: []*metrics.File{head}}
	b.ResetTimer()
	for b.Loop() {
		rows := metrics.Diff(in.Base, in.Head)
		if err := metrics.RenderMarkdown(io.Discard, rows, metrics.RenderOptions{}); err != nil {
			b.Fatal(err)
		}
		r, err := Evaluate(context.Background(), c.Gates, in)
		if err != nil {
			b.Fatal(err)
		}
		if err := RenderMarkdown(io.Discard, r, 5); err != nil {
			b.Fatal(err)
		}
	}
}
