package tabular

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenAll(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, b := write("a.csv", "x,y\n1,2\n3,4\n"), write("b.csv", "x,y\n5,6\n")
	r, err := OpenAll([]string{a, b}, Auto)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rows := 0
	var batch Batch
	for {
		err := r.Next(&batch)
		rows += batch.Len
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if rows != 3 {
		t.Errorf("read %d rows of two files, want 3", rows)
	}
	c := write("c.csv", "x,z\n1,2\n")
	r2, err := OpenAll([]string{a, c}, Auto)
	if err == nil {
		var batch Batch
		for err == nil {
			err = r2.Next(&batch)
		}
		r2.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "only files of one table go together") {
		t.Errorf("files with other columns: %v", err)
	}
}
