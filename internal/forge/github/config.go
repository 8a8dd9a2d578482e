package github

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/mlci/mlci/internal/forge/retry"
)

// Config says where and as whom to post. FromEnv fills it inside Actions.
type Config struct {
	Token      string
	APIURL     string // "" means DefaultAPIURL; a GHES URL may end in /api/v3 or not
	Repository string // owner/name
	EventName  string
	EventPath  string // the event JSON, read by New
	SHA        string
	RunURL     string // the status's and check's link back to the run
	ServerURL  string
	// HTTPClient, when set, is used as is and must bring its own retries
	// (New tries each call once through it); nil means a client with a
	// retry.Transport using Retry and a 30s timeout per attempt.
	HTTPClient *http.Client
	Retry      retry.Policy
	// Logger gets what was posted and each retry; nil means slog.Default().
	// The token is never logged.
	Logger *slog.Logger
}

// errNoToken names every place a token can come from.
var errNoToken = errors.New("github: no token: set GITHUB_TOKEN: in the workflow, `env: GITHUB_TOKEN: ${{ github.token }}`, or the action's token input")

// FromEnv reads the GitHub Actions environment. The token comes from
// MLCI_GITHUB_TOKEN, INPUT_TOKEN or GITHUB_TOKEN, first set wins: the
// specific names win so a user can pass a PAT without unsetting the
// workflow-wide GITHUB_TOKEN.
func FromEnv(getenv func(string) string) (Config, error) {
	env := func(k string) string { return strings.TrimSpace(getenv(k)) }
	cfg := Config{
		APIURL:     env("GITHUB_API_URL"),
		Repository: env("GITHUB_REPOSITORY"),
		EventName:  env("GITHUB_EVENT_NAME"),
		EventPath:  env("GITHUB_EVENT_PATH"),
		SHA:        env("GITHUB_SHA"),
		ServerURL:  env("GITHUB_SERVER_URL"),
	}
	for _, k := range []string{"MLCI_GITHUB_TOKEN", "INPUT_TOKEN", "GITHUB_TOKEN"} {
		if cfg.Token = env(k); cfg.Token != "" {
			break
		}
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	if cfg.ServerURL == "" {
		cfg.ServerURL = "https://github.com"
	}
	if id := env("GITHUB_RUN_ID"); id != "" && cfg.Repository != "" {
		cfg.RunURL = strings.TrimSuffix(cfg.ServerURL, "/") + "/" + cfg.Repository + "/actions/runs/" + id
	}
	if cfg.Token == "" {
		return cfg, errNoToken
	}
	if cfg.Repository == "" {
		return cfg, errors.New("github: GITHUB_REPOSITORY is not set: run inside GitHub Actions or set it to owner/name")
	}
	return cfg, nil
}

// target is where a report goes: the pull requests to comment on and the
// commit for the status and check run.
type target struct {
	prs []int
	sha string
	// lookup means prs come from the commit (push and the like), at Post.
	lookup bool
}

// event holds the few fields mlci reads from GITHUB_EVENT_PATH.
type event struct {
	PullRequest *struct {
		Number int `json:"number"`
		Head   struct {
			SHA string `json:"sha"`
		} `json:"head"`
	} `json:"pull_request"`
	WorkflowRun *struct {
		HeadSHA      string `json:"head_sha"`
		PullRequests []struct {
			Number int `json:"number"`
		} `json:"pull_requests"`
	} `json:"workflow_run"`
}

// resolveTarget reads the event. On a pull request the status goes on the
// PR's head commit, not GITHUB_SHA, which is the test merge commit that no
// one sees. workflow_run (the fork recipe) points at the triggering run's
// head commit and pull requests.
func resolveTarget(cfg Config) (target, error) {
	switch cfg.EventName {
	case "pull_request", "pull_request_target":
		ev, err := readEvent(cfg)
		if err != nil {
			return target{}, err
		}
		if ev.PullRequest == nil || ev.PullRequest.Number <= 0 {
			return target{}, fmt.Errorf("github: the %s event at %s has no pull_request.number", cfg.EventName, cfg.EventPath)
		}
		sha := ev.PullRequest.Head.SHA
		if sha == "" {
			sha = cfg.SHA
		}
		return target{prs: []int{ev.PullRequest.Number}, sha: sha}, nil
	case "workflow_run":
		ev, err := readEvent(cfg)
		if err != nil {
			return target{}, err
		}
		if ev.WorkflowRun == nil || ev.WorkflowRun.HeadSHA == "" {
			return target{}, fmt.Errorf("github: the workflow_run event at %s has no workflow_run.head_sha", cfg.EventPath)
		}
		t := target{sha: ev.WorkflowRun.HeadSHA}
		for _, pr := range ev.WorkflowRun.PullRequests {
			t.prs = append(t.prs, pr.Number)
		}
		// GitHub leaves pull_requests empty for fork PRs; ask by commit then.
		t.lookup = len(t.prs) == 0
		return t, nil
	}
	if cfg.SHA == "" {
		return target{}, errors.New("github: GITHUB_SHA is not set: run inside GitHub Actions or set it to the commit to report on")
	}
	return target{sha: cfg.SHA, lookup: true}, nil
}

func readEvent(cfg Config) (event, error) {
	var ev event
	if cfg.EventPath == "" {
		return ev, fmt.Errorf("github: GITHUB_EVENT_PATH is not set; mlci needs the %s event JSON to find the pull request", cfg.EventName)
	}
	b, err := os.ReadFile(cfg.EventPath)
	if err != nil {
		return ev, fmt.Errorf("github: read the %s event: %w", cfg.EventName, err)
	}
	if err := json.Unmarshal(b, &ev); err != nil {
		return ev, fmt.Errorf("github: parse the %s event at %s: %w", cfg.EventName, cfg.EventPath, err)
	}
	return ev, nil
}
