package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	gh "github.com/google/go-github/v62/github"

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

// maxMessage bounds GitHub's error text in our messages.
const maxMessage = 200

// Error is a failed GitHub API call, from posting or from runner
// registration. Its text is one line, never holds the token and quotes at
// most 200 characters of GitHub's answer.
type Error struct {
	Op       string // what was tried, e.g. "create comment on o/r#3"
	Status   int    // HTTP status; 0 when no response came back
	Attempts int    // tries made, when known
	Message  string // GitHub's words (the transport's when Status is 0), scrubbed and cut short
	Hint     string // what happened, with the HTTP status, and what to do
	Kind     error  // one of the sentinels above
	Err      error  // go-github's or the transport's error; nil when none
}

func (e *Error) Error() string {
	s := "github: " + e.Op + ": " + e.Hint
	switch {
	case e.Message == "":
	case e.Status == 0:
		s += " (" + e.Message + ")"
	default:
		s += " (GitHub said: " + e.Message + ")"
	}
	return s
}

// Unwrap gives the sentinel and the underlying go-github or transport error.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

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
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("github: %s: %w", op, redact.Error(err, info.token))
	}
	e := &Error{Op: op, Err: err, Attempts: info.attempts}
	after := "after retries"
	switch info.attempts {
	case 0:
	case 1:
		after = "after 1 attempt"
	default:
		after = fmt.Sprintf("after %d attempts", info.attempts)
	}
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
		e.Kind, e.Status, e.Message = ErrUnavailable, http.StatusForbidden, redact.Line(rate.Message, maxMessage, info.token)
		e.Hint = fmt.Sprintf("GitHub API rate limit exhausted (HTTP 403) %s; retry after %s",
			after, rate.Rate.Reset.UTC().Format(time.RFC3339))
	case errors.As(err, &abuse):
		e.Kind, e.Status, e.Message = ErrUnavailable, http.StatusForbidden, redact.Line(abuse.Message, maxMessage, info.token)
		e.Hint = fmt.Sprintf("GitHub secondary rate limit (HTTP 403) %s; retry in a few minutes", after)
	case errors.As(err, &resp) && resp.Response != nil:
		e.Status = resp.Response.StatusCode
		e.Message = redact.Line(responseMessage(resp), maxMessage, info.token)
		e.Hint, e.Kind = byStatus(e.Status, after)
	default:
		e.Kind, e.Message = ErrUnavailable, redact.Line(err.Error(), maxMessage, info.token)
		e.Hint = fmt.Sprintf("cannot reach the GitHub API at %s %s: check the URL and the network", info.apiURL, after)
	}
	return e
}

// byStatus is the hint and kind of an answer, for what every call shares.
func byStatus(status int, after string) (hint string, kind error) {
	switch {
	case status == http.StatusUnauthorized:
		return "token rejected (HTTP 401): check it is valid and not expired or revoked", ErrUnauthorized
	case status == http.StatusForbidden:
		return "the token may not do this (HTTP 403)", ErrForbidden
	case status == http.StatusNotFound:
		return "not found or the token cannot see it (HTTP 404)", ErrNotFound
	case status == http.StatusTooManyRequests:
		return fmt.Sprintf("GitHub API rate limit (HTTP 429) %s; retry later", after), ErrUnavailable
	case status >= 500:
		return fmt.Sprintf("GitHub API failing (HTTP %d) %s; retry later", status, after), ErrUnavailable
	}
	return fmt.Sprintf("GitHub rejected the request (HTTP %d)", status), ErrRejected
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
