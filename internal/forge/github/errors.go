package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	gh "github.com/google/go-github/v62/github"

	"github.com/mlci/mlci/internal/forge/redact"
	"github.com/mlci/mlci/internal/forge/retry"
)

// Sentinels for errors.Is; every error Post returns is an *Error wrapping
// one of them (or a context error).
var (
	// ErrTooLong: the comment body is over GitHub's 65,536 characters.
	// Callers shorten the report before posting; this is the safety net.
	ErrTooLong = errors.New("comment body is longer than GitHub's 65,536 characters")
	// ErrUnauthorized: the token was refused (401).
	ErrUnauthorized = errors.New("GITHUB_TOKEN is invalid or expired")
	// ErrNotFound: the repository, pull request or commit is unknown (404).
	ErrNotFound = errors.New("not found")
	// ErrForbidden: the token may not do this (403).
	ErrForbidden = errors.New("forbidden")
	// ErrRejected: GitHub refused the request's content (422 and other 4xx).
	ErrRejected = errors.New("rejected")
	// ErrUnavailable: GitHub failed or rate-limited us after all retries.
	ErrUnavailable = errors.New("GitHub is unavailable")
)

// maxMessage bounds GitHub's error text in our messages.
const maxMessage = 200

// Error is a failed GitHub API call. Its text is one line, never holds the
// token and quotes at most 200 characters of GitHub's answer.
type Error struct {
	Op      string // what was tried, e.g. "create comment on o/r#3"
	Status  int    // HTTP status; 0 when no response came back
	Message string // GitHub's message, scrubbed and truncated
	Hint    string // what to do about it
	kind    error
	err     error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("github: " + e.Op + ": " + e.Hint)
	switch {
	case e.Status != 0 && e.Message != "":
		fmt.Fprintf(&b, " (HTTP %d: %s)", e.Status, e.Message)
	case e.Status != 0:
		fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	case e.Message != "":
		b.WriteString(" (" + e.Message + ")")
	}
	return b.String()
}

// Unwrap gives the sentinel and the underlying go-github or transport error.
func (e *Error) Unwrap() []error {
	if e.err == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.err}
}

// wrap turns a go-github or transport error into an *Error.
func (f *Forge) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("github: %s: %w", op, redact.Error(err))
	}
	e := &Error{Op: op, err: err}
	var (
		resp  *gh.ErrorResponse
		rate  *gh.RateLimitError
		abuse *gh.AbuseRateLimitError
		wait  *retry.WaitError
	)
	switch {
	case errors.As(err, &wait):
		e.kind, e.Status = ErrUnavailable, wait.Status
		e.Hint = "GitHub rate limit: " + wait.Error()
	case errors.As(err, &rate):
		e.kind, e.Status, e.Message = ErrUnavailable, http.StatusForbidden, f.clean(rate.Message)
		e.Hint = "GitHub API rate limit exceeded; retry after " + rate.Rate.Reset.UTC().Format("15:04:05 UTC")
	case errors.As(err, &abuse):
		e.kind, e.Status, e.Message = ErrUnavailable, http.StatusForbidden, f.clean(abuse.Message)
		e.Hint = "GitHub secondary rate limit hit after retries; retry the job in a few minutes"
	case errors.As(err, &resp):
		e.Status = resp.Response.StatusCode
		e.Message = f.clean(responseMessage(resp))
		e.Hint, e.kind = f.classify(e.Status, e.Message)
	default:
		e.kind, e.Message = ErrUnavailable, f.clean(err.Error())
		e.Hint = "cannot reach GitHub at " + f.apiURL + " after retries"
	}
	return e
}

func (f *Forge) classify(status int, msg string) (hint string, kind error) {
	switch {
	case status == http.StatusUnauthorized:
		return "GITHUB_TOKEN is invalid or expired", ErrUnauthorized
	case status == http.StatusNotFound:
		return fmt.Sprintf("repository or pull request not found — does the token have access to %s/%s?", f.owner, f.repo), ErrNotFound
	case status == http.StatusForbidden:
		return "the token may not do this; give the job `permissions: pull-requests: write, statuses: write`", ErrForbidden
	case status == http.StatusUnprocessableEntity && strings.Contains(msg, "too long"):
		return "the report is too long for a GitHub comment; shorten it", ErrTooLong
	case status >= 500:
		return "GitHub kept failing after retries; retry the job later", ErrUnavailable
	}
	return "GitHub rejected the request", ErrRejected
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

// clean makes text safe for a one-line error: token and URL credentials
// scrubbed, whitespace folded, at most maxMessage characters.
func (f *Forge) clean(s string) string {
	if f.token != "" {
		s = strings.ReplaceAll(s, f.token, "***")
	}
	s = redact.URLs(s)
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > maxMessage {
		s = string([]rune(s)[:maxMessage-1]) + "…"
	}
	return s
}

// status is the HTTP status of a go-github error, 0 if none.
func status(err error) int {
	var resp *gh.ErrorResponse
	if errors.As(err, &resp) && resp.Response != nil {
		return resp.Response.StatusCode
	}
	return 0
}
