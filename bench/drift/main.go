// Command drift is the drift benchmark's Go side: it generates the
// reference and current tables (CSV and Parquet), profiles the reference,
// and profiles and compares a current table the way `mlci drift` will.
//
//	drift gen -rows N -dir DIR
//	drift profile -o ref.json ref.csv
//	drift compare -ref ref.json cur.csv
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"

	"github.com/parquet-go/parquet-go"

	"github.com/mlci/mlci/internal/drift/compare"
	"github.com/mlci/mlci/internal/drift/profile"
	"github.com/mlci/mlci/internal/tabular"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: drift gen|profile|compare ...")
		os.Exit(2)
	}
	ctx := context.Background()
	// MLCI_CPUPROFILE=FILE writes a CPU profile of the run, to see where
	// the time of a compare goes.
	if file := os.Getenv("MLCI_CPUPROFILE"); file != "" {
		f, err := os.Create(file)
		if err != nil {
			fmt.Fprintln(os.Stderr, "drift:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	var err error
	switch os.Args[1] {
	case "gen":
		err = gen(os.Args[2:])
	case "profile":
		err = runProfile(ctx, os.Args[2:])
	case "compare":
		err = runCompare(ctx, os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "drift:", err)
		os.Exit(1)
	}
}

func runProfile(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("profile", flag.ExitOnError)
	out := fs.String("o", "ref.json", "profile to write")
	fs.Parse(args)
	p, err := profileFile(ctx, fs.Arg(0), nil)
	if err != nil {
		return err
	}
	return p.Write(*out)
}

func runCompare(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("compare", flag.ExitOnError)
	refPath := fs.String("ref", "ref.json", "reference profile")
	fs.Parse(args)
	ref, err := profile.Read(*refPath)
	if err != nil {
		return err
	}
	cur, err := profileFile(ctx, fs.Arg(0), ref)
	if err != nil {
		return err
	}
	rep, err := compare.Compare(ref, cur, compare.DefaultRules())
	if err != nil {
		return err
	}
	return rep.Table(os.Stdout)
}

func profileFile(ctx context.Context, path string, ref *profile.Profile) (*profile.Profile, error) {
	r, err := tabular.Open(path, tabular.Auto)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	opts := profile.DefaultOptions()
	opts.Reference = ref
	return profile.Build(ctx, r, opts)
}

// row is one generated row: 12 numeric and 8 categorical columns.
type row struct {
	N0  float64 `parquet:"n0"`
	N1  float64 `parquet:"n1"`
	N2  float64 `parquet:"n2"`
	N3  float64 `parquet:"n3"`
	N4  float64 `parquet:"n4"`
	N5  float64 `parquet:"n5"`
	N6  float64 `parquet:"n6"`
	N7  float64 `parquet:"n7"`
	N8  float64 `parquet:"n8"`
	N9  float64 `parquet:"n9"`
	N10 float64 `parquet:"n10"`
	N11 float64 `parquet:"n11"`
	C0  string  `parquet:"c0,dict"`
	C1  string  `parquet:"c1,dict"`
	C2  string  `parquet:"c2,dict"`
	C3  string  `parquet:"c3,dict"`
	C4  string  `parquet:"c4,dict"`
	C5  string  `parquet:"c5,dict"`
	C6  string  `parquet:"c6,dict"`
	C7  string  `parquet:"c7,dict"`
}

var cardinality = [8]int{3, 5, 10, 20, 50, 100, 200, 1000}

// fill draws a row. The current data shifts n0 by half a standard
// deviation, n1 by a hundredth, c0 by half its mass and c1 by a point;
// everything else keeps its distribution.
func fill(r *rand.Rand, cur bool, names [8][]string, x *row) {
	shift := func(real, trivial float64) (float64, float64) {
		if cur {
			return real, trivial
		}
		return 0, 0
	}
	a, b := shift(0.5, 0.01)
	x.N0 = r.NormFloat64() + a
	x.N1 = 100 + 15*r.NormFloat64() + 15*b
	x.N2 = math.Exp(r.NormFloat64())
	x.N3 = r.Float64()
	x.N4 = float64(r.IntN(10))
	x.N5 = r.ExpFloat64()
	x.N6 = -50 + 10*r.NormFloat64()
	x.N7 = float64(r.IntN(1000))
	x.N8 = r.NormFloat64() * r.NormFloat64()
	x.N9 = 1e6 * r.Float64()
	x.N10 = math.Round(r.NormFloat64()*100) / 100
	x.N11 = float64(r.IntN(2))
	cats := [8]*string{&x.C0, &x.C1, &x.C2, &x.C3, &x.C4, &x.C5, &x.C6, &x.C7}
	for i, p := range cats {
		*p = names[i][zipf(r, cardinality[i])]
	}
	if cur && r.Float64() < 0.5 {
		x.C0 = names[0][2]
	}
	if cur && r.Float64() < 0.01 {
		x.C1 = names[1][4]
	}
}

// zipf draws 0..n-1 with weight 1/(k+1), by inversion of an approximate
// CDF: skewed like real categories, cheap to draw.
func zipf(r *rand.Rand, n int) int {
	k := int(math.Exp(r.Float64()*math.Log(float64(n)+1))) - 1
	return min(max(k, 0), n-1)
}

func gen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	rows := fs.Int("rows", 1_000_000, "rows per table")
	dir := fs.String("dir", ".", "output folder")
	fs.Parse(args)
	var names [8][]string
	for i, n := range cardinality {
		for k := 0; k < n; k++ {
			names[i] = append(names[i], fmt.Sprintf("c%d_v%d", i, k))
		}
	}
	for _, which := range []string{"ref", "cur"} {
		if err := writeTables(filepath.Join(*dir, which), *rows, which == "cur", names); err != nil {
			return err
		}
	}
	return nil
}

func writeTables(base string, rows int, cur bool, names [8][]string) error {
	seed := uint64(1)
	if cur {
		seed = 2
	}
	r := rand.New(rand.NewPCG(seed, 42))
	cf, err := os.Create(base + ".csv")
	if err != nil {
		return err
	}
	defer cf.Close()
	pf, err := os.Create(base + ".parquet")
	if err != nil {
		return err
	}
	defer pf.Close()
	cw := bufio.NewWriterSize(cf, 1<<20)
	cw.WriteString("n0,n1,n2,n3,n4,n5,n6,n7,n8,n9,n10,n11,c0,c1,c2,c3,c4,c5,c6,c7\n")
	pw := parquet.NewGenericWriter[row](pf, parquet.MaxRowsPerRowGroup(1<<17), parquet.Compression(&parquet.Snappy))
	batch := make([]row, 0, 8192)
	var line []byte
	for i := 0; i < rows; i++ {
		var x row
		fill(r, cur, names, &x)
		line = line[:0]
		for _, v := range []float64{x.N0, x.N1, x.N2, x.N3, x.N4, x.N5, x.N6, x.N7, x.N8, x.N9, x.N10, x.N11} {
			line = strconv.AppendFloat(line, v, 'f', -1, 64)
			line = append(line, ',')
		}
		for j, s := range []string{x.C0, x.C1, x.C2, x.C3, x.C4, x.C5, x.C6, x.C7} {
			if j > 0 {
				line = append(line, ',')
			}
			line = append(line, s...)
		}
		line = append(line, '\n')
		cw.Write(line)
		batch = append(batch, x)
		if len(batch) == cap(batch) {
			if _, err := pw.Write(batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if _, err := pw.Write(batch); err != nil {
		return err
	}
	if err := pw.Close(); err != nil {
		return err
	}
	if err := cw.Flush(); err != nil {
		return err
	}
	if err := cf.Close(); err != nil {
		return err
	}
	return pf.Close()
}
