package action

import (
	"maps"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/mlci/mlci/internal/scaffold"
)

// TestInitGitLabCI checks the .gitlab-ci.yml mlci init writes, new and
// appended to a pipeline of one's own, against GitLab's schema, as written
// and as the pipeline GitLab makes of it with the component; and that it
// includes the component at the version whose image it defaults to.
func TestInitGitLabCI(t *testing.T) {
	tests := []struct {
		name     string
		existing string
		exists   bool
		opts     scaffold.WorkflowOptions
	}{
		{name: "new", opts: scaffold.WorkflowOptions{}},
		{name: "new, project in a folder", opts: scaffold.WorkflowOptions{Dir: "ml/"}},
		{name: "appended", exists: true, existing: "stages: [build, check]\nbuild:\n  stage: build\n  script: make\n"},
	}
	sch := loadSchema(t)
	c := loadComponent(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			edit := scaffold.GitLabCI([]byte(tt.existing), tt.exists, tt.opts)
			if edit.Content == nil {
				t.Fatalf("nothing to write: %+v", edit)
			}
			var cfg map[string]any
			if err := yaml.Unmarshal(edit.Content, &cfg); err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(cfg); err != nil {
				t.Fatalf("GitLab's schema rejects it: %#v\n%s", err, edit.Content)
			}
			ref, inputs := exampleInclude(t, cfg)
			jobs, err := c.render(inputs)
			if err != nil {
				t.Fatal(err)
			}
			local := maps.Clone(cfg)
			delete(local, "include")
			pipeline := merge(jobs, local)
			if err := sch.Validate(pipeline); err != nil {
				t.Fatalf("GitLab's schema rejects the pipeline: %#v", err)
			}
			if err := checkGitLab(pipeline); err != nil {
				t.Fatal(err)
			}
			m := releasedImage.FindStringSubmatch(c.inputs["image"].Default.Value)
			if m == nil || ref != m[1] {
				t.Errorf("init includes the component @%s; its image defaults to %s: keep scaffold.ComponentRef on that version", ref, c.inputs["image"].Default.Value)
			}
		})
	}
}
