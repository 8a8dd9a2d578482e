package registry

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestState(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	ev := func(name, commit string, sec int) Event {
		tag, ok := ParseTag(name)
		if !ok {
			t.Logf("bad tag %q", name)
		}
		return Event{Tag: tag, Name: name, Commit: commit, Time: at(sec)}
	}
	withRecord := func(e Event, version string) Event {
		e.Record = &Record{Version: version}
		return e
	}
	c10 := "c10c10c10c10c10c10c10c10c10c10c10c10c10c"
	tests := []struct {
		name       string
		events     []Event
		versions   []string
		stages     map[string]string // stage -> version
		deprecated bool
		next       string
	}{
		{
			// gto/base.py sorts a stage's assignments by created_at.
			name: "latest tag date wins over a higher counter",
			events: []Event{
				ev("m@v1.0.0", "c1", 0), ev("m@v2.0.0", "c2", 1),
				ev("m#prod#2", "c1", 5), ev("m#prod#1", "c2", 9),
			},
			versions: []string{"v1.0.0", "v2.0.0"},
			stages:   map[string]string{"prod": "v2.0.0"},
			next:     "3",
		},
		{
			name: "counter breaks a same-second tie",
			events: []Event{
				ev("m@v1.0.0", "c1", 0), ev("m@v2.0.0", "c2", 0),
				ev("m#prod#2", "c1", 5), ev("m#prod#1", "c2", 5),
			},
			versions: []string{"v1.0.0", "v2.0.0"},
			stages:   map[string]string{"prod": "v1.0.0"},
			next:     "3",
		},
		{
			name: "simple tag made after counted ones wins",
			events: []Event{
				ev("m@v1.0.0", "c1", 0), ev("m@v2.0.0", "c2", 0),
				ev("m#prod#4", "c1", 1), ev("m#prod", "c2", 2),
			},
			versions: []string{"v1.0.0", "v2.0.0"},
			stages:   map[string]string{"prod": "v2.0.0"},
			next:     "5",
		},
		{
			name: "version resolved by commit",
			events: []Event{
				ev("m@v1.10.0", "c10", 0), ev("m@v1.9.0", "c9", 1), ev("m#dev#1", "c9", 2),
			},
			versions: []string{"v1.9.0", "v1.10.0"},
			stages:   map[string]string{"dev": "v1.9.0"},
			next:     "2",
		},
		{
			// Two versions on one commit: GTO refuses to show such a
			// registry (ManyVersions); the assignment's record says which.
			name: "assignment names its version when a commit has two",
			events: []Event{
				ev("m@v0.0.2", "c1", 0), ev("m@v0.0.3", "c1", 1), withRecord(ev("m#dev#1", "c1", 2), "v0.0.2"),
			},
			versions: []string{"v0.0.2", "v0.0.3"},
			stages:   map[string]string{"dev": "v0.0.2"},
			next:     "2",
		},
		{
			name: "unassign hands the stage back to the previous holder",
			events: []Event{
				ev("m@v1.0.0", "c1", 0), ev("m@v2.0.0", "c2", 0),
				ev("m#prod#1", "c1", 1), ev("m#prod#2", "c2", 2), ev("m#prod!#3", "c2", 3),
			},
			versions: []string{"v1.0.0", "v2.0.0"},
			stages:   map[string]string{"prod": "v1.0.0"},
			next:     "4",
		},
		{
			// gto/base.py VStage.is_active: on equal dates the unassignment
			// sorts last, so it wins whatever the counters say.
			name: "unassign in the same second as the assign wins",
			events: []Event{
				ev("m@v1.0.0", "c1", 0), ev("m#prod!#1", "c1", 3), ev("m#prod#2", "c1", 3),
			},
			versions: []string{"v1.0.0"},
			stages:   map[string]string{},
			next:     "3",
		},
		{
			name: "unassigned stage is empty; deregistered version gone",
			events: []Event{
				ev("m@v1.0.0", "c1", 0), ev("m@v2.0.0", "c2", 0), ev("m@v2.0.0!", "c2", 1),
				ev("m#prod#1", "c1", 1), ev("m#prod!#2", "c1", 2),
			},
			versions: []string{"v1.0.0"},
			stages:   map[string]string{},
			next:     "3",
		},
		{
			name: "deregistered holder: the stage falls back to the previous active version",
			events: []Event{
				ev("m@v1.0.0", "c1", 0), ev("m@v2.0.0", "c2", 0),
				ev("m#prod#1", "c1", 1), ev("m#prod#2", "c2", 2), ev("m@v2.0.0!", "c2", 3),
			},
			versions: []string{"v1.0.0"},
			stages:   map[string]string{"prod": "v1.0.0"},
			next:     "3",
		},
		{
			name: "registered again after deregistration",
			events: []Event{
				ev("m@v1.0.0", "c1", 0), ev("m@v1.0.0!#1", "c1", 1), ev("m@v1.0.0#2", "c1", 2), ev("m#prod#3", "c1", 3),
			},
			versions: []string{"v1.0.0"},
			stages:   map[string]string{"prod": "v1.0.0"},
			next:     "4",
		},
		{
			// gto/base.py Version.is_active: a tie goes to the deregistration.
			name: "deregistration in the same second as the registration wins",
			events: []Event{
				ev("m@v1.0.0", "c1", 0), ev("m@v1.0.0!", "c1", 0),
			},
			stages: map[string]string{},
			next:   "1",
		},
		{
			name: "stages are independent; counter is shared",
			events: []Event{
				ev("m@v1.0.0", "c1", 0), ev("m@v2.0.0", "c2", 0),
				ev("m#dev#1", "c2", 1), ev("m#prod#5", "c1", 2), ev("other#prod#9", "c2", 3),
			},
			versions: []string{"v1.0.0", "v2.0.0"},
			stages:   map[string]string{"dev": "v2.0.0", "prod": "v1.0.0"},
			next:     "6",
		},
		{
			name: "deprecated",
			events: []Event{
				ev("m@v1.0.0", "c1", 0), ev("m#prod#1", "c1", 1), ev("m@deprecated#2", "c1", 2),
			},
			versions:   []string{"v1.0.0"},
			stages:     map[string]string{"prod": "v1.0.0"},
			deprecated: true,
			next:       "3",
		},
		{
			// gto/base.py Artifact.is_active looks at the latest event only.
			name: "an event after the deprecation revives the artifact",
			events: []Event{
				ev("m@v1.0.0", "c1", 0), ev("m@deprecated", "c1", 1), ev("m#prod#1", "c1", 2),
			},
			versions: []string{"v1.0.0"},
			stages:   map[string]string{"prod": "v1.0.0"},
			next:     "2",
		},
		{
			name: "an event in the same second as the deprecation revives it too",
			events: []Event{
				ev("m@v1.0.0", "c1", 0), ev("m@deprecated", "c1", 1), ev("m#prod#1", "c1", 1),
			},
			versions: []string{"v1.0.0"},
			stages:   map[string]string{"prod": "v1.0.0"},
			next:     "2",
		},
		{
			// GTO names a version that was never registered by its commit.
			name: "unregistered commit holds the stage under its hash",
			events: []Event{
				ev("m@v1.0.0", "c1", 0), ev("m#prod#1", "c1", 1), ev("m#prod#2", c10, 2),
			},
			versions: []string{"v1.0.0"},
			stages:   map[string]string{"prod": c10},
			next:     "3",
		},
		{
			name: "counters beyond nine digits",
			events: []Event{
				ev("m@v1.0.0", "c1", 0), ev("m#prod#1234567890", "c1", 1), ev("m#dev#0000000000000000000000000042", "c1", 2),
			},
			versions: []string{"v1.0.0"},
			stages:   map[string]string{"prod": "v1.0.0", "dev": "v1.0.0"},
			next:     "1234567891",
		},
		{
			name: "counters beyond 64 bits",
			events: []Event{
				ev("m@v1.0.0", "c1", 0), ev("m#prod#99999999999999999999999", "c1", 1),
			},
			versions: []string{"v1.0.0"},
			stages:   map[string]string{"prod": "v1.0.0"},
			next:     "100000000000000000000000",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := State(tt.events)["m"]
			if m == nil {
				t.Fatal("no model m")
			}
			var versions []string
			for _, v := range m.Versions {
				versions = append(versions, v.Version)
			}
			if diff := cmp.Diff(tt.versions, versions); diff != "" {
				t.Errorf("versions (-want +got):\n%s", diff)
			}
			stages := map[string]string{}
			for s, a := range m.Stages {
				stages[s] = a.Version
			}
			if diff := cmp.Diff(tt.stages, stages); diff != "" {
				t.Errorf("stages (-want +got):\n%s", diff)
			}
			if m.Deprecated != tt.deprecated {
				t.Errorf("Deprecated = %v, want %v", m.Deprecated, tt.deprecated)
			}
			if got := fmt.Sprint(m.NextCounter()); got != tt.next {
				t.Errorf("NextCounter = %s, want %s", got, tt.next)
			}
		})
	}
}
