package metrics

import (
	"fmt"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func vp(v Value) *Value     { return &v }
func fp(x float64) *float64 { return &x }
func file(path string, kv ...any) *File {
	f := &File{Path: path, Values: map[string]Value{}}
	for i := 0; i+1 < len(kv); i += 2 {
		var v Value
		switch x := kv[i+1].(type) {
		case float64:
			v = num(x, 1)
		case int:
			v = num(float64(x), 1)
		case string:
			v = str(x, 1)
		case bool:
			v = boolean(x, 1)
		case nil:
			v = null(1)
		}
		f.Values[kv[i].(string)] = v
	}
	return f
}

func TestDiff(t *testing.T) {
	// Variables, not constants: Go folds constant arithmetic exactly, and
	// these cases are about float64 arithmetic.
	p1, p2, p3, p8, p9 := 0.1, 0.2, 0.3, 0.8, 0.9
	tests := []struct {
		name       string
		base, head []*File
		want       []Row
	}{
		{
			name: "changed and unchanged",
			base: []*File{file("m.json", "acc", 0.8, "loss", 0.5)},
			head: []*File{file("m.json", "acc", 0.9, "loss", 0.5)},
			want: []Row{
				{Path: "m.json", Metric: "acc", Base: vp(num(0.8, 1)), Head: vp(num(0.9, 1)), Change: fp(p9 - p8), Percent: fp(100 * (p9 - p8) / p8), Status: StatusChanged},
				{Path: "m.json", Metric: "loss", Base: vp(num(0.5, 1)), Head: vp(num(0.5, 1)), Change: fp(0), Percent: fp(0), Status: StatusUnchanged},
			},
		},
		{
			name: "tiny difference is a change",
			base: []*File{file("m.json", "acc", 0.3)},
			head: []*File{file("m.json", "acc", p1+p2)},
			want: []Row{
				{Path: "m.json", Metric: "acc", Base: vp(num(0.3, 1)), Head: vp(num(p1+p2, 1)), Change: fp(p1 + p2 - p3), Percent: fp(100 * (p1 + p2 - p3) / p3), Status: StatusChanged},
			},
		},
		{
			name: "negative base and zero base",
			base: []*File{file("m.json", "a", -2, "b", 0)},
			head: []*File{file("m.json", "a", -1, "b", 1)},
			want: []Row{
				{Path: "m.json", Metric: "a", Base: vp(num(-2, 1)), Head: vp(num(-1, 1)), Change: fp(1), Percent: fp(50), Status: StatusChanged},
				{Path: "m.json", Metric: "b", Base: vp(num(0, 1)), Head: vp(num(1, 1)), Change: fp(1), Status: StatusChanged},
			},
		},
		{
			name: "added and removed",
			base: []*File{file("m.json", "old", 1, "same", 2)},
			head: []*File{file("m.json", "new", 3, "same", 2)},
			want: []Row{
				{Path: "m.json", Metric: "new", Head: vp(num(3, 1)), Status: StatusAdded},
				{Path: "m.json", Metric: "old", Base: vp(num(1, 1)), Status: StatusRemoved},
				{Path: "m.json", Metric: "same", Base: vp(num(2, 1)), Head: vp(num(2, 1)), Change: fp(0), Percent: fp(0), Status: StatusUnchanged},
			},
		},
		{
			name: "file missing on a side",
			base: []*File{file("a.json", "x", 1), file("gone.json", "y", 2)},
			head: []*File{file("new.json", "z", 3), file("a.json", "x", 1)},
			want: []Row{
				{Path: "a.json", Metric: "x", Base: vp(num(1, 1)), Head: vp(num(1, 1)), Change: fp(0), Percent: fp(0), Status: StatusUnchanged},
				{Path: "gone.json", Metric: "y", Base: vp(num(2, 1)), Status: StatusRemoved},
				{Path: "new.json", Metric: "z", Head: vp(num(3, 1)), Status: StatusAdded},
			},
		},
		{
			name: "strings, bools and nulls",
			base: []*File{file("p.yaml", "opt", "adam", "same", "x", "flag", true, "n", nil, "kind", "1")},
			head: []*File{file("p.yaml", "opt", "sgd", "same", "x", "flag", true, "n", nil, "kind", 1)},
			want: []Row{
				{Path: "p.yaml", Metric: "flag", Base: vp(boolean(true, 1)), Head: vp(boolean(true, 1)), Change: fp(0), Percent: fp(0), Status: StatusUnchanged},
				{Path: "p.yaml", Metric: "kind", Base: vp(str("1", 1)), Head: vp(num(1, 1)), Status: StatusChanged},
				{Path: "p.yaml", Metric: "n", Base: vp(null(1)), Head: vp(null(1)), Status: StatusUnchanged},
				{Path: "p.yaml", Metric: "opt", Base: vp(str("adam", 1)), Head: vp(str("sgd", 1)), Status: StatusChanged},
				{Path: "p.yaml", Metric: "same", Base: vp(str("x", 1)), Head: vp(str("x", 1)), Status: StatusUnchanged},
			},
		},
		{
			name: "booleans are 0 and 1, as in Python",
			base: []*File{file("m.json", "up", false, "down", true, "same", true, "mixed", true)},
			head: []*File{file("m.json", "up", true, "down", false, "same", 1, "mixed", 0.5)},
			want: []Row{
				{Path: "m.json", Metric: "down", Base: vp(boolean(true, 1)), Head: vp(boolean(false, 1)), Change: fp(-1), Percent: fp(-100), Status: StatusChanged},
				{Path: "m.json", Metric: "mixed", Base: vp(boolean(true, 1)), Head: vp(num(0.5, 1)), Change: fp(-0.5), Percent: fp(-50), Status: StatusChanged},
				{Path: "m.json", Metric: "same", Base: vp(boolean(true, 1)), Head: vp(num(1, 1)), Change: fp(0), Percent: fp(0), Status: StatusUnchanged},
				{Path: "m.json", Metric: "up", Base: vp(boolean(false, 1)), Head: vp(boolean(true, 1)), Change: fp(1), Status: StatusChanged},
			},
		},
		{
			name: "params rows say so",
			base: []*File{{Path: "p.yaml", Params: true, Values: map[string]Value{"lr": num(0.1, 1)}}},
			head: []*File{file("p.yaml", "lr", 0.1), file("m.json", "a", 1)},
			want: []Row{
				{Path: "m.json", Metric: "a", Head: vp(num(1, 1)), Status: StatusAdded},
				{Path: "p.yaml", Metric: "lr", Base: vp(num(0.1, 1)), Head: vp(num(0.1, 1)), Change: fp(0), Percent: fp(0), Status: StatusUnchanged, Params: true},
			},
		},
		{
			name: "same path twice: later values win",
			base: []*File{file("m.json", "a", 1, "b", 1), file("m.json", "b", 2), nil},
			head: []*File{file("m.json", "a", 1, "b", 2)},
			want: []Row{
				{Path: "m.json", Metric: "a", Base: vp(num(1, 1)), Head: vp(num(1, 1)), Change: fp(0), Percent: fp(0), Status: StatusUnchanged},
				{Path: "m.json", Metric: "b", Base: vp(num(2, 1)), Head: vp(num(2, 1)), Change: fp(0), Percent: fp(0), Status: StatusUnchanged},
			},
		},
		{
			name: "overflowing change is left out",
			base: []*File{file("m.json", "a", -1e308)},
			head: []*File{file("m.json", "a", 1e308)},
			want: []Row{
				{Path: "m.json", Metric: "a", Base: vp(num(-1e308, 1)), Head: vp(num(1e308, 1)), Status: StatusChanged},
			},
		},
		{
			name: "nothing",
			want: []Row{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Diff(tt.base, tt.head)
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("Diff (-want +got):\n%s", d)
			}
		})
	}
}

