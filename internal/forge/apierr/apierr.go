// Package apierr is what the GitHub and GitLab API layers share about a
// failed call: the typed Error, its wording, and the transport that lets an
// error be built from the client alone (the token to scrub, the attempts).
package apierr

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/mlci/mlci/internal/forge/redact"
)

// MaxMessage bounds how much of a server's answer goes into an error.
const MaxMessage = 200

// Forge names the forge an Error comes from. Each API layer gives one as an
// empty struct type, so that its Error stays a type of its own: errors.As
// for a GitHub error never matches a GitLab one, and a composite literal of
// it needs no field naming the forge.
type Forge interface {
	// Name is how the forge writes itself, e.g. "GitHub"; lower-cased it
	// is the prefix of every message.
	Name() string
	// Kinds are the forge's own sentinels, so errors.Is also tells which
	// forge failed.
	Kinds() Kinds
}

// Kinds are one forge's sentinels, one for each class of failure.
type Kinds struct {
	Unauthorized error // 401
	Forbidden    error // 403
	NotFound     error // 404
	Rejected     error // other 4xx
	Unavailable  error // 429, 5xx, rate limits, no answer
}

// Error is a failed API call of forge F, from posting or from runner
// registration. Its text is one line a user can act on, never holds the
// token and quotes at most MaxMessage characters of the forge's answer.
type Error[F Forge] struct {
	Op       string // what was tried, e.g. "create comment on o/r#3"
	Status   int    // HTTP status; 0 when no response came back
	Attempts int    // tries made, when known
	Message  string // the forge's words (the transport's when Status is 0), scrubbed and cut short
	Hint     string // what happened, with the HTTP status, and what to do
	Kind     error  // one of F's sentinels
	Err      error  // the client library's or the transport's error; nil when none
}

func (e *Error[F]) Error() string {
	name := forgeName[F]()
	s := strings.ToLower(name) + ": " + e.Op + ": " + e.Hint
	switch {
	case e.Message == "":
	case e.Status == 0:
		s += " (" + e.Message + ")"
	default:
		s += " (" + name + " said: " + e.Message + ")"
	}
	return s
}

// Unwrap gives the sentinel and the underlying client library or transport
// error.
func (e *Error[F]) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

func forgeName[F Forge]() string {
	var f F
	return f.Name()
}

// Canceled wraps err for op when it is a context error and is nil
// otherwise: a cancelled run comes back as itself rather than as an *Error,
// so it is told apart from a failing service.
func Canceled[F Forge](op string, err error, token string) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %s: %w", strings.ToLower(forgeName[F]()), op, redact.Error(err, token))
	}
	return nil
}

// After says how often a call was tried, for hints; 0 means unknown.
func After(attempts int) string {
	switch attempts {
	case 0:
		return "after retries"
	case 1:
		return "after 1 attempt"
	}
	return fmt.Sprintf("after %d attempts", attempts)
}

// ByStatus is the hint and kind of an answer with status, for what every
// call of forge F shares; after is After's phrase.
func ByStatus[F Forge](status int, after string) (hint string, kind error) {
	var f F
	name, k := f.Name(), f.Kinds()
	switch {
	case status == http.StatusUnauthorized:
		return "token rejected (HTTP 401): check it is valid and not expired or revoked", k.Unauthorized
	case status == http.StatusForbidden:
		return "the token may not do this (HTTP 403)", k.Forbidden
	case status == http.StatusNotFound:
		return "not found or the token cannot see it (HTTP 404)", k.NotFound
	case status == http.StatusTooManyRequests:
		return fmt.Sprintf("%s API rate limit (HTTP 429) %s; retry later", name, after), k.Unavailable
	case status >= 500:
		return fmt.Sprintf("%s API failing (HTTP %d) %s; retry later", name, status, after), k.Unavailable
	}
	return fmt.Sprintf("%s rejected the request (HTTP %d)", name, status), k.Rejected
}
