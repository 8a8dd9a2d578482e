package bootstrap

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadScores(t *testing.T) {
	tests := []struct {
		name, path, data string
		idField          string
		want             *Scores
	}{
		{"csv", "s.csv", "id,score\na,0.5\nb,1\nc,-2e-3\n", "",
			&Scores{IDs: []string{"a", "b", "c"}, Values: []float64{0.5, 1, -0.002}, Lines: []int{2, 3, 4}}},
		{"csv bools any case", "s.csv", "id,score\na,true\nb,FALSE\nc,True\n", "",
			&Scores{IDs: []string{"a", "b", "c"}, Values: []float64{1, 0, 1}, Lines: []int{2, 3, 4}}},
		{"csv other columns, spaces, CRLF", "s.CSV", "x , score , id\r\n1, 0.25 , a\r\n2,0.75,b\r\n", "",
			&Scores{IDs: []string{"a", "b"}, Values: []float64{0.25, 0.75}, Lines: []int{2, 3}}},
		{"csv BOM", "s.csv", "\xef\xbb\xbfid,score\na,1\n", "",
			&Scores{IDs: []string{"a"}, Values: []float64{1}, Lines: []int{2}}},
		{"csv quoted multi-line field keeps record start line", "s.csv", "id,note,score\na,\"two\nlines\",1\nb,x,0\n", "",
			&Scores{IDs: []string{"a", "b"}, Values: []float64{1, 0}, Lines: []int{2, 4}}},
		{"csv custom id column", "s.csv", "example,score\nq1,3\n", "example",
			&Scores{IDs: []string{"q1"}, Values: []float64{3}, Lines: []int{2}}},
		{"tsv", "s.tsv", "id\tscore\nsay \"hi\"\t0.5\n", "",
			&Scores{IDs: []string{`say "hi"`}, Values: []float64{0.5}, Lines: []int{2}}},
		{"jsonl numbers and bools", "s.jsonl", `{"id":"a","score":0.5}` + "\n" + `{"id":"b","score":true,"x":[1]}` + "\n" + `{"score":false,"id":"c"}`, "",
			&Scores{IDs: []string{"a", "b", "c"}, Values: []float64{0.5, 1, 0}, Lines: []int{1, 2, 3}}},
		{"jsonl numeric ids as written, blank lines, CRLF", "s.ndjson", "\n{\"id\":7,\"score\":1}\r\n\r\n{\"id\":7.0,\"score\":2}\n\n", "",
			&Scores{IDs: []string{"7", "7.0"}, Values: []float64{1, 2}, Lines: []int{2, 4}}},
		{"jsonl BOM", "s.jsonl", "\xef\xbb\xbf{\"id\":\"a\",\"score\":1}\n", "",
			&Scores{IDs: []string{"a"}, Values: []float64{1}, Lines: []int{1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadScores(tt.path, []byte(tt.data), tt.idField, "score")
			if err != nil {
				t.Fatal(err)
			}
			tt.want.Path = tt.path
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ReadScores (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadScoresErrors(t *testing.T) {
	tests := []struct {
		name, path, data string
		scoreField       string // "score" unless set
		want             string
	}{
		{"unsupported extension", "s.json", "{}", "",
			`s.json: unsupported scores file extension ".json"; use .csv, .tsv, .jsonl or .ndjson`},
		{"no score field given", "s.csv", "id,score\na,1\n", "-",
			`s.csv: no score column given; name the column that holds the per-example score`},
		{"csv empty", "s.csv", "", "",
			`s.csv:1: file is empty; write a header row naming the columns, then one row per example`},
		{"csv only BOM and spaces", "s.csv", "\xef\xbb\xbf \n\n", "",
			`s.csv:1: file is empty; write a header row naming the columns, then one row per example`},
		{"csv header only", "s.csv", "id,score\n", "",
			`s.csv:1: header but no rows; write one row per example`},
		{"csv missing score column", "s.csv", "id,acc,f1\na,1,2\n", "",
			`s.csv:1: no column "score" (columns: "id", "acc", "f1"); pass the name of the score column`},
		{"csv missing id column", "s.csv", "name,score\na,1\n", "",
			`s.csv:1: no column "id" (columns: "name", "score"); pass the name of the id column`},
		{"csv duplicate column", "s.csv", "id,score,x,score\na,1,2,3\n", "",
			`s.csv:1: column "score" appears twice in the header (columns 2 and 4); rename one`},
		{"csv ragged row", "s.csv", "id,score\na,1\nb,2,3\n", "",
			`s.csv:3: row has 3 fields, header has 2; quote fields that contain commas so every row has one field per column`},
		{"tsv ragged row", "s.tsv", "id\tscore\nb\n", "",
			`s.tsv:2: row has 1 fields, header has 2; quote fields that contain tabs so every row has one field per column`},
		{"csv bad quote", "s.csv", "id,score\na\"b,1\n", "",
			`s.csv:2: malformed row: bare " in non-quoted-field; quote fields that contain commas, quotes or newlines, and double quotes inside them`},
		{"csv non-numeric", "s.csv", "id,score\na,1\nb,high\n", "",
			`s.csv:3: score "high" for id "b" is not a number; write a number or true/false`},
		{"csv NaN", "s.csv", "id,score\na,NaN\n", "",
			`s.csv:2: score "NaN" for id "a" is not a finite number; fix the metric for this example (NaN and Inf cannot be averaged)`},
		{"csv Inf", "s.csv", "id,score\na,-inf\n", "",
			`s.csv:2: score "-inf" for id "a" is not a finite number; fix the metric for this example (NaN and Inf cannot be averaged)`},
		{"csv overflow", "s.csv", "id,score\na,1e999\n", "",
			`s.csv:2: score "1e999" for id "a" is not a finite number; fix the metric for this example (NaN and Inf cannot be averaged)`},
		{"csv empty score", "s.csv", "id,score\na, \n", "",
			`s.csv:2: empty score in column "score" for id "a"; score every example`},
		{"csv empty id", "s.csv", "id,score\na,1\n ,1\n", "",
			`s.csv:3: empty id in column "id"; give every example an id`},
		{"csv duplicate id", "s.csv", "id,score\na,1\nb,1\na,0\n", "",
			`s.csv:4: duplicate id "a" (also on line 2); ids must be unique, remove or rename one`},
		{"jsonl empty", "s.jsonl", "\n \n", "",
			`s.jsonl:1: file is empty; write one JSON object per example, one per line`},
		{"jsonl array line", "s.jsonl", `{"id":"a","score":1}` + "\n[1,2]\n", "",
			`s.jsonl:2: line is a JSON array, not a JSON object; write one {...} object per example per line`},
		{"jsonl invalid line", "s.jsonl", "id,score\n", "",
			`s.jsonl:1: line is invalid JSON, not a JSON object; write one {...} object per example per line`},
		{"jsonl broken object", "s.jsonl", `{"id":"a","score":1`, "",
			`s.jsonl:1: invalid JSON: unexpected end of JSON input; write one complete JSON object per line`},
		{"jsonl two objects on a line", "s.jsonl", `{"id":"a","score":1} {"id":"b","score":1}`, "",
			`s.jsonl:1: invalid JSON: invalid character '{' after top-level value; write one complete JSON object per line`},
		{"jsonl missing score", "s.jsonl", `{"id":"a","acc":1,"f1":2}`, "",
			`s.jsonl:1: no field "score" (fields: "acc", "f1", "id"); pass the name of the score field`},
		{"jsonl missing id", "s.jsonl", `{"score":1}`, "",
			`s.jsonl:1: no field "id" (fields: "score"); pass the name of the id field`},
		{"jsonl id wrong type", "s.jsonl", `{"id":null,"score":1}`, "",
			`s.jsonl:1: id field "id" is a null; write the id as a string or number`},
		{"jsonl empty id", "s.jsonl", `{"id":"","score":1}`, "",
			`s.jsonl:1: empty id in field "id"; give every example an id`},
		{"jsonl string score", "s.jsonl", `{"id":"a","score":"0.5"}`, "",
			`s.jsonl:1: score field "score" for id "a" is a string ("\"0.5\""), not a number; write the score as a JSON number or true/false`},
		{"jsonl null score", "s.jsonl", `{"id":"a","score":null}`, "",
			`s.jsonl:1: score field "score" for id "a" is a null ("null"), not a number; write the score as a JSON number or true/false`},
		{"jsonl overflow", "s.jsonl", `{"id":"a","score":-1e400}`, "",
			`s.jsonl:1: score "-1e400" for id "a" is not a finite number; fix the metric for this example (NaN and Inf cannot be averaged)`},
		{"jsonl duplicate id", "s.jsonl", `{"id":"a","score":1}` + "\n\n" + `{"id":"a","score":0}`, "",
			`s.jsonl:3: duplicate id "a" (also on line 1); ids must be unique, remove or rename one`},
		{"newline in path and value stays one line", "x\ny.csv", "id,score\n\"a\nb\",zz\n", "",
			`x\ny.csv:2: score "zz" for id "a\nb" is not a number; write a number or true/false`},
		{"long value is shortened", "s.csv", "id,score\na," + strings.Repeat("x", 100) + "\n", "",
			`s.csv:2: score "` + strings.Repeat("x", 40) + `…" for id "a" is not a number; write a number or true/false`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			field := tt.scoreField
			switch field {
			case "":
				field = "score"
			case "-":
				field = ""
			}
			_, err := ReadScores(tt.path, []byte(tt.data), "", field)
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error\n got: %s\nwant: %s", got, tt.want)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("error is %T, want *Error", err)
			}
		})
	}
}

// FuzzReadScores checks that no input panics and that every error is one
// line naming the file, since CI logs and annotations are line-based.
func FuzzReadScores(f *testing.F) {
	for _, s := range []struct {
		ext  uint8
		data string
	}{
		{0, "id,score\na,0.5\nb,true\n"},
		{0, "\xef\xbb\xbfid,note,score\na,\"x,\ny\",1\n"},
		{0, "id,score\na,1\na,NaN\n"},
		{1, "id\tscore\na\t1\n"},
		{2, `{"id":"a","score":0.5}` + "\n" + `{"id":2,"score":false}` + "\n"},
		{2, `{"id":"a","score":"x"}` + "\n[1]\n"},
		{2, ` { "id" : "a\u0041" , "sc\u006fre" : 1e3 , "x" : {"y":[1,"}\"",{"z":null}]} } ` + "\r\n"},
		{2, `{"id":"é","score":-0.0,"id":"b","":true}`},
	} {
		f.Add(s.ext, []byte(s.data))
	}
	exts := []string{".csv", ".tsv", ".jsonl"}
	f.Fuzz(func(t *testing.T, ext uint8, data []byte) {
		path := "f" + exts[int(ext)%len(exts)]
		if strings.HasSuffix(path, ".jsonl") {
			checkMembers(t, data)
		}
		s, err := ReadScores(path, data, "id", "score")
		if err != nil {
			msg := err.Error()
			if strings.ContainsAny(msg, "\r\n") || !strings.HasPrefix(msg, path+":") {
				t.Fatalf("bad error %q", msg)
			}
			return
		}
		if len(s.IDs) == 0 || len(s.IDs) != len(s.Values) || len(s.IDs) != len(s.Lines) {
			t.Fatalf("inconsistent scores: %d ids, %d values, %d lines", len(s.IDs), len(s.Values), len(s.Lines))
		}
		seen := map[string]bool{}
		for i, id := range s.IDs {
			if id == "" || seen[id] {
				t.Fatalf("id %q empty or repeated", id)
			}
			seen[id] = true
			if v := s.Values[i]; math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("non-finite value %v", v)
			}
			if i > 0 && s.Lines[i] <= s.Lines[i-1] || s.Lines[i] < 1 {
				t.Fatalf("lines not increasing: %v", s.Lines)
			}
		}
	})
}

// checkMembers compares the object scanner used by ReadScores with
// encoding/json on every line of data that is a valid JSON object.
func checkMembers(t *testing.T, data []byte) {
	for _, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] != '{' || !json.Valid(line) {
			continue
		}
		var want map[string]json.RawMessage
		if err := json.Unmarshal(line, &want); err != nil {
			t.Fatalf("valid object %q: %v", line, err)
		}
		got := map[string]json.RawMessage{}
		members(line, func(key, val []byte) {
			got[unquote(key)] = val
			if !keyIs(key, unquote(key)) {
				t.Errorf("keyIs(%q, %q) = false", key, unquote(key))
			}
		})
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("members(%q) (-encoding/json +members):\n%s", line, diff)
		}
	}
}
