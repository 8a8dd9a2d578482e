package registry

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Version is a registered version of an artifact.
type Version struct {
	Artifact   string    `json:"artifact"`
	Version    string    `json:"version"`
	Commit     string    `json:"commit"`
	Registered time.Time `json:"registered_at"`
	Record     *Record   `json:"record,omitempty"`
}

// Assignment is a version holding a stage.
type Assignment struct {
	Artifact string `json:"artifact"`
	Stage    string `json:"stage"`
	// Version is the version registered at Commit. At a commit with none,
	// GTO names the version by the commit, and so does this.
	Version    string `json:"version"`
	Registered bool   `json:"registered"`
	Commit     string `json:"commit"`
	// Tag, Counter, Time and Record are those of the version's latest
	// assignment to the stage, the one in effect.
	Tag     string    `json:"tag"`
	Counter Counter   `json:"counter,omitempty"`
	Time    time.Time `json:"time"`
	Record  *Record   `json:"record,omitempty"`
}

// Model is the registry state of one artifact, as `gto show` reads it.
type Model struct {
	Name string
	// Versions are the registered, not deregistered, versions in semver
	// order.
	Versions []Version
	// Stages maps each stage to its current holder.
	Stages map[string]*Assignment
	// Deprecated is set by a deprecation tag newer than any other event
	// of the artifact; gto show leaves such artifacts out.
	Deprecated bool
	// History is every event of the artifact, oldest first; a stage
	// event's Version is the version it was resolved to.
	History []Event
	// Warnings name what GTO refuses to read, such as two versions on
	// one commit.
	Warnings []string

	// registrations are all registered versions, deregistered ones too.
	registrations []*registration
	// holders are, per stage, all versions whose assignment is in effect,
	// the latest first (gto show --vs -1); Stages holds the first.
	holders map[string][]*Assignment
	// counter is the highest counter of the artifact's tags, lightweight
	// ones included.
	counter     Counter
	deprecation *Event
}

// registration is one version at one commit, as GTO keys them.
type registration struct {
	Version
	// lastReg and lastDereg are the latest registration and
	// deregistration tags of the version; lastReg is nil when it was
	// only ever deregistered.
	lastReg, lastDereg *Event
}

// active is GTO's Version.is_active: the latest of its registrations and
// deregistrations is a registration, a deregistration winning a tie.
func (r *registration) active() bool {
	return r.lastReg != nil && (r.lastDereg == nil || r.lastReg.Time.After(r.lastDereg.Time))
}

// NextCounter is the counter for the artifact's next tag: one more than any
// of its tags', over all stages and kinds, lightweight tags included, as
// GTO's name_tag numbers them.
func (m *Model) NextCounter() Counter { return m.counter.Next() }

// version returns the registered, active version v, if any.
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
	counters := map[string]Counter{}
	for _, e := range events {
		if e.Counter.Compare(counters[e.Artifact]) > 0 {
			counters[e.Artifact] = e.Counter
		}
		if e.Lightweight || e.Kind == KindCreation {
			continue
		}
		m := models[e.Artifact]
		if m == nil {
			m = &Model{Name: e.Artifact, Stages: map[string]*Assignment{}, holders: map[string][]*Assignment{}}
			models[e.Artifact] = m
		}
		m.History = append(m.History, e)
	}
	for _, m := range models {
		m.counter = counters[m.Name]
		sortEvents(m.History)
		m.replayVersions()
		m.replayStages()
		m.replayDeprecation()
	}
	return models
}

func (m *Model) replayVersions() {
	type key struct{ version, commit string }
	regs := map[key]*registration{}
	for i := range m.History {
		e := &m.History[i]
		if e.Kind != KindRegistration && e.Kind != KindDeregistration {
			continue
		}
		k := key{e.Version, e.Commit}
		r := regs[k]
		if r == nil {
			r = &registration{Version: Version{Artifact: m.Name, Version: e.Version, Commit: e.Commit}}
			regs[k] = r
			m.registrations = append(m.registrations, r)
		}
		// History is in order, so the last seen is the latest.
		if e.Kind == KindRegistration {
			r.lastReg = e
			r.Registered, r.Record = e.Time, e.Record
		} else {
			r.lastDereg = e
		}
	}
	for _, r := range m.registrations {
		if r.active() {
			m.Versions = append(m.Versions, r.Version)
		}
	}
	slices.SortStableFunc(m.Versions, func(a, b Version) int { return compareSemver(a.Version, b.Version) })
}

