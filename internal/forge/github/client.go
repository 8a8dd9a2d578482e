package github

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	gh "github.com/google/go-github/v62/github"

	"github.com/mlci/mlci/internal/forge/apierr"
	"github.com/mlci/mlci/internal/forge/redact"
	"github.com/mlci/mlci/internal/forge/retry"
)

// DefaultAPIURL is github.com's REST API.
const DefaultAPIURL = "https://api.github.com"

// ClientOptions say where and as whom to call GitHub's REST API. Posting
// (New) and runner registration (runner/register) both build their client
// from them, so retries, timeouts and token scrubbing are the same for both.
type ClientOptions struct {
	Token string
	// APIURL "" means DefaultAPIURL; a GHES URL may end in /api/v3 or not.
	APIURL string
	// HTTPClient's Transport sends one attempt (nil means
	// http.DefaultTransport); it is wrapped in a retry.Transport, the one
	// retry layer. Its other fields are kept.
	HTTPClient *http.Client
	// Retry is the retry policy; AttemptTimeout 0 means 30s.
	Retry retry.Policy
	// Logger gets one line per retry; nil logs nothing. The token is never
	// logged.
	Logger *slog.Logger
	// UserAgent "" means "mlci".
	UserAgent string
}

// errNoClientToken is NewClient's safety net; callers say where a token
// comes from before they get here.
var errNoClientToken = errors.New("github: no token")

// NewClient builds the go-github client every GitHub call of mlci goes
// through: the token as a bearer, retries with backoff, a timeout per
// attempt and mlci's user agent. Errors that Classify builds from its
// calls never hold the token.
func NewClient(o ClientOptions) (*gh.Client, error) {
	if strings.TrimSpace(o.Token) == "" {
		return nil, errNoClientToken
	}
	apiURL := o.APIURL
	if apiURL == "" {
		apiURL = DefaultAPIURL
	}
	u, err := url.Parse(apiURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("github: API URL %q is not an http(s) URL: set GITHUB_API_URL to https://api.github.com/, or https://HOST/api/v3/ for GitHub Enterprise Server",
			redact.URL(redact.Secrets(apiURL, o.Token)))
	}
	hc := apierr.NewHTTPClient(apierr.HTTPOptions{Token: o.Token, Bearer: true,
		HTTPClient: o.HTTPClient, Retry: o.Retry, Logger: o.Logger})
	c := gh.NewClient(hc)
	c.UserAgent = o.UserAgent
	if c.UserAgent == "" {
		c.UserAgent = "mlci"
	}
	if u.Host != "api.github.com" {
		// GHES serves the API under /api/v3/; go-github adds it unless the
		// URL already ends in it (or the host is an api. one, like ghe.com).
		upload := strings.TrimSuffix(strings.TrimSuffix(apiURL, "/"), "/api/v3")
		if c, err = c.WithEnterpriseURLs(apiURL, upload); err != nil {
			return nil, fmt.Errorf("github: API URL %q: %w", redact.URL(redact.Secrets(apiURL, o.Token)), redact.Error(err, o.Token))
		}
	}
	return c, nil
}

// infoOf is what Classify may use of c.
func infoOf(c *gh.Client) apierr.ClientInfo {
	if c == nil {
		return apierr.ClientInfo{}
	}
	return apierr.Info(c.Client(), c.BaseURL)
}
