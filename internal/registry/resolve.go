package registry

import (
	"fmt"
	"strings"
)

// Ref names a version the way GTO's shortcuts do (gto/constants.py
// shortcut_re): NAME#STAGE, NAME@vX.Y.Z, NAME@latest or NAME@greatest.
type Ref struct {
	Artifact string
	// Stage is set for NAME#STAGE.
	Stage string
	// Version is set for NAME@vX.Y.Z.
	Version string
	// Latest is set for NAME@latest and NAME@greatest, which GTO treats
	// alike: the greatest registered version.
	Latest bool
}

func (r Ref) String() string {
	switch {
	case r.Stage != "":
		return r.Artifact + "#" + r.Stage
	case r.Version != "":
		return r.Artifact + "@" + r.Version
	}
	return r.Artifact + "@latest"
}

// ParseRef parses a shortcut; names use ":" for monorepo paths, as model
// names do, not the "=" of tags.
func ParseRef(s string) (Ref, error) {
	bad := fmt.Errorf("%q: name a stage (NAME#STAGE) or a version (NAME@vX.Y.Z, NAME@latest)", s)
	i := strings.IndexAny(s, "#@")
	if i < 0 || !validFullName(s[:i]) {
		return Ref{}, bad
	}
	r := Ref{Artifact: s[:i]}
	rest := s[i+1:]
	switch {
	case s[i] == '#' && validName(rest):
		r.Stage = rest
	case s[i] == '@' && (rest == "latest" || rest == "greatest"):
		r.Latest = true
	case s[i] == '@':
		if _, ok := parseSemver(rest); !ok {
			return Ref{}, bad
		}
		r.Version = rest
	default:
		return Ref{}, bad
	}
	return r, nil
}

// validFullName matches GTO's fullname: [DIR:]NAME.
func validFullName(s string) bool {
	dir, name, mono := strings.Cut(s, sepInName)
	if !mono {
		return validName(s)
	}
	return validDir(dir) && validName(name)
}

// Resolve finds the registered version r names in models. Its errors say
// what is there instead: the stages that have a version, or the versions.
func Resolve(models map[string]*Model, r Ref) (Version, error) {
	m := models[r.Artifact]
	if m == nil || len(m.Versions) == 0 {
		return Version{}, refuse(ErrNotRegistered, "no versions of %s are registered; run mlci model register %s", r.Artifact, r.Artifact)
	}
	if err := m.DeprecatedError(); err != nil {
		return Version{}, err
	}
	switch {
	case r.Latest:
		return m.Versions[len(m.Versions)-1], nil
	case r.Version != "":
		if v, ok := m.version(r.Version); ok {
			return v, nil
		}
		return Version{}, fmt.Errorf("%s %s is %w (versions: %s)", r.Artifact, r.Version, ErrNotRegistered, strings.Join(m.versionNames(), ", "))
	}
	a := m.Stages[r.Stage]
	if a == nil {
		inUse := "none"
		if s := m.StagesInUse(); len(s) > 0 {
			inUse = strings.Join(s, ", ")
		}
		return Version{}, refuse(ErrNoStage, "no version of %s is in %s (stages with a version: %s)", r.Artifact, r.Stage, inUse)
	}
	if v, ok := m.version(a.Version); ok && a.Registered {
		return v, nil
	}
	return Version{}, refuse(ErrNoStage, "%s is commit %s (tag %s), which has no registered version", r, shortCommit(a.Commit), a.Tag)
}

func (m *Model) versionNames() []string {
	var names []string
	for _, v := range m.Versions {
		names = append(names, v.Version)
	}
	return names
}
