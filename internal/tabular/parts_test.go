package tabular

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// readParts reads every part of path in order, as rows of "kind:value"
// cells, and their keys.
func readParts(t *testing.T, path string, partSize int64) ([][]string, []int64, error) {
	t.Helper()
	r, err := Open(path, CSV)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	parts, err := r.(Splitter).Parts(partSize)
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]string
	var keys []int64
	for _, p := range parts {
		got, k, err := readPart(t, p)
		rows = append(rows, got...)
		keys = append(keys, k...)
		if err != nil {
			return rows, keys, err
		}
	}
	return rows, keys, nil
}

func readPart(t *testing.T, p Part) ([][]string, []int64, error) {
	t.Helper()
	var rows [][]string
	var keys []int64
	var b Batch
	for {
		err := p.Next(&b)
		if errors.Is(err, io.EOF) {
			return rows, keys, nil
		}
		if err != nil {
			return rows, keys, err
		}
		if len(b.Keys) != b.Len {
			t.Fatalf("%d keys for %d rows", len(b.Keys), b.Len)
		}
		got, _ := readAll(t, &oneBatch{b: b})
		rows = append(rows, got...)
		keys = append(keys, b.Keys...)
	}
}

// oneBatch hands one batch to readAll.
type oneBatch struct {
	b    Batch
	done bool
}

func (o *oneBatch) Columns() []string { return nil }
func (o *oneBatch) Close() error      { return nil }
func (o *oneBatch) Next(b *Batch) error {
	if o.done {
		b.Len = 0
		return io.EOF
	}
	o.done = true
	*b = o.b
	return nil
}

// sequential reads path with Next, as rows and keys.
func sequential(t *testing.T, path string) ([][]string, []int64) {
	t.Helper()
	r, err := Open(path, CSV)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var rows [][]string
	var keys []int64
	var b Batch
	for {
		err := r.Next(&b)
		if errors.Is(err, io.EOF) {
			return rows, keys
		}
		if err != nil {
			t.Fatal(err)
		}
		got, _ := readAll(t, &oneBatch{b: b})
		rows = append(rows, got...)
		keys = append(keys, b.Keys...)
	}
}

// TestPartsReadEveryRecordOnce cuts files at every part size from one
// byte up: together the parts must read exactly the records, with the
// keys, that one sequential pass reads.
func TestPartsReadEveryRecordOnce(t *testing.T) {
	tests := []struct {
		name, content string
	}{
		{"plain", "a,b\n1,x\n22,yy\n333,zzz\n4,w\n"},
		{"no final newline", "a,b\n1,x\n22,yy\n333,zzz"},
		{"crlf and empty lines", "a,b\r\n1,x\r\n\r\n22,yy\r\n\n\n333,zzz\r\n"},
		{"byte order mark", "\ufeffa,b\n1,x\n2,y\n"},
		{"quotes on one line", "a,b\n\"1,5\",x\n2,\"say \"\"hi\"\"\"\n3,z\n"},
		{"long lines", "a,b\n" + strings.Repeat("1,"+strings.Repeat("x", 300)+"\n", 20)},
		{"header only", "a,b\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "t.csv", tt.content)
			want, wantKeys := sequential(t, path)
			for size := int64(1); size <= int64(len(tt.content))+1; size += 1 + size/40 {
				got, keys, err := readParts(t, path, size)
				if err != nil {
					t.Fatalf("part size %d: %v", size, err)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Fatalf("part size %d (-sequential +parts):\n%s", size, diff)
				}
				if diff := cmp.Diff(wantKeys, keys); diff != "" {
					t.Fatalf("part size %d: keys (-sequential +parts):\n%s", size, diff)
				}
			}
		})
	}
}

// TestPartsRefuseQuotedLineBreaks: a cut may fall inside a quoted field
// that runs over lines, so some part must refuse, for every cut, rather
// than read rows that are not there.
func TestPartsRefuseQuotedLineBreaks(t *testing.T) {
	content := "a,b\n1,x\n2,\"two\nlines\"\n3,\"more\n4,y\n\"\n5,z\n"
	path := writeFile(t, "t.csv", content)
	for size := int64(1); size <= int64(len(content)); size++ {
		if _, _, err := readParts(t, path, size); !errors.Is(err, ErrSplit) {
			t.Fatalf("part size %d: %v, want ErrSplit", size, err)
		}
	}
}

// TestPartsRefuseRaggedRows leaves the message with the line to the
// sequential reader.
func TestPartsRefuseRaggedRows(t *testing.T) {
	path := writeFile(t, "t.csv", "a,b\n1,x\n2\n3,z\n")
	if _, _, err := readParts(t, path, 4); !errors.Is(err, ErrSplit) {
		t.Fatalf("%v, want ErrSplit", err)
	}
}

func TestPartsOnlyBeforeReading(t *testing.T) {
	path := writeFile(t, "t.csv", "a,b\n1,x\n2,y\n")
	r, err := Open(path, CSV)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var b Batch
	if err := r.Next(&b); err != nil {
		t.Fatal(err)
	}
	if parts, err := r.(Splitter).Parts(4); err != nil || parts != nil {
		t.Fatalf("parts after reading: %v, %v", parts, err)
	}
}

func TestOpenAllPartsKeepFilesApart(t *testing.T) {
	a := writeFile(t, "a.csv", "x\n1\n2\n")
	b := writeFile(t, "b.csv", "x\n3\n4\n")
	r, err := OpenAll([]string{a, b}, CSV)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	parts, err := r.(Splitter).Parts(1 << 20)
	if err != nil || len(parts) != 2 {
		t.Fatalf("%d parts, %v", len(parts), err)
	}
	var keys []int64
	var rows [][]string
	for _, p := range parts {
		got, k, err := readPart(t, p)
		if err != nil {
			t.Fatal(err)
		}
		rows, keys = append(rows, got...), append(keys, k...)
	}
	want := [][]string{{"number:1"}, {"number:2"}, {"number:3"}, {"number:4"}}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Fatalf("rows (-want +got):\n%s", diff)
	}
	// The same offsets in two files are different rows.
	if keys[0] == keys[2] || keys[1] == keys[3] {
		t.Fatalf("keys %v repeat across files", keys)
	}
}
