package registry

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// Version is a registered version of an artifact.
type Version struct {
	Artifact, Version, Commit string
	Registered                time.Time
	Record                    *Record
}

// Assignment is a version holding a stage.
type Assignment struct {
	Artifact, Stage, Version string
	// Commit is the assignment tag's commit; Version is the version
	// registered there, "" when none is.
	Commit  string
	Counter int
	Time    time.Time
	Record  *Record
}

// Model is the registry state of one artifact.
type Model struct {
	Name string
	// Versions are the registered, not deregistered, versions in semver
	// order.
	Versions []Version
	// Stages maps each stage to its current holder.
	Stages map[string]*Assignment
	// Deprecated is set by a deprecation tag.
	Deprecated bool
	// History is every event of the artifact, oldest first.
	History []Event
}

// NextCounter is the counter for the artifact's next tag: one more than any
// of its tags, over all stages, as GTO numbers them.
func (m *Model) NextCounter() int {
	n := 0
	for _, e := range m.History {
		n = max(n, e.Counter)
	}
	return n + 1
}

// version returns the registered version v, if any.
func (m *Model) version(v string) (Version, bool) {
	for _, x := range m.Versions {
		if x.Version == v {
			return x, true
		}
	}
	return Version{}, false
}

// State replays events into per-artifact state.
func State(events []Event) map[string]*Model {
	models := map[string]*Model{}
	for _, e := range events {
		m := models[e.Artifact]
		if m == nil {
			m = &Model{Name: e.Artifact, Stages: map[string]*Assignment{}}
			models[e.Artifact] = m
		}
		m.History = append(m.History, e)
	}
	for _, m := range models {
		sortEvents(m.History)
		replay(m)
	}
	return models
}

// stageOrder is the order in which stage events supersede each other: the
// highest counter wins, with time for tags without one.
func stageOrder(a, b *Event) int {
	return cmp.Or(cmp.Compare(a.Counter, b.Counter), a.Time.Compare(b.Time), strings.Compare(a.Name, b.Name))
}

func replay(m *Model) {
	versions := map[string]Version{}
	for _, e := range m.History {
		switch e.Kind {
		case KindRegistration:
			versions[e.Version] = Version{Artifact: m.Name, Version: e.Version, Commit: e.Commit, Registered: e.Time, Record: e.Record}
		case KindDeregistration:
			delete(versions, e.Version)
		case KindDeprecation:
			m.Deprecated = true
		}
	}
	for _, v := range versions {
		m.Versions = append(m.Versions, v)
	}
	slices.SortFunc(m.Versions, func(a, b Version) int { return compareSemver(a.Version, b.Version) })

	// As GTO does, a stage tag names a commit and the version is the one
	// registered there; the greatest wins if several share the commit.
	atCommit := map[string]string{}
	for _, v := range m.Versions {
		atCommit[v.Commit] = v.Version
	}

	// Per stage and commit, the latest stage event decides whether that
	// version holds the stage; the holder is the latest active assignment.
	type key struct{ stage, commit string }
	last := map[key]*Event{}
	for i := range m.History {
		e := &m.History[i]
		if e.Kind != KindAssignment && e.Kind != KindUnassignment {
			continue
		}
		k := key{e.Stage, e.Commit}
		if p := last[k]; p == nil || stageOrder(e, p) >= 0 {
			last[k] = e
		}
	}
	holder := map[string]*Event{}
	for k, e := range last {
		if e.Kind != KindAssignment {
			continue
		}
		if p := holder[k.stage]; p == nil || stageOrder(e, p) > 0 {
			holder[k.stage] = e
		}
	}
	for stage, e := range holder {
		m.Stages[stage] = &Assignment{
			Artifact: m.Name, Stage: stage, Version: atCommit[e.Commit], Commit: e.Commit,
			Counter: e.Counter, Time: e.Time, Record: e.Record,
		}
	}
}
