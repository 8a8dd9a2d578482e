package registry

import (
	"strconv"
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
	}
	return "unknown"
}

// Tag is one parsed registry tag.
type Tag struct {
	// Artifact is the artifact name; a monorepo name is "dir/path:name".
	Artifact string
	// Version is "v1.2.3" for registration and deregistration tags.
	Version string
	// Stage is set for assignment and unassignment tags.
	Stage string
	// Counter is the "#N" suffix; 0 means none.
	Counter int
	// Cancel is the "!" of deregistration and unassignment tags.
	Cancel bool
	Kind   Kind
}

// In tags a monorepo name's ":" becomes "=", since git forbids ":" in refs.
const (
	sepInName = ":"
	sepInTag  = "="
)

// ParseTag parses a tag name in GTO's grammar; ok is false for any other
// tag, including GTO's "@created", which mlci does not use.
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
		n, ok := parseCounter(counter)
		if !ok {
			return Tag{}, false
		}
		t.Counter = n
	}
	if name[i] == '@' {
		switch {
		case body == "deprecated":
			t.Kind = KindDeprecation
			return t, true
		case body == "created":
			return Tag{}, false
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
	}
	if t.Cancel && t.Kind != KindDeprecation {
		b.WriteString("!")
	}
	if t.Counter > 0 {
		b.WriteString("#" + strconv.Itoa(t.Counter))
	}
	return b.String()
}

// valid reports whether t formats to a tag that parses back to t, which
// also checks every name in it.
func (t Tag) valid() bool {
	p, ok := ParseTag(t.String())
	return ok && p == t
}

func parseCounter(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
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
