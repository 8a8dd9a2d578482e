package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestModels(t *testing.T) {
	src := `models:
  - name: digits
    artifact: model.bin
  - name: nlp/tagger
    artifact: out/tagger
    type: model
    bump: minor
    stages:
      - {name: dev, on: merge, requires: [gates, data-check]}
      - {name: prod, requires: ["stage:dev", approval]}
`
	c, err := Parse("mlci.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []Model{
		{Name: "digits", Artifact: "model.bin", Bump: "patch", Line: 2, Stages: DefaultStages()},
		{Name: "nlp/tagger", Artifact: "out/tagger", Type: "model", Bump: "minor", Line: 4, Stages: []Stage{
			{Name: "dev", On: "merge", Requires: []Requirement{{Kind: RequireGates}, {Kind: RequireDataCheck}}},
			{Name: "prod", Requires: []Requirement{{Kind: RequireStage, Stage: "dev"}, {Kind: RequireApproval}}},
		}},
	}
	if d := cmp.Diff(want, c.Models); d != "" {
		t.Errorf("models (-want +got):\n%s", d)
	}
}

func TestModelErrors(t *testing.T) {
	tests := []struct{ name, model, want string }{
		{"no name", "artifact: m", "has no name"},
		{"name not a tag", "{name: -bad, artifact: m}", "cannot be a git tag"},
		{"no artifact", "{name: m}", "has no artifact"},
		{"bad bump", "{name: m, artifact: a, bump: huge}", "major, minor or patch"},
		{"bad stage name", "{name: m, artifact: a, stages: [{name: \"a b\"}]}", "stage name \"a b\""},
		{"duplicate stage", "{name: m, artifact: a, stages: [{name: dev}, {name: dev}]}", "listed twice"},
		{"later stage required", "{name: m, artifact: a, stages: [{name: dev, requires: [\"stage:prod\"]}, {name: prod}]}", "not an earlier stage"},
		{"unknown requirement", "{name: m, artifact: a, stages: [{name: dev, requires: [review]}]}", "unknown requirement \"review\""},
		{"stage without a name", "{name: m, artifact: a, stages: [{name: dev, requires: [\"stage:\"]}]}", `requires "stage:", which is not an earlier stage`},
		{"stage without its colon", "{name: m, artifact: a, stages: [{name: dev, requires: [stage]}]}", `unknown requirement "stage"`},
		{"number as requirement", "{name: m, artifact: a, stages: [{name: dev, requires: [5]}]}", `unknown requirement "5"`},
		{"requirement as mapping", "{name: m, artifact: a, stages: [{name: dev, requires: [{stage: dev}]}]}", "models[0].stages[0].requires[0] must be a string, got a mapping"},
		{"requires not a list", "{name: m, artifact: a, stages: [{name: dev, requires: {a: b}}]}", "models[0].stages[0].requires must be a list of strings, got a mapping"},
		{"two merge stages", "{name: m, artifact: a, stages: [{name: a, on: merge}, {name: b, on: merge}]}", "both say on: merge"},
		{"bad on", "{name: m, artifact: a, stages: [{name: a, on: push}]}", `on "push"`},
		{"unknown key", "{name: m, artifact: a, stage: [dev]}", `unknown key "stage" in models[0]; did you mean "stages"?`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("mlci.yaml", []byte("models:\n  - "+tt.model+"\n"))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "mlci.yaml:2:") {
				t.Errorf("err = %v, want mlci.yaml:2:… containing %q", err, tt.want)
			}
		})
	}
	_, err := Parse("mlci.yaml", []byte("models:\n  - {name: m, artifact: a}\n  - {name: m, artifact: b}\n"))
	if err == nil || !strings.Contains(err.Error(), "used twice (lines 2 and 3)") {
		t.Errorf("duplicate model: %v", err)
	}
}

// TestRequirementText: entries read back the way mlci.yaml writes them, so
// messages quote what the user wrote.
func TestRequirementText(t *testing.T) {
	tests := []struct {
		name, text string
		want       Requirement
	}{
		{"gates", "gates", Requirement{Kind: RequireGates}},
		{"data check", "data-check", Requirement{Kind: RequireDataCheck}},
		{"approval", "approval", Requirement{Kind: RequireApproval}},
		{"stage", "stage:dev", Requirement{Kind: RequireStage, Stage: "dev"}},
		{"monorepo stage name", "stage:a/b", Requirement{Kind: RequireStage, Stage: "a/b"}},
		{"unknown keeps its text", "review", Requirement{Kind: "review"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseRequirement(tt.text)
			if got != tt.want {
				t.Errorf("ParseRequirement(%q) = %+v, want %+v", tt.text, got, tt.want)
			}
			if got.String() != tt.text {
				t.Errorf("String() = %q, want %q", got.String(), tt.text)
			}
		})
	}
}
