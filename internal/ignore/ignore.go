// Package ignore matches slash-separated paths against exclude patterns in
// gitignore syntax, so datasets are filtered the way users already know.
package ignore

import (
	"fmt"
	"regexp"
	"strings"
)

// Matcher holds compiled patterns; the last pattern that matches a path
// decides, as in git.
type Matcher struct {
	rules []rule
}

type rule struct {
	re      *regexp.Regexp
	negate  bool
	dirOnly bool
	source  string
}

// Compile parses gitignore-style patterns. Blank lines and comments are
// skipped; a malformed pattern (such as an unclosed "[") is an error that
// names it.
func Compile(patterns []string) (*Matcher, error) {
	m := &Matcher{}
	for _, p := range patterns {
		r, ok, err := compile(p)
		if err != nil {
			return nil, fmt.Errorf("exclude pattern %q: %w", p, err)
		}
		if ok {
			m.rules = append(m.rules, r)
		}
	}
	return m, nil
}

// Empty reports whether no pattern was given, so callers can skip matching.
func (m *Matcher) Empty() bool { return m == nil || len(m.rules) == 0 }

// Match reports whether the slash-separated relative path is excluded.
// Callers walk top-down and do not descend into excluded directories, which
// gives git's rule that a file cannot be re-included under an excluded
// directory.
func (m *Matcher) Match(path string, isDir bool) bool {
	if m == nil {
		return false
	}
	excluded := false
	for _, r := range m.rules {
		if r.dirOnly && !isDir {
			continue
		}
		if r.re.MatchString(path) {
			excluded = !r.negate
		}
	}
	return excluded
}

func compile(p string) (rule, bool, error) {
	r := rule{source: p}
	p = trimTrailingSpace(p)
	if p == "" || strings.HasPrefix(p, "#") {
		return r, false, nil
	}
	if strings.HasPrefix(p, "!") {
		r.negate = true
		p = p[1:]
	} else if strings.HasPrefix(p, `\!`) || strings.HasPrefix(p, `\#`) {
		p = p[1:]
	}
	if strings.HasSuffix(p, "/") {
		r.dirOnly = true
		p = strings.TrimRight(p, "/")
	}
	if p == "" {
		return r, false, nil
	}
	// A slash anywhere but the end anchors the pattern to the dataset root;
	// otherwise it may match at any depth.
	anchored := strings.Contains(p, "/")
	p = strings.TrimPrefix(p, "/")
	expr, err := translate(p)
	if err != nil {
		return r, false, err
	}
	if anchored || strings.HasPrefix(p, "**/") {
		expr = "^" + expr + "$"
	} else {
		expr = "^(?:.*/)?" + expr + "$"
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return r, false, err
	}
	r.re = re
	return r, true, nil
}

// trimTrailingSpace drops unescaped trailing spaces, as git does.
func trimTrailingSpace(p string) string {
	for strings.HasSuffix(p, " ") && !strings.HasSuffix(p, `\ `) {
		p = p[:len(p)-1]
	}
	return p
}

// translate turns a glob into a regular expression body.
func translate(p string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case strings.HasPrefix(p[i:], "**/") && (i == 0 || p[i-1] == '/'):
			b.WriteString("(?:.*/)?")
			i += 2
		case strings.HasPrefix(p[i:], "**") && i+2 == len(p) && (i == 0 || p[i-1] == '/'):
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		case c == '[':
			end, class, err := bracket(p, i)
			if err != nil {
				return "", err
			}
			b.WriteString(class)
			i = end
		case c == '\\' && i+1 < len(p):
			i++
			b.WriteString(regexp.QuoteMeta(p[i : i+1]))
		default:
			b.WriteString(regexp.QuoteMeta(p[i : i+1]))
		}
	}
	return b.String(), nil
}

// bracket translates the character class starting at p[i] == '['.
func bracket(p string, i int) (int, string, error) {
	j := i + 1
	var b strings.Builder
	b.WriteString("[")
	if j < len(p) && (p[j] == '!' || p[j] == '^') {
		b.WriteString("^/")
		j++
	}
	first := true
	for ; j < len(p); j++ {
		c := p[j]
		if c == ']' && !first {
			b.WriteString("]")
			return j, b.String(), nil
		}
		first = false
		switch c {
		case '\\':
			if j+1 < len(p) {
				j++
				b.WriteString(regexp.QuoteMeta(p[j : j+1]))
			}
		case '[', ']', '^':
			b.WriteString(`\` + string(c))
		default:
			b.WriteByte(c)
		}
	}
	return 0, "", fmt.Errorf("unclosed [ at offset %d", i)
}

// Escape quotes the characters that are special in a pattern, so that
// "/" + Escape(path) matches exactly that path from the dataset root.
func Escape(path string) string {
	var b strings.Builder
	for i := 0; i < len(path); i++ {
		switch c := path[i]; c {
		case '\\', '*', '?', '[', ' ', '!', '#':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
