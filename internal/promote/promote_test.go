package promote

import (
	"errors"
	"testing"
	"time"

	"github.com/mlci/mlci/internal/config"
	"github.com/mlci/mlci/internal/registry"
)

// history builds registry state from tags the way registry's own tests do:
// events in time order, replayed by registry.State. A record, when given,
// is the registration's.
type tagEvent struct {
	name, commit string
	record       *registry.Record
}

func model(t *testing.T, name string, tags ...tagEvent) *registry.Model {
	t.Helper()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var events []registry.Event
	for i, e := range tags {
		tag, ok := registry.ParseTag(e.name)
		if !ok {
			t.Fatalf("bad tag %q", e.name)
		}
		events = append(events, registry.Event{Tag: tag, Name: e.name, Commit: e.commit, Time: t0.Add(time.Duration(i) * time.Second), Record: e.record})
	}
	m := registry.State(events)[name]
	if m == nil {
		t.Fatalf("no state for %s", name)
	}
	return m
}

func version(t *testing.T, m *registry.Model, v string) *registry.Version {
	t.Helper()
	for i := range m.Versions {
		if m.Versions[i].Version == v {
			return &m.Versions[i]
		}
	}
	t.Fatalf("%s %s is not registered", m.Name, v)
	return nil
}

func TestCheck(t *testing.T) {
	passed := &registry.Record{Gate: "pass", DataRoots: map[string]string{"train": "blake3:aa"}}
	failed := &registry.Record{Gate: "fail"}
	noGate := &registry.Record{}
	gates := config.Requirement{Kind: config.RequireGates}
	dataCheck := config.Requirement{Kind: config.RequireDataCheck}
	approval := config.Requirement{Kind: config.RequireApproval}
	inDev := config.Requirement{Kind: config.RequireStage, Stage: "dev"}
	inStaging := config.Requirement{Kind: config.RequireStage, Stage: "staging"}

	tests := []struct {
		name    string
		tags    []tagEvent
		version string
		reqs    []config.Requirement
		// unmet is the requirement reported, and reason its message's tail;
		// both empty when the version may enter.
		unmet  *config.Requirement
		reason string
	}{
		{
			name:    "no requirements",
			tags:    []tagEvent{{"m@v0.0.1", "c1", nil}},
			version: "v0.0.1",
		},
		{
			name:    "stage requirement met",
			tags:    []tagEvent{{"m@v0.0.1", "c1", passed}, {"m#dev#1", "c1", nil}},
			version: "v0.0.1",
			reqs:    []config.Requirement{inDev},
		},
		{
			name: "stage requirement unmet: another version holds it now",
			tags: []tagEvent{
				{"m@v0.0.1", "c1", passed}, {"m#dev#1", "c1", nil},
				{"m@v0.0.2", "c2", passed}, {"m#dev#2", "c2", nil},
			},
			version: "v0.0.1",
			reqs:    []config.Requirement{inDev},
			unmet:   &inDev,
			reason:  "it must hold dev first; run mlci promote m --to dev --version v0.0.1",
		},
		{
			name:    "version never in the stage",
			tags:    []tagEvent{{"m@v0.0.1", "c1", passed}, {"m@v0.0.2", "c2", passed}, {"m#dev#1", "c1", nil}},
			version: "v0.0.2",
			reqs:    []config.Requirement{inDev},
			unmet:   &inDev,
			reason:  "it must hold dev first; run mlci promote m --to dev --version v0.0.2",
		},
		{
			name:    "stage nobody holds",
			tags:    []tagEvent{{"m@v0.0.1", "c1", passed}},
			version: "v0.0.1",
			reqs:    []config.Requirement{inStaging},
			unmet:   &inStaging,
			reason:  "it must hold staging first; run mlci promote m --to staging --version v0.0.1",
		},
		{
			name:    "gates passed",
			tags:    []tagEvent{{"m@v0.0.1", "c1", passed}},
			version: "v0.0.1",
			reqs:    []config.Requirement{gates},
		},
		{
			name:    "gates failed",
			tags:    []tagEvent{{"m@v0.0.1", "c1", failed}},
			version: "v0.0.1",
			reqs:    []config.Requirement{gates},
			unmet:   &gates,
			reason:  "it requires passing gates, and its registration recorded gates fail",
		},
		{
			name:    "no gate verdict recorded",
			tags:    []tagEvent{{"m@v0.0.1", "c1", noGate}},
			version: "v0.0.1",
			reqs:    []config.Requirement{gates},
			unmet:   &gates,
			reason:  "it requires passing gates, and its registration recorded no gate verdict",
		},
		{
			// A version registered by GTO itself carries no mlci record.
			name:    "record missing fails gates",
			tags:    []tagEvent{{"m@v0.0.1", "c1", nil}},
			version: "v0.0.1",
			reqs:    []config.Requirement{gates},
			unmet:   &gates,
			reason:  "it requires passing gates, and its registration recorded no gate verdict",
		},
		{
			name:    "record missing fails data check",
			tags:    []tagEvent{{"m@v0.0.1", "c1", nil}},
			version: "v0.0.1",
			reqs:    []config.Requirement{dataCheck},
			unmet:   &dataCheck,
			reason:  "it requires a data check, and its registration recorded no locked datasets",
		},
		{
			name:    "data check recorded",
			tags:    []tagEvent{{"m@v0.0.1", "c1", passed}},
			version: "v0.0.1",
			reqs:    []config.Requirement{dataCheck},
		},
		{
			name:    "no locked datasets recorded",
			tags:    []tagEvent{{"m@v0.0.1", "c1", noGate}},
			version: "v0.0.1",
			reqs:    []config.Requirement{dataCheck},
			unmet:   &dataCheck,
			reason:  "it requires a data check, and its registration recorded no locked datasets",
		},
		{
			// The forge's protected environment grants it, not the registry.
			name:    "approval passes here",
			tags:    []tagEvent{{"m@v0.0.1", "c1", nil}},
			version: "v0.0.1",
			reqs:    []config.Requirement{approval},
		},
		{
			name:    "several requirements all met",
			tags:    []tagEvent{{"m@v0.0.1", "c1", passed}, {"m#dev#1", "c1", nil}},
			version: "v0.0.1",
			reqs:    []config.Requirement{gates, dataCheck, inDev, approval},
		},
		{
			name:    "several requirements, first failure reported",
			tags:    []tagEvent{{"m@v0.0.1", "c1", failed}},
			version: "v0.0.1",
			reqs:    []config.Requirement{approval, inDev, gates, dataCheck},
			unmet:   &inDev,
			reason:  "it must hold dev first; run mlci promote m --to dev --version v0.0.1",
		},
		{
			name:    "several requirements, a later one fails",
			tags:    []tagEvent{{"m@v0.0.1", "c1", noGate}, {"m#dev#1", "c1", nil}},
			version: "v0.0.1",
			reqs:    []config.Requirement{inDev, dataCheck, gates},
			unmet:   &dataCheck,
			reason:  "it requires a data check, and its registration recorded no locked datasets",
		},
		{
			name:    "a kind config does not know fails closed",
			tags:    []tagEvent{{"m@v0.0.1", "c1", passed}},
			version: "v0.0.1",
			reqs:    []config.Requirement{{Kind: "review"}},
			unmet:   &config.Requirement{Kind: "review"},
			reason:  `it requires "review", which mlci does not know`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := model(t, "m", tt.tags...)
			v := version(t, m, tt.version)
			err := Check(m, v, config.Stage{Name: "staging", Requires: tt.reqs})
			if tt.unmet == nil {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			var ue *UnmetError
			if !errors.As(err, &ue) {
				t.Fatalf("Check = %v (%T), want *UnmetError", err, err)
			}
			if ue.Requirement != *tt.unmet || ue.Reason != tt.reason {
				t.Errorf("unmet %v (%q), want %v (%q)", ue.Requirement, ue.Reason, *tt.unmet, tt.reason)
			}
			want := "m " + tt.version + " cannot enter staging: " + tt.reason
			if err.Error() != want {
				t.Errorf("message %q, want %q", err.Error(), want)
			}
		})
	}
}

