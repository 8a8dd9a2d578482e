package scaffold

import (
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/mlci/mlci/internal/config"
)

func TestConfigLoads(t *testing.T) {
	gate := &Gate{Metric: "eval.val.loss", File: "m.json", Goal: "minimize"}
	tests := []struct {
		name string
		f    Findings
		gate *Gate
		want []string // lines the file must hold
	}{
		{name: "nothing found", want: []string{"# data:", "# gates:"}},
		{
			name: "everything, with names that need quoting",
			f: Findings{Data: []string{"data", "my data", "true", "2024"}, Metrics: []string{"metrics.json"},
				Params: []string{"params.yaml"}, Models: []string{"models", "net.pt", "sub/net.pt", "a b/model"}},
			gate: gate,
			want: []string{`  - "my data"`, `  - "true"`, "    max_rise: 1%", "#   - name: net-2", "#   - name: a-b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := Config(tt.f, tt.gate)
			cfg, err := config.Parse("mlci.yaml", out)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if len(cfg.Data) != len(tt.f.Data) || (tt.gate != nil) != (len(cfg.Gates) == 1) {
				t.Errorf("parsed %+v", cfg)
			}
			for i, d := range tt.f.Data {
				if cfg.Data[i].Path != d {
					t.Errorf("data[%d] = %q, want %q", i, cfg.Data[i].Path, d)
				}
			}
			for _, w := range tt.want {
				if !strings.Contains(string(out), w+"\n") {
					t.Errorf("no line %q in\n%s", w, out)
				}
			}
			// The commented models block, uncommented, is a valid config too.
			var un strings.Builder
			for l := range strings.Lines(string(out)) {
				if strings.HasPrefix(l, "# models:") || strings.HasPrefix(l, "#   ") {
					l = strings.TrimPrefix(strings.TrimPrefix(l, "# "), "#")
				}
				un.WriteString(l)
			}
			if _, err := config.Parse("mlci.yaml", []byte(un.String())); err != nil && len(tt.f.Models) > 0 {
				t.Errorf("models uncommented: %v\n%s", err, un.String())
			}
		})
	}
}

