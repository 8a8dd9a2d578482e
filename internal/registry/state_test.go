package registry

import (
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
			t.Fatalf("bad tag %q", name)
		}
		return Event{Tag: tag, Name: name, Commit: commit, Time: at(sec)}
	}
	tests := []struct {
		name     string
		events   []Event
		versions []string
		stages   map[string]string // stage -> version
		next     int
	}{
		{
			name: "highest counter wins even when its date is older",
			events: []Event{
				ev("m@v1.0.0", "c1", 0), ev("m@v2.0.0", "c2", 1),
				ev("m#prod#2", "c1", 5), ev("m#prod#1", "c2", 9),
			},
			versions: []string{"v1.0.0", "v2.0.0"},
			stages:   map[string]string{"prod": "v1.0.0"},
			next:     3,
		},
		{
			name: "version resolved by commit",
			events: []Event{
				ev("m@v1.10.0", "c10", 0), ev("m@v1.9.0", "c9", 1), ev("m#dev#1", "c9", 2),
			},
			versions: []string{"v1.9.0", "v1.10.0"},
			stages:   map[string]string{"dev": "v1.9.0"},
			next:     2,
		},
		{
			name: "unassign hands the stage back to the previous holder",
			events: []Event{
				ev("m@v1.0.0", "c1", 0), ev("m@v2.0.0", "c2", 0),
				ev("m#prod#1", "c1", 1), ev("m#prod#2", "c2", 2), ev("m#prod!#3", "c2", 3),
			},
			versions: []string{"v1.0.0", "v2.0.0"},
			stages:   map[string]string{"prod": "v1.0.0"},
			next:     4,
		},
		{
			name: "unassigned stage is empty; deregistered version gone",
			events: []Event{
				ev("m@v1.0.0", "c1", 0), ev("m@v2.0.0", "c2", 0), ev("m@v2.0.0!", "c2", 1),
				ev("m#prod#1", "c1", 1), ev("m#prod!#2", "c1", 2),
			},
			versions: []string{"v1.0.0"},
			stages:   map[string]string{},
			next:     3,
		},
		{
			name: "stages are independent; counter is shared",
			events: []Event{
				ev("m@v1.0.0", "c1", 0), ev("m@v2.0.0", "c2", 0),
				ev("m#dev#1", "c2", 1), ev("m#prod#5", "c1", 2), ev("other#prod#9", "c2", 3),
			},
			versions: []string{"v1.0.0", "v2.0.0"},
			stages:   map[string]string{"dev": "v2.0.0", "prod": "v1.0.0"},
			next:     6,
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
			if got := m.NextCounter(); got != tt.next {
				t.Errorf("NextCounter = %d, want %d", got, tt.next)
			}
		})
	}
}