// replayStages finds each stage's holders as `gto show` does: a stage tag
// belongs to the version registered at its commit; a version's assignment
// is in effect when its latest stage tag is an assignment; the version must
// be active; and the latest assignment in effect holds the stage.
func (m *Model) replayStages() {
	type vstage struct {
		assign   *Event
		unassign *Event
		version  *registration
		name     string
	}
	type key struct {
		stage   string
		version any
	}
	vstages := map[key]*vstage{}
	var order []key
	for i := range m.History {
		e := &m.History[i]
		if e.Kind != KindAssignment && e.Kind != KindUnassignment {
			continue
		}
		r := m.registrationFor(e)
		k := key{e.Stage, r}
		name := e.Commit
		if r != nil {
			name = r.Version.Version
		} else {
			// At a commit with no registration GTO makes a version of
			// each stage tag, so an unassignment there cancels nothing.
			k.version = e
		}
		e.Version = name
		vs := vstages[k]
		if vs == nil {
			vs = &vstage{version: r, name: name}
			vstages[k] = vs
			order = append(order, k)
		}
		// History is in order, so the last seen is the latest.
		if e.Kind == KindAssignment {
			vs.assign = e
		} else {
			vs.unassign = e
		}
	}
	for _, k := range order {
		vs := vstages[k]
		// GTO's VStage.is_active: on equal dates the unassignment wins.
		if vs.assign == nil || vs.unassign != nil && !vs.assign.Time.After(vs.unassign.Time) {
			continue
		}
		if vs.version != nil && !vs.version.active() {
			continue
		}
		e := vs.assign
		m.holders[k.stage] = append(m.holders[k.stage], &Assignment{
			Artifact: m.Name, Stage: k.stage, Version: vs.name, Registered: vs.version != nil, Commit: e.Commit,
			Tag: e.Name, Counter: e.Counter, Time: e.Time, Record: e.Record,
		})
	}
	for stage, hs := range m.holders {
		// Latest first. GTO leaves the order of tags of the same second
		// to its sort's input; the counter, which GTO and mlci write in
		// increasing order, decides here.
		slices.SortFunc(hs, func(a, b *Assignment) int {
			return cmp.Or(b.Time.Compare(a.Time), b.Counter.Compare(a.Counter), strings.Compare(b.Tag, a.Tag))
		})
		m.Stages[stage] = hs[0]
	}
}

// registrationFor is the version a stage tag belongs to: the one
// registered at its commit. GTO refuses a commit with several
// (ManyVersions), which older mlci wrote; then the version the tag's
// record names wins, else the greatest active one.
func (m *Model) registrationFor(e *Event) *registration {
	var at []*registration
	for _, r := range m.registrations {
		if r.Commit == e.Commit {
			at = append(at, r)
		}
	}
	if len(at) <= 1 {
		if len(at) == 0 {
			return nil
		}
		return at[0]
	}
	var names []string
	for _, r := range at {
		names = append(names, r.Version.Version)
	}
	warning := fmt.Sprintf("%s: commit %s has versions %s; GTO allows one version per commit and refuses to read this registry", m.Name, shortCommit(e.Commit), strings.Join(names, ", "))
	if !slices.Contains(m.Warnings, warning) {
		m.Warnings = append(m.Warnings, warning)
	}
	if e.Record != nil {
		for _, r := range at {
			if r.Version.Version == e.Record.Version {
				return r
			}
		}
	}
	return slices.MaxFunc(at, func(a, b *registration) int {
		return cmp.Or(cmp.Compare(boolInt(a.active()), boolInt(b.active())), compareSemver(a.Version.Version, b.Version.Version))
	})
}

// replayDeprecation is GTO's Artifact.is_active: deprecated when the
// latest event is a deprecation; any event of the same second or later
// revives the artifact.
func (m *Model) replayDeprecation() {
	var latestOther time.Time
	for i := range m.History {
		e := &m.History[i]
		if e.Kind == KindDeprecation {
			m.deprecation = e
		} else if e.Time.After(latestOther) {
			latestOther = e.Time
		}
	}
	m.Deprecated = m.deprecation != nil && m.deprecation.Time.After(latestOther)
}

// StagesInUse lists the stages that have a holder, sorted.
func (m *Model) StagesInUse() []string {
	return slices.Sorted(maps.Keys(m.Stages))
}

// lastStageTime is the date of the stage's latest tag, zero if none.
func (m *Model) lastStageTime(stage string) (time.Time, string) {
	var t time.Time
	name := ""
	for _, e := range m.History {
		if (e.Kind == KindAssignment || e.Kind == KindUnassignment) && e.Stage == stage && !e.Time.Before(t) {
			t, name = e.Time, e.Name
		}
	}
	return t, name
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func shortCommit(c string) string {
	if len(c) > 7 {
		return c[:7]
	}
	return c
}