func TestPreviousHolder(t *testing.T) {
	tests := []struct {
		name  string
		tags  []tagEvent
		stage string
		want  string
	}{
		{
			name: "the version before the current one",
			tags: []tagEvent{
				{"m@v0.0.1", "c1", nil}, {"m@v0.0.2", "c2", nil},
				{"m#prod#1", "c1", nil}, {"m#prod#2", "c2", nil},
			},
			stage: "prod",
			want:  "v0.0.1",
		},
		{
			name: "the latest of several earlier holders",
			tags: []tagEvent{
				{"m@v0.0.1", "c1", nil}, {"m@v0.0.2", "c2", nil}, {"m@v0.0.3", "c3", nil},
				{"m#prod#1", "c2", nil}, {"m#prod#2", "c1", nil}, {"m#prod#3", "c3", nil},
			},
			stage: "prod",
			want:  "v0.0.1",
		},
		{
			name:  "only one version ever held it",
			tags:  []tagEvent{{"m@v0.0.1", "c1", nil}, {"m#prod#1", "c1", nil}},
			stage: "prod",
		},
		{
			name: "a deregistered earlier holder is skipped",
			tags: []tagEvent{
				{"m@v0.0.1", "c1", nil}, {"m@v0.0.2", "c2", nil}, {"m@v0.0.3", "c3", nil},
				{"m#prod#1", "c1", nil}, {"m#prod#2", "c2", nil}, {"m#prod#3", "c3", nil},
				{"m@v0.0.2!", "c2", nil},
			},
			stage: "prod",
			want:  "v0.0.1",
		},
		{
			name: "assignments to other stages do not count",
			tags: []tagEvent{
				{"m@v0.0.1", "c1", nil}, {"m@v0.0.2", "c2", nil},
				{"m#dev#1", "c1", nil}, {"m#prod#2", "c2", nil},
			},
			stage: "prod",
		},
		{
			name:  "nobody holds the stage",
			tags:  []tagEvent{{"m@v0.0.1", "c1", nil}},
			stage: "prod",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PreviousHolder(model(t, "m", tt.tags...), tt.stage); got != tt.want {
				t.Errorf("PreviousHolder = %q, want %q", got, tt.want)
			}
		})
	}
}
