// Package retry is an http.RoundTripper that retries what a forge API says
// was not processed (5xx, 429, rate-limited 403) and transient network errors,
// honouring Retry-After and rate-limit reset headers.
package retry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mlci/mlci/internal/forge/redact"
)

// Policy says how often and how long to retry. The zero value is usable.
type Policy struct {
	// MaxAttempts counts every try, the first included; 0 means 5.
	MaxAttempts int
	// BaseDelay is the first backoff before jitter; 0 means 500ms. Backoff is
	// exponential with full jitter: a uniform wait in [0, Base*2^n).
	BaseDelay time.Duration
	// MaxDelay caps one computed backoff; 0 means 30s.
	MaxDelay time.Duration
	// MaxWait is the longest wait a server may ask for (Retry-After, rate-limit
	// reset); 0 means 2m. A longer request ends in a *WaitError instead of
	// holding the CI job. Server-asked waits are honoured in full up to MaxWait,
	// not cut to MaxDelay: retrying early only burns an attempt and, on GitHub,
	// risks a longer secondary-limit ban.
	MaxWait time.Duration
	// AttemptTimeout bounds one try (headers and body); 0 means no bound.
	// It is per attempt, unlike http.Client.Timeout, which would also cut
	// the waits between attempts.
	AttemptTimeout time.Duration
	// Sleep waits d or until ctx ends; nil means a timer. Tests inject one.
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand returns a float in [0, 1) for jitter; nil means math/rand/v2.
	Rand func() float64
	// Now is the clock for reset epochs and HTTP dates; nil means time.Now.
	Now func() time.Time
	// Logger, when set, gets one Info line per retry; nil logs nothing.
	Logger *slog.Logger
}

// Transport retries requests through Base (nil means http.DefaultTransport).
//
// POST and PATCH are retried on the same statuses as other methods (500,
// 502, 503, 504, 429, rate-limited 403): the forge comment APIs are how mlci
// dedupes, and the sticky-comment logic re-lists after a create, so a rare
// duplicate from a 5xx that was in fact processed is cleaned up there. On
// network errors they are retried only when the connection was never made
// (the request cannot have reached the server).
type Transport struct {
	Base   http.RoundTripper
	Policy Policy
}

// WaitError says the server asked for a longer wait than Policy.MaxWait.
type WaitError struct {
	Status  int           // the HTTP status that asked for the wait
	Wait    time.Duration // what the server asked for
	MaxWait time.Duration // what the policy allows
	Until   time.Time     // when a retry should succeed
}

func (e *WaitError) Error() string {
	return fmt.Sprintf("server answered HTTP %d and asked to wait %s (more than the %s allowed); retry after %s",
		e.Status, e.Wait.Round(time.Second), e.MaxWait, e.Until.UTC().Format(time.RFC3339))
}

// ErrNotReplayable is returned for a request with a body but no GetBody.
var ErrNotReplayable = errors.New("retry: request has a body but no GetBody, so it cannot be replayed; build it with http.NewRequest from a bytes or strings reader")

// RoundTrip sends req, retrying as the policy allows. After the last attempt
// it returns the last response as is, so callers see the real API error.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		req.Body.Close()
		return nil, ErrNotReplayable
	}
	p := t.Policy.withDefaults()
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	ctx := req.Context()
	for attempt := 1; ; attempt++ {
		areq := req
		if attempt > 1 {
			var err error
			if areq, err = replay(req); err != nil {
				return nil, err
			}
		}
		resp, err := roundTrip(base, areq, p.AttemptTimeout)
		if ctx.Err() != nil {
			closeBody(resp)
			return nil, ctx.Err()
		}
		var wait time.Duration
		var asked bool // the server named the wait
		switch {
		case err != nil:
			if attempt >= p.MaxAttempts || !retryableError(err, req.Method) {
				return nil, err
			}
			wait = p.backoff(attempt)
		default:
			w, ok, retry := p.classify(resp)
			if !retry || attempt >= p.MaxAttempts {
				return resp, nil
			}
			wait, asked = w, ok
			if !asked {
				wait = p.backoff(attempt)
			}
			if asked && wait > p.MaxWait {
				closeBody(resp)
				return nil, &WaitError{Status: resp.StatusCode, Wait: wait, MaxWait: p.MaxWait, Until: p.Now().Add(wait)}
			}
			drain(resp)
		}
		if p.Logger != nil {
			p.Logger.InfoContext(ctx, "retrying forge API request",
				"method", req.Method, "path", req.URL.Path, "why", redact.URLs(why(resp, err)),
				"wait", wait.String(), "attempt", attempt+1, "of", p.MaxAttempts)
		}
		if err := p.Sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

func (p Policy) withDefaults() Policy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 5
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = 500 * time.Millisecond
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 30 * time.Second
	}
	if p.MaxWait <= 0 {
		p.MaxWait = 2 * time.Minute
	}
	if p.Sleep == nil {
		p.Sleep = sleep
	}
	if p.Rand == nil {
		p.Rand = rand.Float64
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	return p
}

