package gitlab

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/mlci/mlci/internal/forge/apierr"
	"github.com/mlci/mlci/internal/forge/redact"
	"github.com/mlci/mlci/internal/forge/retry"
)

// DefaultURL is gitlab.com; client-go adds /api/v4/.
const DefaultURL = "https://gitlab.com/"

// ClientOptions say where and as whom to call GitLab's REST API. Posting
// (New) and runner registration (runner/register) both build their client
// from them, so retries, timeouts and token scrubbing are the same for both.
type ClientOptions struct {
	// Token is an access token, or CI_JOB_TOKEN when JobToken is set (sent
	// as JOB-TOKEN rather than PRIVATE-TOKEN).
	Token    string
	JobToken bool
	// APIURL "" means DefaultURL; https://HOST and https://HOST/api/v4
	// both work.
	APIURL string
	// HTTPClient's Transport sends one attempt (nil means
	// http.DefaultTransport); it is wrapped in a retry.Transport, the one
	// retry layer. Its other fields (a Timeout) are kept.
	HTTPClient *http.Client
	// Retry is the retry policy; AttemptTimeout 0 means 30s.
	Retry retry.Policy
	// Logger gets one line per retry and client-go's URL warnings; nil logs
	// nothing. The token is never logged.
	Logger *slog.Logger
	// UserAgent "" means "mlci".
	UserAgent string
}

// errNoClientToken is NewClient's safety net; callers say where a token
// comes from before they get here.
var errNoClientToken = errors.New("gitlab: no token")

// NewClient builds the client-go client every GitLab call of mlci goes
// through: retries with backoff, a timeout per attempt and mlci's user
// agent. Errors that Classify builds from its calls never hold the token.
func NewClient(o ClientOptions) (*gl.Client, error) {
	if strings.TrimSpace(o.Token) == "" {
		return nil, errNoClientToken
	}
	apiURL := o.APIURL
	if apiURL == "" {
		apiURL = DefaultURL
	}
	u, err := url.Parse(apiURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("gitlab: URL %q is not an http(s) URL: set CI_API_V4_URL (or the instance URL) like https://gitlab.com/api/v4 or https://gitlab.example.com",
			redact.URL(redact.Secrets(apiURL, o.Token)))
	}
	// client-go sets PRIVATE-TOKEN or JOB-TOKEN itself; the transport only
	// carries the token so that Classify can scrub it.
	hc := apierr.NewHTTPClient(apierr.HTTPOptions{Token: o.Token,
		HTTPClient: o.HTTPClient, Retry: o.Retry, Logger: o.Logger})

	ua := o.UserAgent
	if ua == "" {
		ua = "mlci"
	}
	// client-go wraps the client in go-retryablehttp, which retries 429 and
	// 5xx on its own. Both options switch that off (WithoutRetries stops its
	// CheckRetry, RetryMax 0 stops its loop), so retry.Transport is the one
	// layer that counts attempts and honours Retry-After and RateLimit-Reset;
	// two layers would multiply attempts and waits.
	opts := []gl.ClientOptionFunc{
		gl.WithBaseURL(apiURL),
		gl.WithHTTPClient(hc),
		gl.WithoutRetries(),
		gl.WithCustomRetryMax(0),
		gl.WithUserAgent(ua),
	}
	if o.Logger != nil {
		opts = append(opts, gl.WithURLWarningLogger(o.Logger))
	}
	var c *gl.Client
	if o.JobToken {
		c, err = gl.NewJobClient(o.Token, opts...)
	} else {
		c, err = gl.NewClient(o.Token, opts...)
	}
	if err != nil {
		return nil, fmt.Errorf("gitlab: build client for %q: %w", redact.URL(redact.Secrets(apiURL, o.Token)), redact.Error(err, o.Token))
	}
	return c, nil
}

// infoOf is what Classify may use of c.
func infoOf(c *gl.Client) apierr.ClientInfo {
	if c == nil {
		return apierr.ClientInfo{}
	}
	return apierr.Info(c.HTTPClient(), c.BaseURL())
}
