package gitlab

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/mlci/mlci/internal/forge/apierr"
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

// forgeName makes this package's Error a type of its own.
type forgeName struct{}

func (forgeName) Name() string { return "GitLab" }

func (forgeName) Kinds() apierr.Kinds {
	return apierr.Kinds{Unauthorized: ErrUnauthorized, Forbidden: ErrForbidden, NotFound: ErrNotFound,
		Rejected: ErrRejected, Unavailable: ErrUnavailable}
}

// Error is a failed GitLab API call, from posting or from runner
// registration. Its text is one line a user can act on, never holds the
// token and quotes at most 200 characters of GitLab's answer. Unwrap gives
// the sentinel above and client-go's error (gl.ErrNotFound,
// *gl.ErrorResponse) or the transport's (*retry.WaitError, a network error).
type Error = apierr.Error[forgeName]

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
	if cerr := apierr.Canceled[forgeName](op, err, info.Token); cerr != nil {
		return cerr
	}
	e := &Error{Op: op, Err: err, Attempts: info.Attempts}
	after := apierr.After(info.Attempts)
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
		e.Hint, e.Kind = apierr.ByStatus[forgeName](e.Status, after)
	case errors.As(err, &resp) && resp.Response != nil:
		e.Status = resp.Response.StatusCode
		e.Message = redact.Line(resp.Message, apierr.MaxMessage, info.Token)
		e.Hint, e.Kind = apierr.ByStatus[forgeName](e.Status, after)
	default:
		e.Kind, e.Message = ErrUnavailable, redact.Line(err.Error(), apierr.MaxMessage, info.Token)
		e.Hint = fmt.Sprintf("cannot reach the GitLab API at %s %s: check the URL and the network", info.APIURL, after)
	}
	return e
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
