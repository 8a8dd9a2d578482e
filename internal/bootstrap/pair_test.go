package bootstrap

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func scores(path string, kv ...any) *Scores {
	s := &Scores{Path: path}
	for i := 0; i < len(kv); i += 2 {
		s.IDs = append(s.IDs, kv[i].(string))
		s.Values = append(s.Values, kv[i+1].(float64))
		s.Lines = append(s.Lines, i/2+2)
	}
	return s
}

func manyIDs(path, prefix string, n int) *Scores {
	s := &Scores{Path: path}
	for i := range n {
		s.IDs = append(s.IDs, fmt.Sprintf("%s%d", prefix, i))
		s.Values = append(s.Values, 0)
	}
	return s
}

func TestPair(t *testing.T) {
	tests := []struct {
		name         string
		base, head   *Scores
		wantB, wantH []float64
	}{
		{"same order", scores("b", "x", 1.0, "y", 2.0), scores("h", "x", 3.0, "y", 4.0), []float64{1, 2}, []float64{3, 4}},
		{"head order wins", scores("b", "x", 1.0, "y", 2.0, "z", 3.0), scores("h", "z", 30.0, "x", 10.0, "y", 20.0),
			[]float64{3, 1, 2}, []float64{30, 10, 20}},
		{"empty", scores("b"), scores("h"), []float64{}, []float64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, h, err := Pair(tt.base, tt.head)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantB, b); diff != "" {
				t.Errorf("base (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantH, h); diff != "" {
				t.Errorf("head (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPairErrors(t *testing.T) {
	tests := []struct {
		name       string
		base, head *Scores
		want       string
	}{
		{"one only in head", scores("base.csv", "a", 1.0), scores("head.csv", "a", 1.0, "b", 2.0),
			`base.csv and head.csv score different examples: 1 id only in head.csv ("b"); score both models on the same evaluation set`},
		{"both sides", scores("base.csv", "a", 1.0, "c", 1.0, "d", 1.0), scores("head.csv", "a", 1.0, "b", 2.0),
			`base.csv and head.csv score different examples: 2 ids only in base.csv ("c", "d"), 1 id only in head.csv ("b"); score both models on the same evaluation set`},
		{"more than five named", manyIDs("base.csv", "q", 8), manyIDs("head.csv", "r", 5),
			`base.csv and head.csv score different examples: 8 ids only in base.csv ("q0", "q1", "q2", "q3", "q4", …), 5 ids only in head.csv ("r0", "r1", "r2", "r3", "r4"); score both models on the same evaluation set`},
		{"nil", nil, scores("h"), `bootstrap.Pair: nil scores`},
		{"inconsistent", &Scores{Path: "b", IDs: []string{"a"}}, scores("h"), `b: 1 ids but 0 scores`},
		{"duplicate in base", scores("b", "a", 1.0, "a", 2.0), scores("h", "a", 1.0), `b: duplicate id "a"; ids must be unique`},
		{"duplicate in head", scores("b", "a", 1.0), scores("h", "a", 1.0, "a", 2.0), `h: duplicate id "a"; ids must be unique`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, h, err := Pair(tt.base, tt.head)
			if err == nil {
				t.Fatalf("no error, got %v %v", b, h)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error\n got: %s\nwant: %s", got, tt.want)
			}
		})
	}
}
