package plots

import (
	"fmt"
	"math"
	"strconv"
	"testing"
)

// benchCSV is the shape bench/plots.sh times: step,loss,val_loss over n
// rows, values printed as awk's %.6f prints them.
func benchCSV(n int, shift float64) []byte {
	b := []byte("step,loss,val_loss\n")
	for i := range n {
		f := float64(i)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, ',')
		b = strconv.AppendFloat(b, math.Exp(-f/20000)+0.05*math.Sin(f/97+shift)+shift/10, 'f', 6, 64)
		b = append(b, ',')
		b = strconv.AppendFloat(b, math.Exp(-f/25000)+0.07*math.Sin(f/131+shift)+shift/10, 'f', 6, 64)
		b = append(b, '\n')
	}
	return b
}

// benchProject is ten line plots of 100,000 points, head against base, as
// bench/plots.sh writes them.
func benchProject(b *testing.B) ([]Definition, ReadFunc, ReadFunc) {
	b.Helper()
	head, base := map[string][]byte{}, map[string][]byte{}
	src := ""
	for i := range 10 {
		name := fmt.Sprintf("plots/run%d.csv", i)
		head[name], base[name] = benchCSV(100_000, 0), benchCSV(100_000, 1)
		src += fmt.Sprintf("- %s:\n    x: step\n    y: [loss, val_loss]\n", name)
	}
	d, err := ParseDefinitions([]byte(src))
	if err != nil {
		b.Fatal(err)
	}
	read := func(m map[string][]byte) ReadFunc {
		return func(p string) ([]byte, error) { return m[p], nil }
	}
	return d, read(head), read(base)
}

func BenchmarkBuild(b *testing.B) {
	d, head, base := benchProject(b)
	b.ResetTimer()
	for b.Loop() {
		if _, err := Build(d, head, base, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadCSV(b *testing.B) {
	data := benchCSV(100_000, 0)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		cols := []*column{{field: "step"}, {field: "loss"}, {field: "val_loss"}}
		if err := readColumns("a.csv", data, cols); err != nil {
			b.Fatal(err)
		}
	}
}
