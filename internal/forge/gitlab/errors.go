package gitlab

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/mlci/mlci/internal/forge/redact"
)

// maxErrBody bounds how much of a server's answer goes into an error.
const maxErrBody = 200

// Error is a failed GitLab API call, said in one line a user can act on,
// with the token scrubbed and the server's message cut to 200 characters.
// Unwrap gives the client-go error (gl.ErrNotFound, *gl.ErrorResponse) or
// the transport's (*retry.WaitError, a network error).
type Error struct {
	Op     string // what mlci was doing, e.g. "create merge request note"
	Status int    // HTTP status; 0 when no response came
	Err    error
	msg    string
}

func (e *Error) Error() string { return e.msg }
func (e *Error) Unwrap() error { return e.Err }

// wrap builds an *Error. The message is fixed here, not in Error(), so the
// token is scrubbed once, with the token at hand.
func (f *Forge) wrap(op string, err error) error {
	e := &Error{Op: op, Status: status(err), Err: err}
	var why string
	switch e.Status {
	case http.StatusUnauthorized:
		why = "GITLAB_TOKEN is invalid or expired (401)"
		if f.cfg.JobToken {
			why = "CI_JOB_TOKEN was refused (401): " + errNoToken
		}
	case http.StatusForbidden:
		why = "forbidden (403): the token needs api scope and the Developer role"
	case http.StatusNotFound:
		why = "project or merge request not found — does the token have access? (404)"
	case 0:
		why = err.Error()
	default:
		why = fmt.Sprintf("HTTP %d", e.Status)
		var er *gl.ErrorResponse
		if errors.As(err, &er) && er.Message != "" {
			why += ": " + er.Message
		}
	}
	if f.cfg.Token != "" {
		why = strings.ReplaceAll(why, f.cfg.Token, "[token]")
	}
	why = redact.URLs(why)
	why = strings.Join(strings.Fields(why), " ")
	e.msg = fmt.Sprintf("gitlab: %s on project %s: %s", op, f.cfg.Project, truncate(why, maxErrBody))
	return e
}

// status is the HTTP status behind err, 0 when there was none. client-go
// returns the bare sentinel gl.ErrNotFound for a 404.
func status(err error) int {
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
