package action

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestGitLabComponent checks the CI/CD component as GitLab reads it: a spec
// document declaring inputs, then the job document, where every
// $[[ inputs.X ]] names a declared input and the job runs mlci.
func TestGitLabComponent(t *testing.T) {
	data, err := os.ReadFile("../templates/mlci/template.yml")
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.SplitN(string(data), "\n---\n", 2)
	if len(docs) != 2 {
		t.Fatal("want a spec document, ---, and the jobs")
	}
	var spec struct {
		Spec struct {
			Inputs map[string]struct {
				Default any `yaml:"default"`
			} `yaml:"inputs"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal([]byte(docs[0]), &spec); err != nil {
		t.Fatalf("spec: %v", err)
	}
	for _, name := range []string{"command", "working-directory", "stage", "image"} {
		if _, ok := spec.Spec.Inputs[name]; !ok {
			t.Errorf("input %q not declared", name)
		}
	}
	for _, m := range regexp.MustCompile(`\$\[\[\s*inputs\.([\w-]+)\s*\]\]`).FindAllStringSubmatch(docs[1], -1) {
		if _, ok := spec.Spec.Inputs[m[1]]; !ok {
			t.Errorf("job uses undeclared input %q", m[1])
		}
	}
	var jobs map[string]struct {
		Script []string `yaml:"script"`
		Image  struct {
			Entrypoint []string `yaml:"entrypoint"`
		} `yaml:"image"`
	}
	// The interpolation markers are not YAML; give them a value first.
	body := regexp.MustCompile(`\$\[\[[^\]]*\]\]`).ReplaceAllString(docs[1], "x")
	if err := yaml.Unmarshal([]byte(body), &jobs); err != nil {
		t.Fatalf("jobs: %v", err)
	}
	job, ok := jobs["mlci"]
	if !ok || len(job.Script) == 0 || !strings.HasPrefix(job.Script[0], "mlci ") {
		t.Fatalf("job mlci = %+v", job)
	}
	if len(job.Image.Entrypoint) != 1 || job.Image.Entrypoint[0] != "" {
		t.Error(`the image's entrypoint must be reset (entrypoint: [""]) so GitLab runs the script`)
	}
}
