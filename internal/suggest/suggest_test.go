package suggest

import (
	"slices"
	"testing"
)

func TestClosest(t *testing.T) {
	keys := []string{"eval.val.accuracy", "eval.val.loss", "eval.test.accuracy", "train.loss"}
	tests := []struct {
		name, word string
		n          int
		want       []string
	}{
		{"typo, nearest first", "eval.val.acuracy", 3, []string{"eval.val.accuracy", "eval.test.accuracy"}},
		{"nearest first", "eval.val.los", 2, []string{"eval.val.loss"}},
		{"case ignored", "EVAL.VAL.LOSS", 1, []string{"eval.val.loss"}},
		{"nothing close", "f1", 3, []string{}},
		{"limit", "eval.tst.accuracy", 1, []string{"eval.test.accuracy"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Closest(tt.word, keys, tt.n); !slices.Equal(got, tt.want) {
				t.Errorf("Closest(%q) = %q, want %q", tt.word, got, tt.want)
			}
		})
	}
}

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{{"", "", 0}, {"a", "", 1}, {"kitten", "sitting", 3}, {"exlude", "exclude", 1}, {"日本", "日本語", 1}}
	for _, tt := range tests {
		if got := Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
