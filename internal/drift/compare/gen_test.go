package compare

import (
	"context"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/mlci/mlci/internal/drift/profile"
	"github.com/mlci/mlci/internal/tabular"
)

// cell is one generated value.
type cell struct {
	kind tabular.Kind
	num  float64
	text []byte
}

// genColumn generates one column's values.
type genColumn struct {
	name string
	gen  func(r *rand.Rand) cell
}

// genReader is a tabular.Reader over generated rows, so a million-row
// comparison needs no file.
type genReader struct {
	cols []genColumn
	rows int
	done int
	rng  *rand.Rand
}

func (g *genReader) Columns() []string {
	names := make([]string, len(g.cols))
	for i, c := range g.cols {
		names[i] = c.name
	}
	return names
}

func (g *genReader) Close() error { return nil }

func (g *genReader) Next(b *tabular.Batch) error {
	b.Len = 0
	if len(b.Columns) != len(g.cols) {
		b.Columns = make([]tabular.Column, len(g.cols))
	}
	for i := range b.Columns {
		c := &b.Columns[i]
		c.Kinds, c.Nums, c.Texts = c.Kinds[:0], c.Nums[:0], c.Texts[:0]
	}
	for b.Len < tabular.BatchRows && g.done < g.rows {
		for i, col := range g.cols {
			v := col.gen(g.rng)
			c := &b.Columns[i]
			c.Kinds = append(c.Kinds, v.kind)
			c.Nums = append(c.Nums, v.num)
			c.Texts = append(c.Texts, v.text)
		}
		b.Len++
		g.done++
	}
	if b.Len == 0 {
		return io.EOF
	}
	return nil
}

func normal(mean, sd float64) func(*rand.Rand) cell {
	return func(r *rand.Rand) cell { return cell{kind: tabular.Number, num: mean + sd*r.NormFloat64()} }
}

func constant(v float64) func(*rand.Rand) cell {
	return func(*rand.Rand) cell { return cell{kind: tabular.Number, num: v} }
}

// categories draws from values with probabilities p.
func categories(p []float64, values ...string) func(*rand.Rand) cell {
	texts := make([][]byte, len(values))
	for i, v := range values {
		texts[i] = []byte(v)
	}
	return func(r *rand.Rand) cell {
		u := r.Float64()
		for i, pi := range p {
			if u < pi {
				return cell{kind: tabular.Text, text: texts[i]}
			}
			u -= pi
		}
		return cell{kind: tabular.Text, text: texts[len(texts)-1]}
	}
}

func boolean(pTrue float64) func(*rand.Rand) cell {
	return func(r *rand.Rand) cell {
		if r.Float64() < pTrue {
			return cell{kind: tabular.Bool, num: 1}
		}
		return cell{kind: tabular.Bool}
	}
}

// withMissing makes a share of gen's values missing.
func withMissing(share float64, gen func(*rand.Rand) cell) func(*rand.Rand) cell {
	return func(r *rand.Rand) cell {
		if r.Float64() < share {
			return cell{kind: tabular.Missing}
		}
		return gen(r)
	}
}

func missing(*rand.Rand) cell { return cell{kind: tabular.Missing} }

func text(s string) func(*rand.Rand) cell {
	b := []byte(s)
	return func(*rand.Rand) cell { return cell{kind: tabular.Text, text: b} }
}

func build(t testing.TB, rows int, seed uint64, cols []genColumn, opts profile.Options) *profile.Profile {
	t.Helper()
	r := &genReader{cols: cols, rows: rows, rng: rand.New(rand.NewPCG(seed, 1))}
	p, err := profile.Build(context.Background(), r, opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
