package apierr

import (
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/mlci/mlci/internal/forge/redact"
	"github.com/mlci/mlci/internal/forge/retry"
)

// attemptTimeout bounds one HTTP attempt, so a hung connection is retried
// instead of holding the job. It is per attempt rather than an
// http.Client.Timeout, which would also cut the Retry-After waits between
// attempts that retry.Transport honours.
const attemptTimeout = 30 * time.Second

// HTTPOptions are the parts of a forge's client options that shape its
// HTTP client.
type HTTPOptions struct {
	Token string
	// Bearer sends Token as "Authorization: Bearer"; off where the client
	// library sets its own header (client-go's PRIVATE-TOKEN, JOB-TOKEN).
	Bearer bool
	// HTTPClient's Transport sends one attempt (nil means
	// http.DefaultTransport); it is wrapped in a retry.Transport, the one
	// retry layer. Its other fields are kept.
	HTTPClient *http.Client
	// Retry is the retry policy; AttemptTimeout 0 means 30s.
	Retry retry.Policy
	// Logger gets one line per retry unless Retry has its own; nil logs
	// nothing.
	Logger *slog.Logger
}

// NewHTTPClient is a copy of o.HTTPClient whose transport retries and
// carries the token, so that Info can later find both from the client.
func NewHTTPClient(o HTTPOptions) *http.Client {
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
	hc.Transport = &transport{token: o.Token, bearer: o.Bearer, attempts: attempts,
		base: &retry.Transport{Base: hc.Transport, Policy: p}}
	return &hc
}

// transport is ours rather than a client library's token option so that
// error text, given only the client, can find the token (to scrub it) and
// how often a call was tried.
type transport struct {
	token    string
	bearer   bool
	attempts int
	base     http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.bearer {
		req = req.Clone(req.Context())
		req.Header.Set("Authorization", "Bearer "+t.token)
	}
	return t.base.RoundTrip(req)
}

// ClientInfo is what error text may use of a client: the token to scrub,
// the attempts made (0 when unknown) and the API URL without credentials.
type ClientInfo struct {
	Token    string
	Attempts int
	APIURL   string
}

// Info reads ClientInfo from a client built on NewHTTPClient's hc, whose
// API is at base; either may be nil.
func Info(hc *http.Client, base *url.URL) ClientInfo {
	var info ClientInfo
	if base != nil {
		info.APIURL = redact.URLs(base.String())
	}
	if hc != nil {
		if t, ok := hc.Transport.(*transport); ok {
			info.Token, info.Attempts = t.token, t.attempts
		}
	}
	return info
}
