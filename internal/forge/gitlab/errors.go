package gitlab

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/mlci/mlci/internal/forge/redact"
	"github.com/mlci/mlci/internal/forge/retry"
)

// Sentinels for errors.Is; every *Error wraps exactly one of them.
var (
	// ErrUnauthorized: the token was refused (401).
	ErrUnauthorized = errors.New("the token is invalid or expired")
	// ErrNotFound: what the call names is unknown, or hidden from the token (404).
	ErrNotFound = errors.New("not found")
	// ErrForbidden: the token may not do this (403).
	ErrForbidden = errors.New("forbidden")
	// ErrRejected: GitLab refused the request's content (400, 422 and other 4xx).
	ErrRejected = errors.New("rejected")
	// ErrUnavailable: GitLab failed, rate-limited us or could not be
	// reached after all retries.
	ErrUnavailable = errors.New("GitLab is unavailable")
)

// maxMessage bounds how much of a server's answer goes into an error.
const maxMessage = 200

// Error is a failed GitLab API call, from posting or from runner
// registration. Its text is one line a user can act on, never holds the
// token and quotes at most 200 characters of GitLab's answer. Unwrap gives
// the sentinel and client-go's error (gl.ErrNotFound, *gl.ErrorResponse)
// or the transport's (*retry.WaitError, a network error).
type Error struct {
	Op       string // what was tried, e.g. "create merge request note on project g/p"
	Status   int    // HTTP status; 0 when no response came back
	Attempts int    // tries made, when known
	Message  string // GitLab's words (the transport's when Status is 0), scrubbed and cut short
	Hint     string // what happened, with the HTTP status, and what to do
	Kind     error  // one of the sentinels above
	Err      error  // client-go's or the transport's error; nil when none
}

func (e *Error) Error() string {
	s := "gitlab: " + e.Op + ": " + e.Hint
	switch {
	case e.Message == "":
	case e.Status == 0:
		s += " (" + e.Message + ")"
	default:
		s += " (GitLab said: " + e.Message + ")"
	}
	return s
}

// Unwrap gives the sentinel and the underlying client-go or transport error.
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
func Classify(c *gl.Client, op string, err error) error {
	if err == nil {
		return nil
	}
	info := infoOf(c)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("gitlab: %s: %w", op, redact.Error(err, info.token))
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
		resp *gl.ErrorResponse
		wait *retry.WaitError
	)
	switch {
	case errors.As(err, &wait):
		e.Kind, e.Status = ErrUnavailable, wait.Status
		e.Hint = fmt.Sprintf("GitLab API rate limit: it asked to wait %s, more than allowed; retry after %s",
			wait.Wait.Round(time.Second), wait.Until.UTC().Format(time.RFC3339))
	case errors.Is(err, gl.ErrNotFound):
		// client-go returns this bare sentinel for every 404.
		e.Status = http.StatusNotFound
		e.Hint, e.Kind = byStatus(e.Status, after)
	case errors.As(err, &resp) && resp.Response != nil:
		e.Status = resp.Response.StatusCode
		e.Message = redact.Line(resp.Message, maxMessage, info.token)
		e.Hint, e.Kind = byStatus(e.Status, after)
	default:
		e.Kind, e.Message = ErrUnavailable, redact.Line(err.Error(), maxMessage, info.token)
		e.Hint = fmt.Sprintf("cannot reach the GitLab API at %s %s: check the URL and the network", info.apiURL, after)
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
		return fmt.Sprintf("GitLab API rate limit (HTTP 429) %s; retry later", after), ErrUnavailable
	case status >= 500:
		return fmt.Sprintf("GitLab API failing (HTTP %d) %s; retry later", status, after), ErrUnavailable
	}
	return fmt.Sprintf("GitLab rejected the request (HTTP %d)", status), ErrRejected
}

// Status is the HTTP status behind err, 0 when there was none. client-go
// returns the bare sentinel gl.ErrNotFound for a 404.
func Status(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	var er *gl.ErrorResponse
	switch {
	case err == nil:
		return 0
	case errors.Is(err, gl.ErrNotFound):
		return http.StatusNotFound
	case errors.As(err, &er) && er.Response != nil:
		return er.Response.StatusCode
	}
	return 0
}
