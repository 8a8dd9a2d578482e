package bootstrap

import (
	"errors"
	"fmt"
	"strings"
)

// maxNamed is how many unpaired ids an error names per side: enough to spot
// a pattern (an off-by-one split, a renamed prefix) without flooding the log.
const maxNamed = 5

// Pair matches base and head by id. Ids present on only one side are an
// error that names up to 5 of them per side and the total count, because a
// paired test is only valid on the same examples, and silently dropping
// examples would hide that the evaluation sets differ.
//
// b[i] and h[i] are the scores of the same example; the order is the head
// file's, so the result does not depend on map iteration or on how the base
// file happened to be sorted.
func Pair(base, head *Scores) (b, h []float64, err error) {
	if base == nil || head == nil {
		return nil, nil, errors.New("bootstrap.Pair: nil scores")
	}
	// Scores built by hand (not by ReadScores) could break the invariants the
	// pairing relies on; failing beats a panic or a silently wrong pairing.
	for _, s := range []*Scores{base, head} {
		if len(s.IDs) != len(s.Values) {
			return nil, nil, fmt.Errorf("%s: %d ids but %d scores", oneLine(s.Path), len(s.IDs), len(s.Values))
		}
	}
	byID := make(map[string]int, len(base.IDs))
	for i, id := range base.IDs {
		if _, dup := byID[id]; dup {
			return nil, nil, fmt.Errorf("%s: duplicate id %s; ids must be unique", oneLine(base.Path), quote(id))
		}
		byID[id] = i
	}
	b = make([]float64, 0, len(head.IDs))
	h = make([]float64, 0, len(head.IDs))
	var onlyHead []string
	matched := make([]bool, len(base.IDs))
	for i, id := range head.IDs {
		j, ok := byID[id]
		if !ok {
			onlyHead = append(onlyHead, id)
			continue
		}
		if matched[j] {
			return nil, nil, fmt.Errorf("%s: duplicate id %s; ids must be unique", oneLine(head.Path), quote(id))
		}
		matched[j] = true
		b = append(b, base.Values[j])
		h = append(h, head.Values[i])
	}
	var onlyBase []string
	for j, ok := range matched {
		if !ok {
			onlyBase = append(onlyBase, base.IDs[j])
		}
	}
	if len(onlyBase) == 0 && len(onlyHead) == 0 {
		return b, h, nil
	}
	var parts []string
	if len(onlyBase) > 0 {
		parts = append(parts, unpaired(onlyBase, base.Path))
	}
	if len(onlyHead) > 0 {
		parts = append(parts, unpaired(onlyHead, head.Path))
	}
	return nil, nil, fmt.Errorf("%s and %s score different examples: %s; score both models on the same evaluation set",
		oneLine(base.Path), oneLine(head.Path), strings.Join(parts, ", "))
}

// unpaired describes ids found only in file, in that file's order.
func unpaired(ids []string, file string) string {
	noun := "ids"
	if len(ids) == 1 {
		noun = "id"
	}
	named := ids[:min(len(ids), maxNamed)]
	list := quoteList(named, maxNamed)
	if len(ids) > maxNamed {
		list += ", …"
	}
	return fmt.Sprintf("%d %s only in %s (%s)", len(ids), noun, oneLine(file), list)
}
