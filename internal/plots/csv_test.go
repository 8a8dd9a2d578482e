package plots

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// csvRecords reads all of data with encoding/csv configured as readCSV
// once configured it, or with csvReader: the records read and the errors
// met. readCSV stops at any error, so a record that comes with one is left
// out; reading goes on after a wrong field count, to compare what follows,
// and stops at any other error.
func csvRecords(data []byte, comma byte, std bool) []string {
	var out []string
	var next func() ([]string, error)
	if std {
		r := csv.NewReader(bytes.NewReader(data))
		r.Comma = rune(comma)
		r.ReuseRecord = true
		next = r.Read
	} else {
		r := newCSVReader(data, comma)
		next = func() ([]string, error) {
			rec, err := r.read()
			var s []string
			for _, f := range rec {
				s = append(s, string(f))
			}
			return s, err
		}
	}
	for {
		rec, err := next()
		if err == nil {
			out = append(out, fmt.Sprintf("%q", rec))
		}
		if err == io.EOF {
			return out
		}
		if err != nil {
			out = append(out, "error: "+err.Error())
			if !errors.Is(err, csv.ErrFieldCount) {
				return out
			}
		}
	}
}

func TestCSVReaderMatchesEncodingCSV(t *testing.T) {
	tests := []struct {
		name string
		data string
	}{
		{name: "empty", data: ""},
		{name: "plain", data: "a,b\n1,2\n3,4\n"},
		{name: "no final newline", data: "a,b\n1,2\n3,4"},
		{name: "CRLF", data: "a,b\r\n1,2\r\n3,4\r\n"},
		{name: "CR before end of input", data: "a,b\n1,2\r"},
		{name: "lone CR at end", data: "a,b\n1,2\n\r"},
		{name: "CR inside a field", data: "a,b\n1\r,2\n"},
		{name: "two CRs", data: "a,b\n1,2\r\r\n"},
		{name: "empty lines", data: "\n\na,b\n\n1,2\n\r\n\n3,4\n\n"},
		{name: "empty fields", data: "a,b,c\n,,\n1,,3\n"},
		{name: "one column", data: "a\n1\n\n2\n"},
		{name: "spaces kept", data: "a, b\n 1 ,2 \n"},
		{name: "BOM is part of the first field", data: "\ufeffa,b\n1,2\n"},
		{name: "too few fields", data: "a,b\n1\n2,3\n"},
		{name: "too many fields", data: "a,b\n1,2,3\n2,3\n"},
		{name: "quoted header", data: "\"a\",\"b,c\"\n1,2\n"},
		{name: "quote later", data: "a,b\n1,2\n\"3\",4\n5,6\n"},
		{name: "quoted field over lines", data: "a,b\n1,2\n\"x\ny\",4\n5,6\n"},
		{name: "quoted CRLF inside", data: "a,b\r\n\"x\r\ny\",4\r\n5,6\r\n"},
		{name: "field count after a quote", data: "a,b\n1,2\n\"3\",4\n5\n6,7\n"},
		{name: "bare quote", data: "a,b\n1,2\n3,4\"\n"},
		{name: "bare quote line number", data: "a,b\n\n1,2\n\n3,x\"y\n"},
		{name: "unterminated quote", data: "a,b\n1,2\n\"3,4\n"},
		{name: "doubled quotes", data: "a,b\n\"say \"\"hi\"\"\",2\n"},
		{name: "TSV-looking data in CSV", data: "a\tb\n1\t2\n"},
		{name: "invalid UTF-8", data: "a,b\n\xff,\xfe\n"},
	}
	for _, tt := range tests {
		for _, comma := range []byte{',', '\t'} {
			data := tt.data
			if comma == '\t' {
				data = string(bytes.ReplaceAll([]byte(data), []byte(","), []byte("\t")))
			}
			t.Run(fmt.Sprintf("%s/%q", tt.name, comma), func(t *testing.T) {
				want := csvRecords([]byte(data), comma, true)
				got := csvRecords([]byte(data), comma, false)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("csvReader differs from encoding/csv on %q (-want +got):\n%s", data, diff)
				}
			})
		}
	}
}

func FuzzCSVReader(f *testing.F) {
	for _, s := range []string{
		"a,b\n1,2\n", "a,b\r\n1,2\r\n", "a,b\n1,2\r", "\n\na,b\n\n1,\n", "a,b\n\"x\ny\",2\n3,4\n",
		"a,b\n1\n", "a\tb\n1\t2\n", "\ufeffa,b\n1,2", "a,b\n3,x\"y\n",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, tab bool) {
		comma := byte(',')
		if tab {
			comma = '\t'
		}
		want := csvRecords(data, comma, true)
		got := csvRecords(data, comma, false)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("csvReader differs from encoding/csv on %q (-want +got):\n%s", data, diff)
		}
	})
}
