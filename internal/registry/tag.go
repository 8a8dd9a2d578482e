package registry

import (
	"strings"
)

// Kind is what a registry tag does; the names are GTO's event names.
type Kind int

// The tag kinds, one per GTO event.
const (
	KindRegistration Kind = iota + 1
	KindDeregistration
	KindAssignment
	KindUnassignment
	KindDeprecation
	// KindCreation is GTO's "@created": no event in GTO's state (its
	// tag reader fails on one), but its counter counts.
	KindCreation
)

func (k Kind) String() string {
	switch k {
	case KindRegistration:
		return "registration"
	case KindDeregistration:
		return "deregistration"
	case KindAssignment:
		return "assignment"
	case KindUnassignment:
		return "unassignment"
	case KindDeprecation:
		return "deprecation"
	case KindCreation:
		return "creation"
	}
	return "unknown"
}

// MarshalText writes the kind's name, GTO's "event" in its history.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// priority orders events of the same second as GTO's history does
// (gto/base.py: deprecation 2, registration 3 … unassignment 6).
func (k Kind) priority() int {
	switch k {
	case KindCreation:
		return 1
	case KindDeprecation:
		return 2
	case KindRegistration:
		return 3
	case KindDeregistration:
		return 4
	case KindAssignment:
		return 5
	}
	return 6
}

// Tag is one parsed registry tag.
type Tag struct {
	// Artifact is the artifact name; a monorepo name is "dir/path:name".
	Artifact string `json:"artifact"`
	// Version is "v1.2.3" for registration and deregistration tags; in
	// a Model's History, State sets it on stage tags too, to the version
	// the tag was resolved to.
	Version string `json:"version,omitempty"`
	// Stage is set for assignment and unassignment tags.
	Stage string `json:"stage,omitempty"`
	// Counter is the "#N" suffix; "" means none.
	Counter Counter `json:"counter,omitempty"`
	// Cancel is the "!" of deregistration and unassignment tags.
	Cancel bool `json:"-"`
	Kind   Kind `json:"event"`
}

// In tags a monorepo name's ":" becomes "=", since git forbids ":" in refs.
const (
	sepInName = ":"
	sepInTag  = "="
)

// ParseTag parses a tag name in GTO's grammar (gto/constants.py tag_re);
// ok is false for any other tag.
func ParseTag(name string) (Tag, bool) {
	i := strings.IndexAny(name, "#@")
	if i < 0 {
		return Tag{}, false
	}
	art, ok := artifactFromTag(name[:i])
	if !ok {
		return Tag{}, false
	}
	t := Tag{Artifact: art}
	rest := name[i+1:]
	body, counter, hasCounter := strings.Cut(rest, "#")
	if hasCounter {
		c, ok := parseCounter(counter)
		if !ok {
			return Tag{}, false
		}
		t.Counter = c
	}
	if name[i] == '@' {
		switch body {
		case "deprecated":
			t.Kind = KindDeprecation
			return t, true
		case "created":
			t.Kind = KindCreation
			return t, true
		}
		if v, cancel := strings.CutSuffix(body, "!"); cancel {
			body, t.Cancel = v, true
		}
		if _, ok := parseSemver(body); !ok {
			return Tag{}, false
		}
		t.Version = body
		t.Kind = KindRegistration
		if t.Cancel {
			t.Kind = KindDeregistration
		}
		return t, true
	}
	if s, cancel := strings.CutSuffix(body, "!"); cancel {
		body, t.Cancel = s, true
	}
	if !validName(body) {
		return Tag{}, false
	}
	t.Stage = body
	t.Kind = KindAssignment
	if t.Cancel {
		t.Kind = KindUnassignment
	}
	return t, true
}

// String formats the tag name; it is the inverse of ParseTag.
func (t Tag) String() string {
	var b strings.Builder
	b.WriteString(strings.Replace(t.Artifact, sepInName, sepInTag, 1))
	switch t.Kind {
	case KindRegistration, KindDeregistration:
		b.WriteString("@" + t.Version)
	case KindAssignment, KindUnassignment:
		b.WriteString("#" + t.Stage)
	case KindDeprecation:
		b.WriteString("@deprecated")
	case KindCreation:
		b.WriteString("@created")
	}
	if t.Cancel && t.Kind != KindDeprecation && t.Kind != KindCreation {
		b.WriteString("!")
	}
	if t.Counter != "" {
		b.WriteString("#" + string(t.Counter))
	}
	return b.String()
}

// valid reports whether t formats to a tag that parses back to t, which
// also checks every name in it.
func (t Tag) valid() bool {
	p, ok := ParseTag(t.String())
	return ok && p == t
}

// Counter is a tag's "#N" suffix. GTO reads N as a Python int, of any
// size, so it is kept as decimal digits without leading zeros; "" means the
// tag has none, which orders below "0".
type Counter string

// parseCounter reads GTO's [0-9]+.
func parseCounter(s string) (Counter, bool) {
	if !numeric(s) {
		return "", false
	}
	s = strings.TrimLeft(s, "0")
	if s == "" {
		s = "0"
	}
	return Counter(s), true
}

// Compare orders counters by value.
func (c Counter) Compare(d Counter) int {
	if len(c) != len(d) {
		return len(c) - len(d)
	}
	return strings.Compare(string(c), string(d))
}

// Next is c + 1; the next of none is 1.
func (c Counter) Next() Counter {
	b := []byte(c)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < '9' {
			b[i]++
			return Counter(b)
		}
		b[i] = '0'
	}
	return Counter("1" + string(b))
}

// MarshalJSON writes the counter as a JSON number, whatever its size.
func (c Counter) MarshalJSON() ([]byte, error) {
	if c == "" {
		return []byte("null"), nil
	}
	return []byte(c), nil
}

func artifactFromTag(s string) (string, bool) {
	dir, name, mono := strings.Cut(s, sepInTag)
	if !mono {
		return s, validName(s)
	}
	if !validDir(dir) || !validName(name) {
		return "", false
	}
	return dir + sepInName + name, true
}

func alnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// validName matches GTO's [a-zA-Z0-9]([a-zA-Z0-9-/_]*[a-zA-Z0-9])?.
func validName(s string) bool {
	if s == "" || !alnum(s[0]) || !alnum(s[len(s)-1]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !alnum(c) && c != '-' && c != '/' && c != '_' {
			return false
		}
	}
	return true
}

// validDir matches GTO's monorepo directory [a-zA-Z0-9-_./]+.
func validDir(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !alnum(c) && !strings.ContainsRune("-_./", rune(c)) {
			return false
		}
	}
	return true
}
