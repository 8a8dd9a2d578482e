package ciprovider

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mlci/mlci/internal/forge/local"
)

// vars builds a getenv from name, value pairs.
func vars(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// files is a ReadFile over a map, counting reads.
type files struct {
	m     map[string]string
	reads int
}

func (f *files) read(name string) ([]byte, error) {
	f.reads++
	if s, ok := f.m[name]; ok {
		return []byte(s), nil
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

// Trimmed payloads of the events GitHub writes to GITHUB_EVENT_PATH.
const (
	pushEventJSON = `{"ref": "refs/heads/main", "before": "1111111111111111111111111111111111111111", "after": "2222222222222222222222222222222222222222",
		"repository": {"full_name": "acme/digits", "default_branch": "main"}, "pusher": {"name": "octocat"}}`
	prEventJSON = `{"action": "synchronize", "number": 7, "pull_request": {"number": 7, "head": {"sha": "3333333333333333333333333333333333333333"}},
		"repository": {"full_name": "acme/digits", "default_branch": "main"}}`
)

// Variables each CI sets in every job, whatever started it.
var (
	githubJob = []string{
		"GITHUB_ACTIONS", "true", "CI", "true", "GITHUB_SERVER_URL", "https://github.com", "GITHUB_REPOSITORY", "acme/digits",
		"GITHUB_RUN_ID", "42", "GITHUB_ACTOR", "octocat", "GITHUB_EVENT_PATH", "/home/runner/work/_temp/_github_workflow/event.json",
	}
	gitlabJob = []string{
		"GITLAB_CI", "true", "CI", "true", "CI_PROJECT_URL", "https://gitlab.com/acme/digits", "CI_PIPELINE_URL", "https://gitlab.com/acme/digits/-/pipelines/9",
		"GITLAB_USER_LOGIN", "alice", "CI_DEFAULT_BRANCH", "main", "USER", "gitlab-runner",
	}
)

func TestDetect(t *testing.T) {
	const eventPath = "/home/runner/work/_temp/_github_workflow/event.json"
	github := func(kv ...string) []string { return append(slices.Clone(githubJob), kv...) }
	gitlab := func(kv ...string) []string { return append(slices.Clone(gitlabJob), kv...) }
	const (
		ghRun  = "https://github.com/acme/digits/actions/runs/42"
		ghRepo = "https://github.com/acme/digits"
		glRun  = "https://gitlab.com/acme/digits/-/pipelines/9"
		glRepo = "https://gitlab.com/acme/digits"
	)
	type want struct {
		name, runURL, repo, actor, builder string
		event                              Event
		limit                              int
		commands                           bool
	}
	ghWant := func(e Event) want {
		return want{"github", ghRun, ghRepo, "octocat", "https://github.com/actions/runner", e, 65536, true}
	}
	glWant := func(e Event) want {
		return want{"gitlab", glRun, glRepo, "alice", "https://gitlab.com/gitlab-org/gitlab-runner", e, 1000000, false}
	}
	tests := []struct {
		name  string
		env   []string
		event string // GITHUB_EVENT_PATH's content; "" for no file
		want  want
	}{
		{"github pull_request", github("GITHUB_EVENT_NAME", "pull_request", "GITHUB_REF", "refs/pull/7/merge"), prEventJSON, ghWant(EventPullRequest)},
		{"github pull_request_target", github("GITHUB_EVENT_NAME", "pull_request_target", "GITHUB_REF", "refs/heads/main"), prEventJSON, ghWant(EventPullRequest)},
		{"github push to the default branch", github("GITHUB_EVENT_NAME", "push", "GITHUB_REF", "refs/heads/main"), pushEventJSON, ghWant(EventMerge)},
		{"github push to another branch", github("GITHUB_EVENT_NAME", "push", "GITHUB_REF", "refs/heads/feature"), pushEventJSON, ghWant(EventPush)},
		{"github push of a tag named as the default branch", github("GITHUB_EVENT_NAME", "push", "GITHUB_REF", "refs/tags/main"), pushEventJSON, ghWant(EventPush)},
		{"github push without its event file", github("GITHUB_EVENT_NAME", "push", "GITHUB_REF", "refs/heads/main"), "", ghWant(EventPush)},
		{"github push whose event names no default branch", github("GITHUB_EVENT_NAME", "push", "GITHUB_REF", "refs/heads/main"), `{"repository": {}}`, ghWant(EventPush)},
		{"github push with a broken event file", github("GITHUB_EVENT_NAME", "push", "GITHUB_REF", "refs/heads/main"), `{"repository": `, ghWant(EventPush)},
		{"github schedule", github("GITHUB_EVENT_NAME", "schedule", "GITHUB_REF", "refs/heads/main"), `{"schedule": "0 3 * * *"}`, ghWant(EventSchedule)},
		{"github workflow_dispatch", github("GITHUB_EVENT_NAME", "workflow_dispatch", "GITHUB_REF", "refs/heads/main"), `{"inputs": {}}`, ghWant(EventManual)},
		{"github repository_dispatch", github("GITHUB_EVENT_NAME", "repository_dispatch"), `{"action": "retrain"}`, ghWant(EventManual)},
		{"github workflow_run", github("GITHUB_EVENT_NAME", "workflow_run"), `{}`, ghWant(EventUnknown)},
		{"gitlab merge_request_event", gitlab("CI_PIPELINE_SOURCE", "merge_request_event", "CI_MERGE_REQUEST_IID", "7"), "", glWant(EventPullRequest)},
		{"gitlab external_pull_request_event", gitlab("CI_PIPELINE_SOURCE", "external_pull_request_event"), "", glWant(EventPullRequest)},
		{"gitlab push to the default branch", gitlab("CI_PIPELINE_SOURCE", "push", "CI_COMMIT_BRANCH", "main"), "", glWant(EventMerge)},
		{"gitlab push to another branch", gitlab("CI_PIPELINE_SOURCE", "push", "CI_COMMIT_BRANCH", "feature"), "", glWant(EventPush)},
		{"gitlab push of a tag", gitlab("CI_PIPELINE_SOURCE", "push", "CI_COMMIT_TAG", "main"), "", glWant(EventPush)},
		{"gitlab schedule", gitlab("CI_PIPELINE_SOURCE", "schedule", "CI_COMMIT_BRANCH", "main"), "", glWant(EventSchedule)},
		{"gitlab web", gitlab("CI_PIPELINE_SOURCE", "web", "CI_COMMIT_BRANCH", "main"), "", glWant(EventManual)},
		{"gitlab api", gitlab("CI_PIPELINE_SOURCE", "api", "CI_COMMIT_BRANCH", "main"), "", glWant(EventManual)},
		{"gitlab trigger", gitlab("CI_PIPELINE_SOURCE", "trigger", "CI_COMMIT_BRANCH", "main"), "", glWant(EventManual)},
		{"gitlab parent_pipeline", gitlab("CI_PIPELINE_SOURCE", "parent_pipeline", "CI_COMMIT_BRANCH", "main"), "", glWant(EventUnknown)},
		{"gitlab pipeline", gitlab("CI_PIPELINE_SOURCE", "pipeline"), "", glWant(EventUnknown)},
		{"neither", []string{"USER", "dev"}, "", want{"local", "", "", "dev", "https://mlci.dev/local", EventUnknown, 0, false}},
		{"GITHUB_ACTIONS not true", []string{"GITHUB_ACTIONS", "false", "GITHUB_EVENT_NAME", "push", "USER", "dev"}, "", want{"local", "", "", "dev", "https://mlci.dev/local", EventUnknown, 0, false}},
		{"both: GitHub first", append(github("GITHUB_EVENT_NAME", "schedule"), gitlabJob...), "", want{"github", ghRun, ghRepo, "octocat", "https://github.com/actions/runner", EventSchedule, 65536, true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := &files{m: map[string]string{}}
			if tc.event != "" {
				fs.m[eventPath] = tc.event
			}
			p := Detect(vars(tc.env...), Options{ReadFile: fs.read})
			got := want{p.Name(), p.RunURL(), p.RepositoryURL(), p.Actor(), p.BuilderID(), p.Event(), p.CommentLimit(), p.WorkflowCommands()}
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
			p.Event()
			if fs.reads > 1 {
				t.Errorf("the event file was read %d times; once is enough", fs.reads)
			}
		})
	}
}

// The event file is read only by Event, not by Detect: most commands never
// ask.
func TestDetectReadsNoFile(t *testing.T) {
	fs := &files{}
	p := Detect(vars(append(slices.Clone(githubJob), "GITHUB_EVENT_NAME", "push")...), Options{ReadFile: fs.read})
	_ = p.Name()
	if fs.reads != 0 {
		t.Errorf("Detect read %d files", fs.reads)
	}
}

func TestEventString(t *testing.T) {
	for e, want := range map[Event]string{
		EventUnknown: "unknown", EventPullRequest: "pull_request", EventMerge: "merge",
		EventPush: "push", EventSchedule: "schedule", EventManual: "manual", Event(99): "unknown",
	} {
		if got := e.String(); got != want {
			t.Errorf("Event(%d).String() = %q, want %q", int(e), got, want)
		}
	}
}

// Values that only describe the run come from any system's variables when
// the detected one has none.
func TestDescriptiveFallbacks(t *testing.T) {
	tests := []struct {
		name                string
		env                 []string
		runURL, repo, actor string
	}{
		{name: "nothing", env: nil},
		{name: "the local user", env: []string{"USER", "dev"}, actor: "dev"},
		{name: "GitHub's actor before the local user", env: []string{"GITHUB_ACTOR", "alice", "USER", "dev"}, actor: "alice"},
		{name: "GitLab's actor before the local user", env: []string{"GITLAB_USER_LOGIN", "bob", "USER", "dev"}, actor: "bob"},
		{name: "GitHub's actor before GitLab's", env: []string{"GITHUB_ACTOR", "alice", "GITLAB_USER_LOGIN", "bob", "USER", "dev"}, actor: "alice"},
		{name: "in GitHub Actions without an actor", env: []string{"GITHUB_ACTIONS", "true", "USER", "dev"}, actor: "dev"},
		{
			name: "GitHub repository without GITHUB_ACTIONS", env: []string{"GITHUB_SERVER_URL", "https://github.com", "GITHUB_REPOSITORY", "acme/digits"},
			repo: "https://github.com/acme/digits",
		},
		{name: "GitHub repository without a server", env: []string{"GITHUB_REPOSITORY", "acme/digits"}, repo: "https://github.com/acme/digits"},
		{name: "GitHub server with a slash", env: []string{"GITHUB_SERVER_URL", "https://ghe.example/", "GITHUB_REPOSITORY", "acme/digits"}, repo: "https://ghe.example/acme/digits"},
		{
			name: "GitHub run needs all three", env: []string{"GITHUB_SERVER_URL", "https://github.com", "GITHUB_REPOSITORY", "acme/digits"},
			repo: "https://github.com/acme/digits",
		},
		{
			name: "GitHub run", env: []string{"GITHUB_SERVER_URL", "https://github.com", "GITHUB_REPOSITORY", "acme/digits", "GITHUB_RUN_ID", "42"},
			runURL: "https://github.com/acme/digits/actions/runs/42", repo: "https://github.com/acme/digits",
		},
		{
			name: "GitLab pipeline without GITLAB_CI", env: []string{"CI_PIPELINE_URL", "https://gitlab.example/g/p/-/pipelines/9", "CI_PROJECT_URL", "https://gitlab.example/g/p"},
			runURL: "https://gitlab.example/g/p/-/pipelines/9", repo: "https://gitlab.example/g/p",
		},
		{name: "GitLab project URL loses credentials", env: []string{"CI_PROJECT_URL", "https://user:SECRET@gitlab.example/g/p.git"}, repo: "https://gitlab.example/g/p"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := Detect(vars(tc.env...), Options{})
			if got := p.RunURL(); got != tc.runURL {
				t.Errorf("RunURL() = %q, want %q", got, tc.runURL)
			}
			if got := p.RepositoryURL(); got != tc.repo {
				t.Errorf("RepositoryURL() = %q, want %q", got, tc.repo)
			}
			if got := p.Actor(); got != tc.actor {
				t.Errorf("Actor() = %q, want %q", got, tc.actor)
			}
		})
	}
}

// TestTargetBranch covers the branch a baseline's merge base is taken
// with, as each CI names it.
func TestTargetBranch(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{name: "outside CI git decides", env: []string{"USER", "dev"}},
		{name: "GitHub pull request", env: []string{"GITHUB_ACTIONS", "true", "GITHUB_EVENT_NAME", "pull_request", "GITHUB_BASE_REF", "release"}, want: "release"},
		{name: "GitHub push names none", env: []string{"GITHUB_ACTIONS", "true", "GITHUB_EVENT_NAME", "push", "GITHUB_BASE_REF", ""}},
		{name: "GitLab merge request", env: []string{"GITLAB_CI", "true", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "develop", "CI_DEFAULT_BRANCH", "main"}, want: "develop"},
		{name: "GitLab push falls back to the default branch", env: []string{"GITLAB_CI", "true", "CI_DEFAULT_BRANCH", "trunk"}, want: "trunk"},
		{name: "a GitHub variable without GITHUB_ACTIONS", env: []string{"GITHUB_BASE_REF", "main"}, want: "main"},
		{name: "GitLab's target before GitHub's in GitLab", env: []string{"GITLAB_CI", "true", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "develop", "GITHUB_BASE_REF", "main"}, want: "develop"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Detect(vars(tc.env...), Options{}).TargetBranch(); got != tc.want {
				t.Errorf("TargetBranch() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRegistryCredential(t *testing.T) {
	tests := []struct {
		name       string
		host       string
		env        []string
		user, pass string
		wantErr    string
	}{
		{name: "ghcr with the job token", host: "ghcr.io", env: []string{"GITHUB_TOKEN", "t", "GITHUB_ACTOR", "octocat"}, user: "octocat", pass: "t"},
		{name: "ghcr token without an actor", host: "ghcr.io", env: []string{"GITHUB_TOKEN", "t"}, user: "mlci", pass: "t"},
		{name: "GitHub token not sent elsewhere", host: "harbor.example.com", env: []string{"GITHUB_TOKEN", "t", "GITHUB_ACTOR", "octocat"}},
		{name: "ghcr token inside GitHub Actions", host: "ghcr.io", env: []string{"GITHUB_ACTIONS", "true", "GITHUB_TOKEN", "t", "GITHUB_ACTOR", "octocat"}, user: "octocat", pass: "t"},
		{
			name: "explicit credentials win", host: "ghcr.io", env: []string{"GITHUB_TOKEN", "t", "MLCI_REGISTRY_USERNAME", "bot", "MLCI_REGISTRY_PASSWORD", "pw"},
			user: "bot", pass: "pw",
		},
		{
			name: "explicit credentials win over GitLab's", host: "registry.gitlab.com",
			env:  []string{"CI_REGISTRY", "registry.gitlab.com", "CI_REGISTRY_USER", "gitlab-ci-token", "CI_REGISTRY_PASSWORD", "jt", "MLCI_REGISTRY_USERNAME", "bot", "MLCI_REGISTRY_PASSWORD", "pw"},
			user: "bot", pass: "pw",
		},
		{
			name: "gitlab job registry", host: "registry.gitlab.com",
			env:  []string{"CI_REGISTRY", "registry.gitlab.com", "CI_REGISTRY_USER", "gitlab-ci-token", "CI_REGISTRY_PASSWORD", "jt"},
			user: "gitlab-ci-token", pass: "jt",
		},
		{
			name: "gitlab job registry in another case", host: "Registry.GitLab.com",
			env:  []string{"GITLAB_CI", "true", "CI_REGISTRY", "registry.gitlab.com", "CI_REGISTRY_USER", "gitlab-ci-token", "CI_REGISTRY_PASSWORD", "jt"},
			user: "gitlab-ci-token", pass: "jt",
		},
		{
			name: "gitlab job token not sent elsewhere", host: "harbor.example.com",
			env: []string{"CI_REGISTRY", "registry.gitlab.com", "CI_REGISTRY_USER", "gitlab-ci-token", "CI_REGISTRY_PASSWORD", "jt"},
		},
		{name: "gitlab registry without a password", host: "registry.gitlab.com", env: []string{"CI_REGISTRY", "registry.gitlab.com", "CI_REGISTRY_USER", "gitlab-ci-token"}},
		{name: "gitlab anonymous", host: "registry.gitlab.com"},
		{name: "half credentials", host: "harbor.example.com", env: []string{"MLCI_REGISTRY_USERNAME", "bot"}, wantErr: "MLCI_REGISTRY_PASSWORD"},
		{name: "only a password", host: "harbor.example.com", env: []string{"MLCI_REGISTRY_PASSWORD", "pw", "GITHUB_TOKEN", "t"}, wantErr: "MLCI_REGISTRY_USERNAME"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			user, pass, err := Detect(vars(tc.env...), Options{}).RegistryCredential(tc.host)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v; want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if user != tc.user || pass != tc.pass {
				t.Errorf("credential = %q:%q, want %q:%q", user, pass, tc.user, tc.pass)
			}
		})
	}
}

func TestOutputs(t *testing.T) {
	dir := t.TempDir()
	out, summary := filepath.Join(dir, "output"), filepath.Join(dir, "summary")
	for _, f := range []string{out, summary} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name        string
		env         []string
		none        bool
		wantSummary bool
	}{
		{name: "GitHub Actions", env: []string{"GITHUB_ACTIONS", "true", "GITHUB_OUTPUT", out, "GITHUB_STEP_SUMMARY", summary}, wantSummary: true},
		{name: "GitHub Actions without a summary file", env: []string{"GITHUB_ACTIONS", "true", "GITHUB_OUTPUT", out}},
		{name: "GitHub Actions without an output file", env: []string{"GITHUB_ACTIONS", "true"}, none: true},
		{name: "output file outside Actions", env: []string{"GITHUB_OUTPUT", out}, none: true},
		{name: "GitLab", env: []string{"GITLAB_CI", "true"}, none: true},
		{name: "local", none: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, f := range []string{out, summary} {
				if err := os.Truncate(f, 0); err != nil {
					t.Fatal(err)
				}
			}
			o := Detect(vars(tc.env...), Options{}).Outputs()
			if tc.none {
				if o != nil {
					t.Fatalf("Outputs() = %v, want nil", o)
				}
				return
			}
			o.SetOutput("verdict", "pass")
			o.AddStepSummary("# report")
			if got, _ := os.ReadFile(out); !strings.Contains(string(got), "verdict") || !strings.Contains(string(got), "pass") {
				t.Errorf("output file = %q", got)
			}
			if got, _ := os.ReadFile(summary); strings.Contains(string(got), "# report") != tc.wantSummary {
				t.Errorf("summary file = %q, want the report: %v", got, tc.wantSummary)
			}
		})
	}
}

func TestMaskAndInputs(t *testing.T) {
	tests := []struct {
		name      string
		env       []string
		wantMask  bool
		wantInput string
	}{
		{name: "GitHub Actions", env: []string{"GITHUB_ACTIONS", "true", "INPUT_COMMENT-MODE", "off"}, wantMask: true, wantInput: "off"},
		// The runner keeps the dash; an underscore is another input's name.
		{name: "underscore is not the runner's name", env: []string{"GITHUB_ACTIONS", "true", "INPUT_COMMENT_MODE", "off"}, wantMask: true},
		{name: "value trimmed as go-githubactions does", env: []string{"GITHUB_ACTIONS", "true", "INPUT_COMMENT-MODE", " off\n"}, wantMask: true, wantInput: "off"},
		{name: "inputs outside Actions", env: []string{"INPUT_COMMENT-MODE", "off"}},
		{name: "GitLab", env: []string{"GITLAB_CI", "true", "INPUT_COMMENT-MODE", "off"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout bytes.Buffer
			p := Detect(vars(tc.env...), Options{Stdout: &stdout})
			p.Mask("s3cret")
			p.Mask("")
			want := ""
			if tc.wantMask {
				want = "::add-mask::s3cret\n"
			}
			if stdout.String() != want {
				t.Errorf("stdout = %q, want %q", stdout.String(), want)
			}
			if got := p.Input("comment-mode"); got != tc.wantInput {
				t.Errorf("Input(comment-mode) = %q, want %q", got, tc.wantInput)
			}
		})
	}
}

func TestNamed(t *testing.T) {
	if got, want := Names(), []string{"github", "gitlab", "local"}; !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	for _, name := range Names() {
		p, ok := Named(name, vars("GITHUB_ACTIONS", "true"), Options{})
		if !ok || p.Name() != name {
			t.Errorf("Named(%q) = %v, %v", name, p, ok)
		}
	}
	if _, ok := Named("bitbucket", vars(), Options{}); ok {
		t.Error("Named(bitbucket) found a system")
	}
	// A forge chosen by name outside its CI posts there, but masks nothing
	// and has no outputs: those belong to the CI the job runs in.
	var stdout bytes.Buffer
	p, _ := Named("github", vars("GITHUB_TOKEN", "t", "GITHUB_REPOSITORY", "o/r"), Options{Stdout: &stdout})
	if p.Outputs() != nil || p.WorkflowCommands() || p.CommentLimit() != 65536 {
		t.Errorf("github outside Actions: outputs %v, workflow commands %v, limit %d", p.Outputs(), p.WorkflowCommands(), p.CommentLimit())
	}
	p.Mask("t")
	if stdout.Len() != 0 {
		t.Errorf("masked outside Actions: %q", stdout.String())
	}
}

func TestForge(t *testing.T) {
	root := t.TempDir()
	f, err := Detect(vars(), Options{}).Forge(root)
	if err != nil {
		t.Fatal(err)
	}
	if lf, ok := f.(*local.Forge); !ok || lf.Dir != root || f.Name() != "local" {
		t.Errorf("local forge = %#v", f)
	}
	for _, tc := range []struct {
		name, want string
		env        []string
	}{
		{name: "github without a token", want: "token", env: []string{"GITHUB_ACTIONS", "true", "GITHUB_REPOSITORY", "o/r"}},
		{name: "github without a repository", want: "GITHUB_REPOSITORY", env: []string{"GITHUB_ACTIONS", "true", "GITHUB_TOKEN", "t"}},
		{name: "gitlab without a token", want: "token", env: []string{"GITLAB_CI", "true", "CI_PROJECT_ID", "1"}},
		{name: "gitlab without a project", want: "CI_PROJECT_ID", env: []string{"GITLAB_CI", "true", "GITLAB_TOKEN", "t"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Detect(vars(tc.env...), Options{}).Forge(root)
			var ce *ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Forge() error = %v; want a *ConfigError containing %q", err, tc.want)
			}
		})
	}
	// The token is masked before anything could print it.
	var stdout bytes.Buffer
	p := Detect(vars("GITHUB_ACTIONS", "true", "GITHUB_TOKEN", "ghs_x", "GITHUB_REPOSITORY", "o/r", "GITHUB_SHA", "abc", "GITHUB_EVENT_NAME", "schedule"), Options{Stdout: &stdout})
	f, err = p.Forge(root)
	if err != nil {
		t.Fatal(err)
	}
	if f.Name() != "github" || stdout.String() != "::add-mask::ghs_x\n" {
		t.Errorf("forge %s; stdout %q", f.Name(), stdout.String())
	}
}
