package register

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"
	gitlab "gitlab.com/gitlab-org/api/client-go"

	"github.com/mlci/mlci/internal/forge/retry"
)

// DefaultGitHubAPIURL is github.com's REST API.
const DefaultGitHubAPIURL = "https://api.github.com/"

// DefaultGitLabURL is gitlab.com; client-go adds /api/v4/.
const DefaultGitLabURL = "https://gitlab.com/"

// attemptTimeout bounds one HTTP attempt, so a hung connection is retried
// instead of holding a runner slot forever.
const attemptTimeout = 30 * time.Second

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

// NewGitHubClient builds a go-github client for github.com (apiURL "") or
// a GitHub Enterprise Server API URL, retrying what GitHub did not process.
func NewGitHubClient(token, apiURL string) (*github.Client, error) {
	return NewGitHubClientWith(token, apiURL, ClientOptions{})
}

// NewGitHubClientWith is NewGitHubClient with HTTP options; tests use it to
// retry without sleeping.
func NewGitHubClientWith(token, apiURL string, o ClientOptions) (*github.Client, error) {
	if strings.TrimSpace(token) == "" {
		return nil, usage("github: no token: set GITHUB_TOKEN or pass --token (a PAT or App token that may administer runners)")
	}
	if apiURL == "" {
		apiURL = DefaultGitHubAPIURL
	}
	u, err := url.Parse(apiURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usage(fmt.Sprintf("github: API URL %q is not an http(s) URL: use https://api.github.com/ or https://HOST/api/v3/ for GitHub Enterprise Server", scrub(apiURL, token)))
	}
	hc := &http.Client{Transport: &authTransport{token: token, scheme: "Bearer", base: retryTransport(o)}}
	c := github.NewClient(hc)
	c.UserAgent = userAgent(o)
	if u.Host != "api.github.com" {
		// GHES serves the API under /api/v3/; go-github adds it unless the
		// URL already ends in it or the host is an api. one (ghe.com).
		upload := strings.TrimSuffix(strings.TrimSuffix(apiURL, "/"), "/api/v3")
		if c, err = c.WithEnterpriseURLs(apiURL, upload); err != nil {
			return nil, usage(fmt.Sprintf("github: API URL %q: %v", scrub(apiURL, token), err))
		}
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

// NewGitLabClientWith is NewGitLabClient with HTTP options.
func NewGitLabClientWith(token, baseURL string, o ClientOptions) (*gitlab.Client, error) {
	if strings.TrimSpace(token) == "" {
		return nil, usage("gitlab: no token: set GITLAB_TOKEN or pass --token (an access token with the create_runner or api scope)")
	}
	if baseURL == "" {
		baseURL = DefaultGitLabURL
	}
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usage(fmt.Sprintf("gitlab: URL %q is not an http(s) URL: use https://gitlab.example.com", scrub(baseURL, token)))
	}
	// client-go sets PRIVATE-TOKEN itself; authTransport only carries the
	// token so errors can scrub it.
	hc := &http.Client{Transport: &authTransport{token: token, base: retryTransport(o)}}
	// client-go wraps the client in go-retryablehttp, which would retry 5xx
	// on its own; both options switch that off so retry.Transport is the one
	// layer counting attempts (as internal/forge/gitlab does).
	c, err := gitlab.NewClient(token,
		gitlab.WithBaseURL(baseURL),
		gitlab.WithHTTPClient(hc),
		gitlab.WithoutRetries(),
		gitlab.WithCustomRetryMax(0),
		gitlab.WithUserAgent(userAgent(o)),
	)
	if err != nil {
		return nil, usage(fmt.Sprintf("gitlab: build client for %q: %s", baseURL, scrub(err.Error(), token)))
	}
	return c, nil
}

func retryTransport(o ClientOptions) *retry.Transport {
	p := o.Retry
	if p.AttemptTimeout == 0 {
		p.AttemptTimeout = attemptTimeout
	}
	if p.Logger == nil {
		p.Logger = o.Logger
	}
	return &retry.Transport{Base: o.Base, Policy: p}
}

func userAgent(o ClientOptions) string {
	if o.UserAgent != "" {
		return o.UserAgent
	}
	return "mlci-runner"
}

// authTransport sets the Authorization header when scheme is set. It is ours
// rather than go-github's WithAuthToken so that error mapping can find the
// token (to scrub it) and the retry policy (to say how often it tried).
type authTransport struct {
	token  string
	scheme string // "" leaves the request's headers alone
	base   *retry.Transport
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.scheme != "" {
		req = req.Clone(req.Context())
		req.Header.Set("Authorization", t.scheme+" "+t.token)
	}
	return t.base.RoundTrip(req)
}

// clientInfo is what error mapping can learn from a client built here; for
// other clients it is the zero value.
type clientInfo struct {
	token    string
	attempts int // 0 when unknown
}

func infoOf(hc *http.Client) clientInfo {
	if hc == nil {
		return clientInfo{}
	}
	t, ok := hc.Transport.(*authTransport)
	if !ok {
		return clientInfo{}
	}
	n := t.base.Policy.MaxAttempts
	if n <= 0 {
		n = 5 // retry.Policy's default
	}
	return clientInfo{token: t.token, attempts: n}
}
