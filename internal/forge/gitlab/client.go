package gitlab

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/mlci/mlci/internal/forge/redact"
	"github.com/mlci/mlci/internal/forge/retry"
)

// DefaultURL is gitlab.com; client-go adds /api/v4/.
const DefaultURL = "https://gitlab.com/"

// attemptTimeout bounds one HTTP attempt. It is per attempt rather than an
// http.Client.Timeout, which would also cut the Retry-After waits between
// attempts that retry.Transport honours.
const attemptTimeout = 30 * time.Second

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
	var hc http.Client
	if o.HTTPClient != nil {
		hc = *o.HTTPClient
	}
	p := o.Retry
	if p.AttemptTimeout == 0 {
		p.AttemptTimeout = attemptTimeout
	}
	if p.Logger == nil {
		p.Logger = o.Logger
	}
	attempts := p.MaxAttempts
	if attempts <= 0 {
		attempts = 5 // retry.Policy's default
	}
	// client-go sets PRIVATE-TOKEN or JOB-TOKEN itself; tokenTransport only
	// carries the token so that Classify can scrub it.
	hc.Transport = &tokenTransport{token: o.Token, attempts: attempts,
		base: &retry.Transport{Base: hc.Transport, Policy: p}}

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
		gl.WithHTTPClient(&hc),
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

// tokenTransport passes requests on unchanged. It is there so that
// Classify, given only the client, can find the token (to scrub it) and how
// often a call was tried.
type tokenTransport struct {
	token    string
	attempts int
	base     http.RoundTripper
}

func (t *tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.base.RoundTrip(req)
}

// clientInfo is what error text may use of a client: the token to scrub,
// the attempts made (0 when unknown) and the API URL without credentials.
type clientInfo struct {
	token    string
	attempts int
	apiURL   string
}

func infoOf(c *gl.Client) clientInfo {
	var info clientInfo
	if c == nil {
		return info
	}
	if u := c.BaseURL(); u != nil {
		info.apiURL = redact.URLs(u.String())
	}
	if hc := c.HTTPClient(); hc != nil {
		if t, ok := hc.Transport.(*tokenTransport); ok {
			info.token, info.attempts = t.token, t.attempts
		}
	}
	return info
}
