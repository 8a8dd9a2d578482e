package ciprovider

import (
	"cmp"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/sethvargo/go-githubactions"

	"github.com/mlci/mlci/internal/forge"
	"github.com/mlci/mlci/internal/forge/github"
)

// gitHub is GitHub Actions. Its variables:
// https://docs.github.com/en/actions/reference/variables-reference
type gitHub struct {
	e     env
	event func() Event
}

func newGitHub(e env) *gitHub {
	g := &gitHub{e: e}
	// The event file of a large push is megabytes; read it once, and only
	// when asked.
	g.event = sync.OnceValue(g.readEvent)
	return g
}

func (g *gitHub) Name() string  { return "github" }
func (g *gitHub) running() bool { return g.e.getenv("GITHUB_ACTIONS") == "true" }
func (g *gitHub) Event() Event  { return g.event() }

func (g *gitHub) readEvent() Event {
	get := g.e.getenv
	switch get("GITHUB_EVENT_NAME") {
	case "pull_request", "pull_request_target":
		return EventPullRequest
	case "push":
		// Only the event payload names the default branch.
		var ev struct {
			Repository struct {
				DefaultBranch string `json:"default_branch"`
			} `json:"repository"`
		}
		data, err := g.e.readFile(get("GITHUB_EVENT_PATH"))
		if err != nil || json.Unmarshal(data, &ev) != nil || ev.Repository.DefaultBranch == "" {
			return EventPush
		}
		return pushEvent(get("GITHUB_REF"), "refs/heads/"+ev.Repository.DefaultBranch)
	case "schedule":
		return EventSchedule
	case "workflow_dispatch", "repository_dispatch":
		return EventManual
	}
	return EventUnknown
}

func (g *gitHub) RunURL() string {
	get := g.e.getenv
	server, repo, run := get("GITHUB_SERVER_URL"), get("GITHUB_REPOSITORY"), get("GITHUB_RUN_ID")
	if server != "" && repo != "" && run != "" {
		return fmt.Sprintf("%s/%s/actions/runs/%s", server, repo, run)
	}
	return ""
}

func (g *gitHub) RepositoryURL() string {
	r := g.e.getenv("GITHUB_REPOSITORY")
	if r == "" {
		return ""
	}
	return cmp.Or(strings.TrimSuffix(g.e.getenv("GITHUB_SERVER_URL"), "/"), "https://github.com") + "/" + r
}

func (g *gitHub) Actor() string { return g.e.getenv("GITHUB_ACTOR") }

// TargetBranch is set on pull_request and pull_request_target events only.
func (g *gitHub) TargetBranch() string { return g.e.getenv("GITHUB_BASE_REF") }
func (g *gitHub) BuilderID() string    { return "https://github.com/actions/runner" }

// CommentLimit is GitHub's limit on an issue comment's body.
func (g *gitHub) CommentLimit() int { return 65536 }

func (g *gitHub) Outputs() Outputs {
	// githubactions panics without its command files.
	if !g.running() || g.e.getenv("GITHUB_OUTPUT") == "" {
		return nil
	}
	a := githubactions.New(githubactions.WithGetenv(g.e.getenv), githubactions.WithWriter(g.e.stdout))
	return &actionsOutputs{a: a, summary: g.e.getenv("GITHUB_STEP_SUMMARY") != ""}
}

// actionsOutputs writes the step summary only where the runner gave its
// file.
type actionsOutputs struct {
	a       *githubactions.Action
	summary bool
}

func (o *actionsOutputs) SetOutput(name, value string) { o.a.SetOutput(name, value) }

func (o *actionsOutputs) AddStepSummary(markdown string) {
	if o.summary {
		o.a.AddStepSummary(markdown)
	}
}

func (g *gitHub) Mask(secret string) {
	if secret != "" && g.running() {
		fmt.Fprintf(g.e.stdout, "::add-mask::%s\n", secret)
	}
}

func (g *gitHub) WorkflowCommands() bool { return g.running() }

// Input reads an action input under the name the runner gives it:
// INPUT_ and the upper-cased name, spaces made underscores and dashes kept
// (INPUT_WORKING-DIRECTORY). No POSIX shell can read such a name, which is
// why mlci reads them itself, with go-githubactions' own rule.
func (g *gitHub) Input(name string) string {
	if !g.running() {
		return ""
	}
	return githubactions.New(githubactions.WithGetenv(g.e.getenv)).GetInput(name)
}

func (g *gitHub) Forge(string) (forge.Forge, error) {
	cfg, err := github.FromEnv(g.e.getenv)
	if err != nil {
		return nil, &ConfigError{Err: err}
	}
	g.Mask(cfg.Token)
	f, err := github.New(cfg)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// RegistryCredential uses the job's token for GitHub's registry. GHCR
// checks the token, not the name; the actor is the honest choice and any
// non-empty name works outside Actions.
func (g *gitHub) RegistryCredential(host string) (string, string, error) {
	if host != "ghcr.io" {
		return "", "", nil
	}
	if tok := g.e.getenv("GITHUB_TOKEN"); tok != "" {
		return cmp.Or(g.e.getenv("GITHUB_ACTOR"), "mlci"), tok, nil
	}
	return "", "", nil
}