// backoff is the full-jitter wait before retry n (1-based).
func (p Policy) backoff(n int) time.Duration {
	d := p.BaseDelay
	for i := 1; i < n && d < p.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, p.MaxDelay)
	return time.Duration(p.Rand() * float64(d))
}

// secondaryMinWait is GitHub's advice for a secondary rate limit that names
// no wait: "wait for at least one minute before retrying".
const secondaryMinWait = time.Minute

// classify says whether resp should be retried and, when the server named
// one, how long to wait.
func (p Policy) classify(resp *http.Response) (wait time.Duration, asked, retry bool) {
	switch resp.StatusCode {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable,
		http.StatusGatewayTimeout, http.StatusTooManyRequests:
		wait, asked = p.serverWait(resp.Header)
		return wait, asked, true
	case http.StatusForbidden:
		h := resp.Header
		if h.Get("Retry-After") != "" || h.Get("X-RateLimit-Remaining") == "0" || h.Get("RateLimit-Remaining") == "0" {
			wait, asked = p.serverWait(h)
			return wait, asked, true
		}
		if secondaryLimit(resp) {
			return max(p.backoff(1), secondaryMinWait), true, true
		}
	}
	return 0, false, false
}

// serverWait reads Retry-After (seconds or HTTP-date), then the reset
// headers: X-RateLimit-Reset (GitHub, epoch seconds) and RateLimit-Reset
// (GitLab sends epoch seconds; the IETF draft sends delta seconds).
func (p Policy) serverWait(h http.Header) (time.Duration, bool) {
	now := p.Now()
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.ParseInt(v, 10, 64); err == nil && s >= 0 {
			return time.Duration(s) * time.Second, true
		}
		if at, err := http.ParseTime(v); err == nil {
			return max(at.Sub(now), 0), true
		}
	}
	for _, k := range []string{"X-RateLimit-Reset", "RateLimit-Reset"} {
		s, err := strconv.ParseInt(strings.TrimSpace(h.Get(k)), 10, 64)
		if err != nil || s < 0 {
			continue
		}
		// A value this large is an epoch; anything smaller is a delta.
		if s > 1_000_000_000 {
			if d := time.Unix(s, 0).Sub(now); d > 0 {
				return d, true
			}
			return 0, false // already reset: plain backoff
		}
		return time.Duration(s) * time.Second, true
	}
	return 0, false
}

// secondaryLimit peeks at a 403 body for GitHub's secondary-limit wording,
// leaving the body readable for the caller.
func secondaryLimit(resp *http.Response) bool {
	if resp.Body == nil {
		return false
	}
	head, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	if err != nil {
		return false
	}
	b := strings.ToLower(string(head))
	return strings.Contains(b, "secondary rate limit") || strings.Contains(b, "abuse detection")
}

func replay(req *http.Request) (*http.Request, error) {
	r := req.Clone(req.Context())
	if req.GetBody != nil && req.Body != nil && req.Body != http.NoBody {
		body, err := req.GetBody()
		if err != nil {
			return nil, fmt.Errorf("retry: replay request body: %w", err)
		}
		r.Body = body
	}
	return r, nil
}

// roundTrip runs one attempt, bounding it by d when d > 0. The attempt's
// context lives until the body is closed, so reading the body is bounded too.
func roundTrip(base http.RoundTripper, req *http.Request, d time.Duration) (*http.Response, error) {
	if d <= 0 {
		return base.RoundTrip(req)
	}
	ctx, cancel := context.WithTimeout(req.Context(), d)
	resp, err := base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// drain reads a little of a retried response so the connection can be
// reused, then closes it.
func drain(resp *http.Response) {
	if resp == nil || resp.Body == nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

func closeBody(resp *http.Response) {
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
}

func why(resp *http.Response, err error) string {
	if err != nil {
		return err.Error()
	}
	return resp.Status
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
