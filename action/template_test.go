package action

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

// TestGitLabComponentSpec checks the header document: every input is
// documented, GitLab's schema accepts the spec, and the image is a release's.
func TestGitLabComponentSpec(t *testing.T) {
	c := loadComponent(t)
	for _, name := range []string{"command", "working-directory", "data-remote", "stage", "image", "token-variable", "rules"} {
		in, ok := c.inputs[name]
		if !ok {
			t.Errorf("input %q not declared", name)
			continue
		}
		if in.Description == "" {
			t.Errorf("input %q has no description", name)
		}
	}
	if err := loadSchema(t).Validate(c.header); err != nil {
		t.Errorf("the spec document is not what GitLab accepts: %#v", err)
	}
	if img := c.inputs["image"].Default.Value; !releasedImage.MatchString(img) {
		t.Errorf("image defaults to %q, want a released image %s", img, releasedImage)
	}
}

// TestGitLabComponentRender renders the component for several inputs and
// validates each pipeline against GitLab's schema.
func TestGitLabComponentRender(t *testing.T) {
	c := loadComponent(t)
	sch := loadSchema(t)
	defaultImage := c.inputs["image"].Default.Value
	defaultRules := []any{
		map[string]any{"if": `$CI_PIPELINE_SOURCE == "merge_request_event"`},
		map[string]any{"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"},
	}
	manual := []any{map[string]any{"if": "$CI_COMMIT_BRANCH", "when": "manual"}}
	tests := []struct {
		name      string
		inputs    map[string]any
		image     string
		script    string
		token     string
		rules     []any
		reportDir string
	}{
		{
			name:      "defaults",
			image:     defaultImage,
			script:    `mlci -C "." ci`,
			token:     "${GITLAB_TOKEN}",
			rules:     defaultRules,
			reportDir: ".",
		},
		{
			name: "sub-folder, own token variable and image",
			inputs: map[string]any{
				"command":           "data check",
				"working-directory": "models/churn",
				"token-variable":    "MLCI_BOT_TOKEN",
				"image":             "registry.example.com/mlci:dev",
				"stage":             "deploy",
			},
			image:     "registry.example.com/mlci:dev",
			script:    `mlci -C "models/churn" data check`,
			token:     "${MLCI_BOT_TOKEN}",
			rules:     defaultRules,
			reportDir: "models/churn",
		},
		{
			name:      "data remote",
			inputs:    map[string]any{"data-remote": "storage"},
			image:     defaultImage,
			script:    `mlci -C "." ci`,
			token:     "${GITLAB_TOKEN}",
			rules:     defaultRules,
			reportDir: ".",
		},
		{
			name:      "own rules",
			inputs:    map[string]any{"rules": manual},
			image:     defaultImage,
			script:    `mlci -C "." ci`,
			token:     "${GITLAB_TOKEN}",
			rules:     manual,
			reportDir: ".",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := c.render(tt.inputs)
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(cfg); err != nil {
				t.Fatalf("GitLab's schema rejects the rendered component: %#v", err)
			}
			if err := checkGitLab(cfg); err != nil {
				t.Fatal(err)
			}
			job, _ := cfg["mlci"].(map[string]any)
			image, _ := job["image"].(map[string]any)
			if image["name"] != tt.image {
				t.Errorf("image = %v, want %s", image["name"], tt.image)
			}
			if !reflect.DeepEqual(image["entrypoint"], []any{""}) {
				t.Error(`the image's entrypoint must be reset (entrypoint: [""]) so GitLab runs the script`)
			}
			if !reflect.DeepEqual(job["script"], []any{tt.script}) {
				t.Errorf("script = %v, want [%s]", job["script"], tt.script)
			}
			vars, _ := job["variables"].(map[string]any)
			if vars["MLCI_GITLAB_TOKEN"] != tt.token {
				t.Errorf("MLCI_GITLAB_TOKEN = %v, want %s", vars["MLCI_GITLAB_TOKEN"], tt.token)
			}
			if want, _ := tt.inputs["data-remote"].(string); vars["MLCI_DATA_REMOTE"] != want {
				t.Errorf("MLCI_DATA_REMOTE = %#v, want %q", vars["MLCI_DATA_REMOTE"], want)
			}
			if !reflect.DeepEqual(job["rules"], tt.rules) {
				t.Errorf("rules = %v, want %v", job["rules"], tt.rules)
			}
			art, _ := job["artifacts"].(map[string]any)
			paths, _ := art["paths"].([]any)
			if art["when"] != "always" || !slices.Contains(paths, any(tt.reportDir+"/mlci-report.md")) || !slices.Contains(paths, any("mlci-report.md")) {
				t.Errorf("artifacts = %v, want the report in %s, uploaded always", art, tt.reportDir)
			}
		})
	}
}

