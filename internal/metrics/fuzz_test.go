package metrics

import (
	"math"
	"strings"
	"testing"
)

// checkParse is what every fuzz target asserts: Parse and ParseParams
// return a file or a one-line *Error, never panic, and never hand out
// values that the diff and gates cannot handle.
func checkParse(t *testing.T, path string, data []byte) {
	checkParsed(t, path, data, Parse)
	checkParsed(t, path, data, ParseParams)
}

func checkParsed(t *testing.T, path string, data []byte, parse func(string, []byte) (*File, error)) {
	f, err := parse(path, data)
	if err != nil {
		if _, ok := err.(*Error); !ok {
			t.Fatalf("error %v is a %T, not an *Error", err, err)
		}
		if s := err.Error(); strings.ContainsAny(s, "\n\r") {
			t.Fatalf("error is not one line: %q", s)
		}
		return
	}
	for k, v := range f.Values {
		if v.Line < 1 {
			t.Errorf("%q has line %d", k, v.Line)
		}
		if v.Kind == Number && (math.IsNaN(v.Num) || math.IsInf(v.Num, 0)) {
			t.Errorf("%q is %v", k, v.Num)
		}
	}
}

func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{
		`{"eval": {"test": {"accuracy": 0.9}}, "loss": [0.5, 0.4]}`,
		`{"a": NaN}`, `{"a": -Infinity}`, `[{"a": 1}, {"a": 2}]`,
		`{"a": 1, "a": 2}`, `{"a.b": 1, "a": {"b": 2}}`, `5`, `{} {}`,
		"\ufeff{\"a\": \"x\\ny\"}", `{"a": 1e400}`, `[[[[]]]]`, `{"a": [1,`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkParse(t, "m.json", data) })
}

func FuzzParseYAML(f *testing.F) {
	for _, s := range []string{
		"train:\n  lr: 0.001\n  layers: [64, 32]\n",
		"a: .nan\n", "a: 1\na: 2\n", "base: &b {x: 1}\nc:\n  <<: *b\n  y: 2\n",
		"a: &a [*a]\n", "---\n", "5\n", "a: 1\n---\nb: 2\n", "? [x]\n: 1\n",
		"a: !!float abc\n", "a: !!int 1.5\n", "- - - 1\n", "a: 0x1F\nb: 2001-12-14\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkParse(t, "m.yaml", data) })
}

func FuzzParseCSV(f *testing.F) {
	for _, s := range []string{
		"acc,loss\n0.9,0.1\n", "step,loss\n0,1\n1,0.5\n", "a,b\n1,2,3\n",
		"a,a\n1,2\n", "a\n\"x\ny\"\n", "a\nNaN\n", "a\n1e400\n", "a,b\n\"1,2\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkParse(t, "m.csv", data)
		checkParse(t, "m.tsv", data)
	})
}