func TestSuggestGate(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  Gate
		ok    bool
	}{
		{"first key with a direction", map[string]string{"m.json": `{"epoch": 3, "train": {"loss": 0.5}, "eval": {"acc": "x", "f1_score": 0.8}}`}, Gate{"eval.f1_score", "m.json", "maximize"}, true},
		{"lower is better", map[string]string{"m.json": `{"val_loss": 0.5}`}, Gate{"val_loss", "m.json", "minimize"}, true},
		{"no direction", map[string]string{"m.json": `{"epoch": 3, "count": 5}`}, Gate{}, false},
		{"broken file passed over", map[string]string{"a.json": `{`, "m.json": `{"accuracy": 1}`}, Gate{"accuracy", "m.json", "maximize"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var names []string
			for _, n := range []string{"a.json", "m.json"} {
				if _, ok := tt.files[n]; ok {
					names = append(names, n)
				}
			}
			got, ok := SuggestGate(os.DirFS(tree(t, tt.files)), names)
			if got != tt.want || ok != tt.ok {
				t.Errorf("got %+v %v, want %+v %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestDetectForge(t *testing.T) {
	tests := []struct {
		name           string
		github, gitlab bool
		origin, want   string
	}{
		{"github folder", true, true, "git@gitlab.com:a/b.git", GitHub},
		{"gitlab file", false, true, "", GitLab},
		{"scp remote", false, false, "git@gitlab.example.com:a/b.git", GitLab},
		{"url remote", false, false, "https://tok@gitlab.com/a/b", GitLab},
		{"github remote", false, false, "https://github.com/a/gitlab-tools", GitHub},
		{"nothing", false, false, "", GitHub},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DetectForge(tt.github, tt.gitlab, tt.origin); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestGitHubWorkflow(t *testing.T) {
	for _, o := range []WorkflowOptions{{}, {Dir: "ml/project/", Branch: "trunk"}} {
		var wf struct {
			On struct {
				Push struct {
					Branches []string `yaml:"branches"`
				} `yaml:"push"`
			} `yaml:"on"`
			Permissions map[string]string `yaml:"permissions"`
			Jobs        map[string]struct {
				Steps []struct {
					Uses string            `yaml:"uses"`
					With map[string]string `yaml:"with"`
				} `yaml:"steps"`
			} `yaml:"jobs"`
		}
		if err := yaml.Unmarshal(GitHubWorkflow(o), &wf); err != nil {
			t.Fatal(err)
		}
		if got := wf.On.Push.Branches; len(got) != 1 || got[0] != o.branch() {
			t.Errorf("push branches %q", got)
		}
		if wf.Permissions["pull-requests"] != "write" || wf.Permissions["statuses"] != "write" || wf.Permissions["contents"] != "read" {
			t.Errorf("permissions %v", wf.Permissions)
		}
		step := wf.Jobs["mlci"].Steps[1]
		if step.Uses != "mlci/mlci@v1" || step.With["working-directory"] != o.dir() || step.With["command"] != "ci" {
			t.Errorf("mlci step %+v", step)
		}
	}
}

func TestGitLabCI(t *testing.T) {
	tests := []struct {
		name     string
		existing string
		exists   bool
		want     string // "write", "present", "manual"
		contains string
	}{
		{name: "new", want: "write", contains: "component: $CI_SERVER_FQDN/mlci/mlci/mlci@" + ComponentRef},
		{name: "empty file", exists: true, want: "write"},
		{name: "jobs only, no final newline", existing: "stages: [build, deploy]\nb:\n  stage: build\n  script: make", exists: true, want: "write", contains: "make\n\n# mlci"},
		{name: "has it", existing: "include:\n  - component: gitlab.com/mlci/mlci/mlci@v1.0.0\n", exists: true, want: "present"},
		{name: "other include", existing: "include: ci/base.yml\n", exists: true, want: "manual", contains: "stage: test"},
		{name: "not yaml", existing: "a: [", exists: true, want: "manual"},
		{name: "two documents", existing: "spec:\n  inputs: {}\n---\nj:\n  script: x\n", exists: true, want: "manual"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := GitLabCI([]byte(tt.existing), tt.exists, WorkflowOptions{})
			got, text := "write", string(e.Content)
			switch {
			case e.Present:
				got = "present"
			case e.Manual != "":
				got, text = "manual", e.Manual
				if e.Reason == "" {
					t.Error("no reason given")
				}
			}
			if got != tt.want || !strings.Contains(text, tt.contains) {
				t.Errorf("got %s %+v", got, e)
			}
			if got == "write" && !strings.HasPrefix(text, tt.existing) {
				t.Errorf("existing content not kept:\n%s", text)
			}
		})
	}
	if e := GitLabCI([]byte("stages: [build, deploy]\n"), true, WorkflowOptions{}); !strings.Contains(string(e.Content), "stage: deploy") {
		t.Errorf("stage not taken from the pipeline:\n%s", e.Content)
	}
}

func TestGitignore(t *testing.T) {
	tests := []struct {
		name, in, want string
		changed        bool
	}{
		{"none", "", "# mlci's outputs (report and run record)\n/mlci-report.md\n/mlci-run.intoto.json\n", true},
		{"one there", "node_modules\nmlci-report.md", "node_modules\nmlci-report.md\n# mlci's outputs (report and run record)\n/mlci-run.intoto.json\n", true},
		{"both there", "/mlci-report.md\nmlci-run.intoto.json\n", "/mlci-report.md\nmlci-run.intoto.json\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := Gitignore([]byte(tt.in))
			if string(got) != tt.want || changed != tt.changed {
				t.Errorf("got %q %v, want %q %v", got, changed, tt.want, tt.changed)
			}
		})
	}
}
