package config

import (
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Model is one entry under models:: an artifact registered and promoted
// through stages as annotated git tags.
type Model struct {
	Name string `yaml:"name"`
	// Artifact is the file or directory that is the model, hashed with the
	// data hasher.
	Artifact string  `yaml:"artifact"`
	Type     string  `yaml:"type"`
	Stages   []Stage `yaml:"stages"`
	// Bump is how mlci ci versions a merge: major, minor or patch (default).
	Bump string `yaml:"bump"`
	// Profile is the model's reference data for mlci drift.
	Profile *ModelProfile `yaml:"profile"`
	// Refit is what mlci refit commits after a retrain.
	Refit *Refit `yaml:"refit"`
	Line  int    `yaml:"-"`
}

// Stage is one step of a model's promotion path.
type Stage struct {
	Name string `yaml:"name"`
	// Requires lists what a version needs before it may hold the stage.
	Requires []Requirement `yaml:"requires"`
	// On is "merge" for the stage a push to the default branch reaches by
	// itself.
	On string `yaml:"on"`
	// Rollout, when set, makes mlci rollout move a version into the stage
	// a share of traffic at a time.
	Rollout *Rollout `yaml:"rollout"`
}

// RequirementKind is what a requires: entry asks of a version. It is the
// entry's text (the prefix, for stage:NAME), so an entry mlci does not know
// keeps what was written until validation reports it.
type RequirementKind string

// The requirements a stage may list under requires:.
const (
	// RequireGates: the version's registration recorded passing gates.
	RequireGates RequirementKind = "gates"
	// RequireDataCheck: the registration recorded locked datasets.
	RequireDataCheck RequirementKind = "data-check"
	// RequireApproval: the forge's protected environment approves.
	RequireApproval RequirementKind = "approval"
	// RequireStage: the version holds Requirement.Stage now; written
	// stage:NAME.
	RequireStage RequirementKind = "stage:"
)

// Requirement is one entry of a stage's requires:, parsed when the config
// is read so that the promotion policy switches on kinds, not text.
type Requirement struct {
	Kind RequirementKind
	// Stage is the stage a RequireStage entry names.
	Stage string
}

// ParseRequirement reads a requires: entry as written ("gates",
// "stage:dev"). It never fails: an unknown entry keeps its text as its
// Kind, and Parse rejects it with the stage's position.
func ParseRequirement(s string) Requirement {
	if name, ok := strings.CutPrefix(s, string(RequireStage)); ok {
		return Requirement{Kind: RequireStage, Stage: name}
	}
	return Requirement{Kind: RequirementKind(s)}
}

// String is the entry as mlci.yaml writes it.
func (r Requirement) String() string {
	if r.Kind == RequireStage {
		return string(RequireStage) + r.Stage
	}
	return string(r.Kind)
}

// UnmarshalText lets YAML write a requirement as its text. It accepts any
// text so that the error for an unknown entry is validation's, which names
// the model and stage.
func (r *Requirement) UnmarshalText(b []byte) error {
	*r = ParseRequirement(string(b))
	return nil
}

// MarshalText writes the requirement back the way mlci.yaml has it.
func (r Requirement) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// DefaultStages is the path a model takes when it names none: merges reach
// dev; staging needs dev; production needs staging and the forge's approval.
func DefaultStages() []Stage {
	gates := Requirement{Kind: RequireGates}
	return []Stage{
		{Name: "dev", Requires: []Requirement{gates}, On: "merge"},
		{Name: "staging", Requires: []Requirement{gates, {Kind: RequireStage, Stage: "dev"}}},
		{Name: "production", Requires: []Requirement{{Kind: RequireStage, Stage: "staging"}, {Kind: RequireApproval}}},
	}
}

// gtoName is GTO's pattern for artifact and stage names, so the tags mlci
// writes parse in GTO; "dir/path:name" is GTO's monorepo form.
var gtoName = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-/_]*[a-zA-Z0-9])?$`)

func validGTOName(s string) bool {
	dir, name, ok := strings.Cut(s, ":")
	if ok {
		return gtoName.MatchString(dir) && gtoName.MatchString(name)
	}
	return gtoName.MatchString(s)
}

func (c *Config) checkModels(pos map[string]*yaml.Node, at func(p, msg string, args ...any) error) error {
	names := map[string]int{}
	for i := range c.Models {
		m := &c.Models[i]
		p := fmt.Sprintf("models[%d]", i)
		if n := pos[p]; n != nil {
			m.Line = n.Line
		}
		switch {
		case m.Name == "":
			return at(p, `%s has no name; add "name:" (letters, digits, -, _ and /)`, p)
		case !validGTOName(m.Name):
			return at(p+".name", "model name %q cannot be a git tag in GTO's grammar; use letters, digits, -, _ and /, starting and ending with a letter or digit", m.Name)
		case m.Artifact == "":
			return at(p, `model %q has no artifact; set "artifact:" to the model's file or directory`, m.Name)
		}
		if j, ok := names[m.Name]; ok {
			return at(p, "model name %q is used twice (lines %d and %d)", m.Name, c.Models[j].Line, m.Line)
		}
		names[m.Name] = i
		switch m.Bump {
		case "":
			m.Bump = "patch"
		case "major", "minor", "patch":
		default:
			return at(p+".bump", "model %q: bump %q must be major, minor or patch", m.Name, m.Bump)
		}
		if err := checkModelProfile(m, p, at); err != nil {
			return err
		}
		if err := checkRefit(m, p, at); err != nil {
			return err
		}
		if len(m.Stages) == 0 {
			m.Stages = DefaultStages()
			continue
		}
		if err := checkStages(m, p, at); err != nil {
			return err
		}
	}
	return nil
}

func checkStages(m *Model, p string, at func(p, msg string, args ...any) error) error {
	seen := map[string]bool{}
	onMerge := ""
	for j := range m.Stages {
		st := &m.Stages[j]
		sp := fmt.Sprintf("%s.stages[%d]", p, j)
		if !validGTOName(st.Name) {
			return at(sp, "model %q: stage name %q cannot be a git tag in GTO's grammar", m.Name, st.Name)
		}
		if seen[st.Name] {
			return at(sp, "model %q: stage %q is listed twice", m.Name, st.Name)
		}
		for _, r := range st.Requires {
			switch r.Kind {
			case RequireGates, RequireDataCheck, RequireApproval:
			case RequireStage:
				// Only an earlier stage can be required: promotion goes one way.
				if !seen[r.Stage] {
					return at(sp+".requires", "model %q: stage %q requires %q, which is not an earlier stage", m.Name, st.Name, r.String())
				}
			default:
				return at(sp+".requires", "model %q: stage %q: unknown requirement %q; use gates, data-check, approval or stage:NAME", m.Name, st.Name, r.String())
			}
		}
		switch st.On {
		case "":
		case "merge":
			if onMerge != "" {
				return at(sp+".on", "model %q: stages %q and %q both say on: merge; a merge reaches one stage", m.Name, onMerge, st.Name)
			}
			onMerge = st.Name
		default:
			return at(sp+".on", `model %q: stage %q: on %q must be "merge" or left out`, m.Name, st.Name, st.On)
		}
		if err := checkRollout(m, st, sp, at); err != nil {
			return err
		}
		seen[st.Name] = true
	}
	return nil
}
