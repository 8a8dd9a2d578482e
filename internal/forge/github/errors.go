package github

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	gh "github.com/google/go-github/v62/github"

	"github.com/mlci/mlci/internal/forge/apierr"
	"github.com/mlci/mlci/internal/forge/redact"
	"github.com/mlci/mlci/internal/forge/retry"
)

// Sentinels for errors.Is; every *Error wraps exactly one of them.
var (
	// ErrTooLong: the comment body is over GitHub's 65,536 characters.
	// Callers shorten the report before posting; this is the safety net.
	ErrTooLong = errors.New("comment body is longer than GitHub's 65,536 characters")
	// ErrUnauthorized: the token was refused (401).
	ErrUnauthorized = errors.New("the token is invalid or expired")
	// ErrNotFound: what the call names is unknown, or hidden from the token (404).
	ErrNotFound = errors.New("not found")
	// ErrForbidden: the token may not do this (403).
	ErrForbidden = errors.New("forbidden")
	// ErrRejected: GitHub refused the request's content (422 and other 4xx).
	ErrRejected = errors.New("rejected")
	// ErrUnavailable: GitHub failed, rate-limited us or could not be
	// reached after all retries.
	ErrUnavailable = errors.New("GitHub is unavailable")
)

// forgeName makes this package's Error a type of its own.
type forgeName struct{}

func (forgeName) Name() string { return "GitHub" }

func (forgeName) Kinds() apierr.Kinds {
	return apierr.Kinds{Unauthorized: ErrUnauthorized, Forbidden: ErrForbidden, NotFound: ErrNotFound,
		Rejected: ErrRejected, Unavailable: ErrUnavailable}
}

// Error is a failed GitHub API call, from posting or from runner
// registration. Its text is one line, never holds the token and quotes at
// most 200 characters of GitHub's answer. Unwrap gives the sentinel above
// and go-github's or the transport's error.
type Error = apierr.Error[forgeName]

// Classify turns what a call through c (built by NewClient) returned into
// an *Error for op, with the hint that holds whatever was tried; callers
// then set Hint (and Kind) for the statuses whose meaning depends on the
// call. A context error comes back wrapped, not as an *Error, so a
// cancelled run is told apart from a failing service; nil stays nil.
func Classify(c *gh.Client, op string, err error) error {
	if err == nil {
		return nil
	}
	info := infoOf(c)
	if cerr := apierr.Canceled[forgeName](op, err, info.Token); cerr != nil {
		return cerr
	}
	e := &Error{Op: op, Err: err, Attempts: info.Attempts}
	after := apierr.After(info.Attempts)
	var (
		resp  *gh.ErrorResponse
		rate  *gh.RateLimitError
		abuse *gh.AbuseRateLimitError
		wait  *retry.WaitError
	)
	switch {
	case errors.As(err, &wait):
		e.Kind, e.Status = ErrUnavailable, wait.Status
		e.Hint = fmt.Sprintf("GitHub API rate limit: it asked to wait %s, more than allowed; retry after %s",
			wait.Wait.Round(time.Second), wait.Until.UTC().Format(time.RFC3339))
	case errors.As(err, &rate):
		e.Kind, e.Status, e.Message = ErrUnavailable, http.StatusForbidden, redact.Line(rate.Message, apierr.MaxMessage, info.Token)
		e.Hint = fmt.Sprintf("GitHub API rate limit exhausted (HTTP 403) %s; retry after %s",
			after, rate.Rate.Reset.UTC().Format(time.RFC3339))
	case errors.As(err, &abuse):
		e.Kind, e.Status, e.Message = ErrUnavailable, http.StatusForbidden, redact.Line(abuse.Message, apierr.MaxMessage, info.Token)
		e.Hint = fmt.Sprintf("GitHub secondary rate limit (HTTP 403) %s; retry in a few minutes", after)
	case errors.As(err, &resp) && resp.Response != nil:
		e.Status = resp.Response.StatusCode
		e.Message = redact.Line(responseMessage(resp), apierr.MaxMessage, info.Token)
		e.Hint, e.Kind = apierr.ByStatus[forgeName](e.Status, after)
	default:
		e.Kind, e.Message = ErrUnavailable, redact.Line(err.Error(), apierr.MaxMessage, info.Token)
		e.Hint = fmt.Sprintf("cannot reach the GitHub API at %s %s: check the URL and the network", info.APIURL, after)
	}
	return e
}

// responseMessage joins GitHub's message with its per-field messages.
func responseMessage(r *gh.ErrorResponse) string {
	msg := r.Message
	for _, e := range r.Errors {
		if e.Message != "" {
			msg += ": " + e.Message
		}
	}
	return msg
}

// Status is the HTTP status of a go-github error, 0 if none.
func Status(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	var resp *gh.ErrorResponse
	if errors.As(err, &resp) && resp.Response != nil {
		return resp.Response.StatusCode
	}
	return 0
}
