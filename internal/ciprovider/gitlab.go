package ciprovider

import (
	"cmp"
	"strings"

	"github.com/mlci/mlci/internal/forge"
	"github.com/mlci/mlci/internal/forge/gitlab"
	"github.com/mlci/mlci/internal/runrecord"
)

// gitLab is GitLab CI/CD. Its variables:
// https://docs.gitlab.com/ci/variables/predefined_variables/
type gitLab struct{ e env }

func newGitLab(e env) gitLab { return gitLab{e: e} }

func (g gitLab) Name() string  { return "gitlab" }
func (g gitLab) running() bool { return g.e.getenv("GITLAB_CI") == "true" }

// Event reads CI_PIPELINE_SOURCE. Pipelines started by another pipeline
// (pipeline, parent_pipeline) inherit no event mlci can tell, so they are
// unknown.
func (g gitLab) Event() Event {
	get := g.e.getenv
	switch get("CI_PIPELINE_SOURCE") {
	case "merge_request_event", "external_pull_request_event":
		return EventPullRequest
	case "push":
		// A tag's push has no CI_COMMIT_BRANCH, so it is never a merge.
		return pushEvent(get("CI_COMMIT_BRANCH"), get("CI_DEFAULT_BRANCH"))
	case "schedule":
		return EventSchedule
	case "web", "api", "trigger":
		return EventManual
	}
	return EventUnknown
}

func (g gitLab) RunURL() string { return g.e.getenv("CI_PIPELINE_URL") }

func (g gitLab) RepositoryURL() string {
	if u := g.e.getenv("CI_PROJECT_URL"); u != "" {
		return runrecord.RemoteURL(u)
	}
	return ""
}

func (g gitLab) Actor() string { return g.e.getenv("GITLAB_USER_LOGIN") }

// TargetBranch is a merge request pipeline's target, else the project's
// default branch, which GitLab names in every pipeline.
func (g gitLab) TargetBranch() string {
	return cmp.Or(g.e.getenv("CI_MERGE_REQUEST_TARGET_BRANCH_NAME"), g.e.getenv("CI_DEFAULT_BRANCH"))
}
func (g gitLab) BuilderID() string { return "https://gitlab.com/gitlab-org/gitlab-runner" }

// CommentLimit is GitLab's limit on a note's body.
func (g gitLab) CommentLimit() int { return 1000000 }

func (g gitLab) Outputs() Outputs       { return nil }
func (g gitLab) Mask(string)            {} // GitLab masks variables by their settings, not from the log
func (g gitLab) WorkflowCommands() bool { return false }
func (g gitLab) Input(string) string    { return "" }

func (g gitLab) Forge(string) (forge.Forge, error) {
	cfg, err := gitlab.FromEnv(g.e.getenv)
	if err != nil {
		return nil, &ConfigError{Err: err}
	}
	f, err := gitlab.New(cfg)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// RegistryCredential uses the job's token for its own instance's registry.
// CI_REGISTRY names that registry, so the token is used only against it and
// never sent to another host.
func (g gitLab) RegistryCredential(host string) (string, string, error) {
	get := g.e.getenv
	if reg := get("CI_REGISTRY"); reg == "" || !strings.EqualFold(reg, host) {
		return "", "", nil
	}
	if user, pass := get("CI_REGISTRY_USER"), get("CI_REGISTRY_PASSWORD"); user != "" && pass != "" {
		return user, pass, nil
	}
	return "", "", nil
}