// TestGitLabComponentRenderErrors holds the renderer to what GitLab refuses
// when it includes a component.
func TestGitLabComponentRenderErrors(t *testing.T) {
	c := loadComponent(t)
	tests := []struct {
		name     string
		template string // empty: the component itself
		inputs   map[string]any
		want     string
	}{
		{name: "unknown input", inputs: map[string]any{"tokn": "X"}, want: `unknown input "tokn"`},
		{name: "token variable that is no variable name", inputs: map[string]any{"token-variable": "$GITLAB_TOKEN"}, want: "does not match"},
		{name: "rules that are not an array", inputs: map[string]any{"rules": "always"}, want: "not an array"},
		{name: "command that is not a string", inputs: map[string]any{"command": 3}, want: "not a string"},
		{
			name:     "job using an undeclared input",
			template: "spec:\n  inputs:\n    a:\n      default: x\n---\njob:\n  script: echo $[[ inputs.b ]]\n",
			want:     `undeclared input "b"`,
		},
		{
			name:     "required input left out",
			template: "spec:\n  inputs:\n    a:\n---\njob:\n  script: echo $[[ inputs.a ]]\n",
			want:     `input "a" is required`,
		},
		{
			name:     "interpolation function",
			template: "spec:\n  inputs:\n    a:\n      default: x\n---\njob:\n  script: echo $[[ inputs.a | expand_vars ]]\n",
			want:     "unsupported interpolation",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			comp := c
			if tt.template != "" {
				var err error
				if comp, err = parseComponent([]byte(tt.template)); err != nil {
					t.Fatal(err)
				}
			}
			_, err := comp.render(tt.inputs)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("render: %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// TestGitLabValidationFails proves the checks above can fail: each case
// breaks the rendered component (spec and jobs in one document, which the
// schema allows) in one place.
func TestGitLabValidationFails(t *testing.T) {
	sch := loadSchema(t)
	// A fresh copy for each case: the cases change nested maps in place.
	full := func(t *testing.T) map[string]any {
		c := loadComponent(t)
		jobs, err := c.render(nil)
		if err != nil {
			t.Fatal(err)
		}
		return merge(jobs, c.header)
	}
	job := func(cfg map[string]any) map[string]any { return cfg["mlci"].(map[string]any) }
	input := func(cfg map[string]any, name string) map[string]any {
		return cfg["spec"].(map[string]any)["inputs"].(map[string]any)[name].(map[string]any)
	}
	t.Run("unbroken", func(t *testing.T) {
		cfg := full(t)
		if err := sch.Validate(cfg); err != nil {
			t.Fatalf("%#v", err)
		}
		if err := checkGitLab(cfg); err != nil {
			t.Fatal(err)
		}
	})
	tests := []struct {
		name   string
		mutate func(cfg map[string]any)
		at     string // where the schema reports it; empty: GitLab's own check
	}{
		{"expose_as not a string", func(cfg map[string]any) { job(cfg)["artifacts"].(map[string]any)["expose_as"] = 42 }, "/mlci/artifacts/expose_as"},
		{"unknown job keyword", func(cfg map[string]any) { job(cfg)["artefacts"] = map[string]any{"paths": []any{"x"}} }, "/mlci"},
		{"rule that is a number", func(cfg map[string]any) { job(cfg)["rules"] = []any{1} }, "/mlci/rules/0"},
		{"artifacts uploaded at an unknown time", func(cfg map[string]any) { job(cfg)["artifacts"].(map[string]any)["when"] = "sometimes" }, "/mlci/artifacts/when"},
		{"entrypoint that is empty", func(cfg map[string]any) { job(cfg)["image"].(map[string]any)["entrypoint"] = []any{} }, "/mlci/image"},
		{"input of an unknown type", func(cfg map[string]any) { input(cfg, "stage")["type"] = "map" }, "/spec/inputs/stage"},
		{"array input with a string default", func(cfg map[string]any) { input(cfg, "rules")["default"] = "always" }, "/spec/inputs/rules"},
		{"input description over 1024 characters", func(cfg map[string]any) { input(cfg, "stage")["description"] = strings.Repeat("x", 1025) }, "/spec/inputs/stage"},
		{"spec:component", func(cfg map[string]any) { cfg["spec"].(map[string]any)["component"] = []any{"version"} }, "/spec"},
		{"expose_as with a dot", func(cfg map[string]any) { job(cfg)["artifacts"].(map[string]any)["expose_as"] = "mlci.report" }, ""},
		{"exposed path with a wildcard", func(cfg map[string]any) { job(cfg)["artifacts"].(map[string]any)["paths"] = []any{"*.md"} }, ""},
		{"stage the pipeline lacks", func(cfg map[string]any) { job(cfg)["stage"] = "evaluate" }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := full(t)
			tt.mutate(cfg)
			if tt.at == "" {
				if err := checkGitLab(cfg); err == nil {
					t.Fatal("checkGitLab accepted it")
				}
				return
			}
			err := sch.Validate(cfg)
			var ve *jsonschema.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("schema: %v, want a validation error", err)
			}
			if detail := fmt.Sprintf("%#v", ve); !strings.Contains(detail, "'"+tt.at+"'") {
				t.Errorf("schema error not at %s:\n%s", tt.at, detail)
			}
		})
	}
}

// exampleInclude returns the example's include of the component: its
// version (the ref after @) and inputs.
func exampleInclude(t *testing.T, cfg map[string]any) (string, map[string]any) {
	t.Helper()
	includes, _ := cfg["include"].([]any)
	for _, v := range includes {
		inc, _ := v.(map[string]any)
		path, _ := inc["component"].(string)
		if name, ref, ok := strings.Cut(path, "@"); ok && strings.HasSuffix(name, "/mlci/mlci/mlci") {
			inputs, _ := inc["inputs"].(map[string]any)
			return ref, inputs
		}
	}
	t.Fatal("the example does not include the mlci component")
	return "", nil
}

// TestGitLabExample checks the complete .gitlab-ci.yml of the README: as
// written, and as the pipeline GitLab makes of it with the component.
func TestGitLabExample(t *testing.T) {
	data, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	var example map[string]any
	if err := yaml.Unmarshal(data, &example); err != nil {
		t.Fatal(err)
	}
	sch := loadSchema(t)
	if err := sch.Validate(example); err != nil {
		t.Fatalf("GitLab's schema rejects the example: %#v", err)
	}
	c := loadComponent(t)
	ref, inputs := exampleInclude(t, example)
	jobs, err := c.render(inputs)
	if err != nil {
		t.Fatal(err)
	}
	local := maps.Clone(example)
	delete(local, "include")
	pipeline := merge(jobs, local)
	if err := sch.Validate(pipeline); err != nil {
		t.Fatalf("GitLab's schema rejects the example's pipeline: %#v", err)
	}
	if err := checkGitLab(pipeline); err != nil {
		t.Fatal(err)
	}
	m := releasedImage.FindStringSubmatch(c.inputs["image"].Default.Value)
	if m == nil || ref != m[1] {
		t.Errorf("the example includes the component @%s; its image defaults to %s: keep them on one version", ref, c.inputs["image"].Default.Value)
	}
	readme, err := os.ReadFile(readmeFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(readme, []byte("```yaml\n"+string(data)+"```\n")) {
		t.Errorf("README.md does not show %s as it is", exampleFile)
	}
}

// TestGitLabComponentReleaseImage is the release's check that the component
// it tags points at the image it publishes:
// MLCI_RELEASE_TAG=v1.2.3 go test ./action -run TestGitLabComponentReleaseImage
func TestGitLabComponentReleaseImage(t *testing.T) {
	tag := os.Getenv("MLCI_RELEASE_TAG")
	if tag == "" {
		t.Skip("MLCI_RELEASE_TAG is set by the release")
	}
	c := loadComponent(t)
	if got, want := c.inputs["image"].Default.Value, "ghcr.io/mlci/mlci:"+tag; got != want {
		t.Errorf("templates/mlci/template.yml: image defaults to %s; set it to %s (and the README's example to @%s) in the release commit", got, want, tag)
	}
}