func TestDiffLeavesFilesAlone(t *testing.T) {
	first := file("m.json", "a", 1)
	Diff([]*File{first, file("m.json", "a", 2)}, nil)
	if d := cmp.Diff(file("m.json", "a", 1), first); d != "" {
		t.Errorf("Diff changed its input (-want +got):\n%s", d)
	}
}

// benchFiles returns base and head with n metrics, about half of them
// changed, plus one added and one removed.
func benchFiles(n int) (base, head []*File) {
	b := &File{Path: "metrics/eval.json", Values: make(map[string]Value, n)}
	h := &File{Path: "metrics/eval.json", Values: make(map[string]Value, n)}
	for i := range n {
		key := fmt.Sprintf("eval.class_%04d.f1", i)
		x := float64(i) / float64(n)
		b.Values[key] = num(x, i+2)
		if i%2 == 0 {
			x += 0.001
		}
		h.Values[key] = num(x, i+2)
	}
	b.Values["only.base"] = num(1, 1)
	h.Values["only.head"] = num(1, 1)
	return []*File{b}, []*File{h}
}

func BenchmarkDiffAndMarkdown(b *testing.B) {
	base, head := benchFiles(10000)
	b.ReportAllocs()
	for b.Loop() {
		rows := Diff(base, head)
		if err := RenderMarkdown(io.Discard, rows, RenderOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
