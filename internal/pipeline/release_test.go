package pipeline

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/mlci/mlci/internal/config"
	"github.com/mlci/mlci/internal/exitcode"
	"github.com/mlci/mlci/internal/gate"
	"github.com/mlci/mlci/internal/project"
	"github.com/mlci/mlci/internal/registry"
)

// fakeRegistry records what a release asks of it.
type fakeRegistry struct {
	head         string
	state        map[string]*registry.Model
	registered   []string
	promoted     []string
	gates        *gate.Report
	failRegister error
}

func (f *fakeRegistry) Head(context.Context) (string, error) { return f.head, nil }

func (f *fakeRegistry) State(context.Context) (map[string]*registry.Model, error) {
	return f.state, nil
}

func (f *fakeRegistry) Register(_ context.Context, m config.Model, version string, gates *gate.Report) error {
	if f.failRegister != nil {
		return f.failRegister
	}
	f.registered = append(f.registered, m.Name+"@"+version)
	f.gates = gates
	return nil
}

func (f *fakeRegistry) Promote(_ context.Context, m config.Model, stage, version string) (registry.Tag, registry.Record, error) {
	f.promoted = append(f.promoted, fmt.Sprintf("%s %s %s", m.Name, version, stage))
	return registry.Tag{Artifact: m.Name, Stage: stage, Kind: registry.KindAssignment},
		registry.Record{Version: version, Artifact: "sha256:aa"}, nil
}

func TestRelease(t *testing.T) {
	models := []config.Model{
		{Name: "digits", Artifact: "model.bin", Bump: "minor", Stages: []config.Stage{{Name: "staging", On: "merge"}, {Name: "prod"}}},
		{Name: "manual", Artifact: "other.bin", Bump: "patch", Stages: []config.Stage{{Name: "prod"}}},
	}
	tests := []struct {
		name           string
		state          map[string]*registry.Model
		wantRegistered []string
		wantPromoted   []string
		wantVersion    string
		wantTag        string
	}{
		{
			name:           "first release",
			state:          map[string]*registry.Model{},
			wantRegistered: []string{"digits@v0.0.1"},
			wantPromoted:   []string{"digits v0.0.1 staging"},
			wantVersion:    "v0.0.1",
		},
		{
			name: "bumped from the latest",
			state: map[string]*registry.Model{"digits": {Name: "digits", Versions: []registry.Version{
				{Version: "v0.1.0", Commit: "old"}, {Version: "v1.2.3", Commit: "older"},
			}}},
			wantRegistered: []string{"digits@v1.3.0"},
			wantPromoted:   []string{"digits v1.3.0 staging"},
			wantVersion:    "v1.3.0",
		},
		{
			name: "HEAD registered, not promoted",
			state: map[string]*registry.Model{"digits": {Name: "digits", Versions: []registry.Version{
				{Version: "v0.0.4", Commit: "head"},
			}}},
			wantPromoted: []string{"digits v0.0.4 staging"},
			wantVersion:  "v0.0.4",
		},
		{
			name: "a re-run finds it in place",
			state: map[string]*registry.Model{"digits": {
				Name:     "digits",
				Versions: []registry.Version{{Version: "v0.0.4", Commit: "head"}},
				Stages: map[string]*registry.Assignment{"staging": {
					Version: "v0.0.4", Tag: "digits#staging#3", Record: &registry.Record{Artifact: "sha256:bb"},
				}},
			}},
			wantVersion: "v0.0.4",
			wantTag:     "digits#staging#3",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := &fakeRegistry{head: "head", state: tt.state}
			p := &project.Project{Config: &config.Config{Models: models}}
			gates := &gate.Report{Pass: true}
			rel, err := Release(context.Background(), p, &Result{Gates: gates}, reg)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(reg.registered) != fmt.Sprint(tt.wantRegistered) || fmt.Sprint(reg.promoted) != fmt.Sprint(tt.wantPromoted) {
				t.Errorf("registered %v, promoted %v; want %v, %v", reg.registered, reg.promoted, tt.wantRegistered, tt.wantPromoted)
			}
			if len(tt.wantRegistered) > 0 && reg.gates != gates {
				t.Error("the run's gate verdict was not passed to Register")
			}
			if len(rel) != 1 || rel[0].Model != "digits" || rel[0].Stage != "staging" || rel[0].Version != tt.wantVersion || rel[0].Path != "model.bin" {
				t.Fatalf("released %+v", rel)
			}
			if tt.wantTag != "" && (rel[0].Tag != tt.wantTag || rel[0].Digest != "sha256:bb") {
				t.Errorf("released %+v, want the tag in place", rel[0])
			}
		})
	}
}

func TestReleaseKeepsTheRegistrysError(t *testing.T) {
	conflict := exitcode.With(exitcode.Service, errors.New("tag exists"))
	reg := &fakeRegistry{head: "head", state: map[string]*registry.Model{}, failRegister: conflict}
	p := &project.Project{Config: &config.Config{Models: []config.Model{
		{Name: "digits", Bump: "patch", Stages: []config.Stage{{Name: "staging", On: "merge"}}},
	}}}
	rel, err := Release(context.Background(), p, &Result{}, reg)
	if !errors.Is(err, conflict) || exitcode.Of(err, 0) != exitcode.Service || len(rel) != 0 {
		t.Errorf("Release = %v, %v; want the registry's error", rel, err)
	}
}
