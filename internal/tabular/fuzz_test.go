package tabular

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"testing"
)

// FuzzCSV checks the CSV reader against encoding/csv with its default
// options: the same records where both succeed, and an error from one
// exactly when the other fails.
func FuzzCSV(f *testing.F) {
	for _, s := range []string{
		"a,b\n1,2\n",
		"a,b\r\n\"x,\"\"y\",2\r\n",
		"a\n\"multi\nline\"\n",
		"a,b\n1\n",
		"a\nx\"y\n",
		"a\n\"open\n",
		"a,b\n\n\n1,2",
		"a\n\"q\"x\n",
		"a,b\n,\r",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if bytes.HasPrefix(data, utf8BOM) {
			return // encoding/csv keeps the BOM; the reader drops it on purpose
		}
		want, wantErr := stdRecords(data)
		r := newCSVReader("fuzz.csv", bytes.NewReader(data), ',')
		var got [][]string
		err := r.readHeader()
		if err == nil {
			got = append(got, append([]string(nil), r.columns...))
			for {
				rec, _, rerr := r.readRecord()
				if errors.Is(rerr, io.EOF) {
					break
				}
				if rerr != nil {
					err = rerr
					break
				}
				if len(rec) != len(r.columns) {
					err = errors.New("field count")
					break
				}
				row := make([]string, len(rec))
				for i, b := range rec {
					row[i] = string(b)
				}
				got = append(got, row)
			}
		}
		if err != nil && errors.Is(err, ErrEmpty) && len(want) == 0 && wantErr == nil {
			return
		}
		if wantErr != nil && err != nil && len(got) > 0 && isDuplicate(got[0]) {
			return
		}
		if (err == nil) != (wantErr == nil) {
			if err != nil && len(want) > 0 && isDuplicate(want[0]) {
				return // duplicate names are refused here, not there
			}
			t.Fatalf("%q: error %v, encoding/csv error %v", data, err, wantErr)
		}
		if err != nil {
			return
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %d records, encoding/csv %d", data, len(got), len(want))
		}
		for i := range got {
			if len(got[i]) != len(want[i]) {
				t.Fatalf("%q: record %d = %q, encoding/csv %q", data, i, got[i], want[i])
			}
			for j := range got[i] {
				if got[i][j] != want[i][j] {
					t.Fatalf("%q: record %d = %q, encoding/csv %q", data, i, got[i], want[i])
				}
			}
		}
	})
}

func isDuplicate(names []string) bool {
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			return true
		}
		seen[n] = true
	}
	return false
}

func stdRecords(data []byte) ([][]string, error) {
	r := csv.NewReader(bytes.NewReader(data))
	var out [][]string
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, rec)
	}
}
