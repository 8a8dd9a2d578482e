package register

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/google/go-github/v62/github"
	gitlab "gitlab.com/gitlab-org/api/client-go"

	ghforge "github.com/mlci/mlci/internal/forge/github"
	glforge "github.com/mlci/mlci/internal/forge/gitlab"
	"github.com/mlci/mlci/internal/forge/retry"
)

// DefaultGitHubAPIURL is github.com's REST API.
const DefaultGitHubAPIURL = "https://api.github.com/"

// DefaultGitLabURL is gitlab.com; client-go adds /api/v4/.
const DefaultGitLabURL = glforge.DefaultURL

// ClientOptions tunes the HTTP side of the clients. The zero value is what
// NewGitHubClient and NewGitLabClient use.
type ClientOptions struct {
	// Base sends one attempt; nil means http.DefaultTransport.
	Base http.RoundTripper
	// Retry is the retry policy; AttemptTimeout 0 means 30s.
	Retry retry.Policy
	// Logger gets one line per retry; nil logs nothing.
	Logger *slog.Logger
	// UserAgent defaults to "mlci-runner".
	UserAgent string
}

func (o ClientOptions) userAgent() string {
	if o.UserAgent != "" {
		return o.UserAgent
	}
	return "mlci-runner"
}

// NewGitHubClient builds a go-github client for github.com (apiURL "") or
// a GitHub Enterprise Server API URL, retrying what GitHub did not process.
func NewGitHubClient(token, apiURL string) (*github.Client, error) {
	return NewGitHubClientWith(token, apiURL, ClientOptions{})
}

// NewGitHubClientWith is NewGitHubClient with HTTP options; tests use it to
// retry without sleeping. The client is forge/github's, the one that posts
// reports, so its errors are classified and scrubbed the same way.
func NewGitHubClientWith(token, apiURL string, o ClientOptions) (*github.Client, error) {
	if strings.TrimSpace(token) == "" {
		return nil, usage("github: no token: set GITHUB_TOKEN or pass --token (a PAT or App token that may administer runners)")
	}
	c, err := ghforge.NewClient(ghforge.ClientOptions{Token: token, APIURL: apiURL,
		HTTPClient: &http.Client{Transport: o.Base}, Retry: o.Retry, Logger: o.Logger, UserAgent: o.userAgent()})
	if err != nil {
		return nil, &classed{class: ErrUsage, err: err}
	}
	return c, nil
}

// NewGitLabClient builds a client-go client for baseURL ("" is gitlab.com;
// https://HOST or https://HOST/api/v4 both work), retrying what GitLab did
// not process. token is a personal, group or project access token with the
// create_runner (or api) scope.
func NewGitLabClient(token, baseURL string) (*gitlab.Client, error) {
	return NewGitLabClientWith(token, baseURL, ClientOptions{})
}

// NewGitLabClientWith is NewGitLabClient with HTTP options. The client is
// forge/gitlab's, the one that posts reports.
func NewGitLabClientWith(token, baseURL string, o ClientOptions) (*gitlab.Client, error) {
	if strings.TrimSpace(token) == "" {
		return nil, usage("gitlab: no token: set GITLAB_TOKEN or pass --token (an access token with the create_runner or api scope)")
	}
	c, err := glforge.NewClient(glforge.ClientOptions{Token: token, APIURL: baseURL,
		HTTPClient: &http.Client{Transport: o.Base}, Retry: o.Retry, Logger: o.Logger, UserAgent: o.userAgent()})
	if err != nil {
		return nil, &classed{class: ErrUsage, err: err}
	}
	return c, nil
}
