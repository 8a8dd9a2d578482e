package tabular

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

type pqRow struct {
	X float64 `parquet:"x"`
	N *int64  `parquet:"n,optional"`
	S string  `parquet:"s"`
	B bool    `parquet:"b"`
}

type pqNested struct {
	A struct {
		B int64 `parquet:"b"`
	} `parquet:"a"`
}

type pqList struct {
	L []int64 `parquet:"l,list"`
}

func writeParquet[T any](t *testing.T, rows []T, opts ...parquet.WriterOption) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "t.parquet")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewGenericWriter[T](f, opts...)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestParquetAcrossPagesAndRowGroups reads a file whose row groups and
// pages are far smaller than a batch, so every column crosses pages and
// groups at different rows.
func TestParquetAcrossPagesAndRowGroups(t *testing.T) {
	const n = 2*BatchRows + 123
	rows := make([]pqRow, n)
	for i := range rows {
		rows[i] = pqRow{X: float64(i) / 2, S: "s" + strconv.Itoa(i%7), B: i%3 == 0}
		if i%5 != 0 {
			v := int64(i)
			rows[i].N = &v
		}
	}
	path := writeParquet(t, rows, parquet.MaxRowsPerRowGroup(1000), parquet.PageBufferSize(256))
	r, err := Open(path, Auto)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := strings.Join(r.Columns(), ","); got != "x,n,s,b" {
		t.Fatalf("columns %s", got)
	}
	got, err := readAll(t, r)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("%d rows, want %d", len(got), n)
	}
	for i, row := range got {
		want := []string{"number:" + strconv.FormatFloat(float64(i)/2, 'g', -1, 64), "missing", "text:s" + strconv.Itoa(i%7), "bool:0"}
		if i%5 != 0 {
			want[1] = "number:" + strconv.Itoa(i)
		}
		if i%3 == 0 {
			want[3] = "bool:1"
		}
		if strings.Join(row, "|") != strings.Join(want, "|") {
			t.Fatalf("row %d = %q, want %q", i, row, want)
		}
	}
}

func TestParquetRefused(t *testing.T) {
	tests := []struct {
		name string
		path func(t *testing.T) string
		err  string
	}{
		{"nested", func(t *testing.T) string { return writeParquet(t, []pqNested{{}}) }, `column "a" is nested`},
		{"list", func(t *testing.T) string { return writeParquet(t, []pqList{{L: []int64{1}}}) }, `column "l" is`},
		{"empty file", func(t *testing.T) string { return writeFile(t, "e.parquet", "") }, "empty table"},
		{"not parquet", func(t *testing.T) string { return writeFile(t, "e.parquet", "a,b\n1,2\n") }, "not a readable Parquet file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Open(tt.path(t), Parquet)
			if err == nil {
				r.Close()
				t.Fatal("opened")
			}
			if !strings.Contains(err.Error(), tt.err) {
				t.Errorf("error %v, want %q", err, tt.err)
			}
		})
	}
}
