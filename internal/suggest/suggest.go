// Package suggest finds the names closest to a mistyped one, so errors can
// say "did you mean …?".
package suggest

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// Closest returns up to n candidates close enough to word to be a typo of
// it, nearest first. Case is ignored.
func Closest(word string, candidates []string, n int) []string {
	if len(word) > 200 || n <= 0 {
		return nil
	}
	type scored struct {
		s string
		d int
	}
	lw := strings.ToLower(word)
	limit := max(2, utf8.RuneCountInString(word)/3)
	var out []scored
	for _, c := range candidates {
		d := Distance(lw, strings.ToLower(c))
		if d <= limit && d < utf8.RuneCountInString(c) {
			out = append(out, scored{c, d})
		}
	}
	slices.SortStableFunc(out, func(a, b scored) int { return a.d - b.d })
	names := make([]string, 0, min(n, len(out)))
	for _, s := range out[:min(n, len(out))] {
		names = append(names, s.s)
	}
	return names
}

// Distance is the Levenshtein edit distance between a and b, in runes.
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
