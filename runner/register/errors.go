package register

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/go-github/v62/github"
	gitlab "gitlab.com/gitlab-org/api/client-go"

	"github.com/mlci/mlci/internal/forge/retry"
)

// Classes of failure, for the CLI's exit code: every error this package
// returns, other than a context error, wraps exactly one of them.
var (
	// ErrUsage: something the user must fix (flags, token, permissions,
	// target, a duplicate name). The CLI exits 2.
	ErrUsage = errors.New("usage error")
	// ErrService: the forge failed, rate-limited us or could not be
	// reached after retries; running again later may work. The CLI exits 3.
	ErrService = errors.New("service error")
)

// Kinds of API failure, for callers that branch on them; each comes with
// ErrUsage.
var (
	ErrUnauthorized = errors.New("token rejected")
	ErrForbidden    = errors.New("token lacks permission")
	ErrNotFound     = errors.New("not found")
	ErrExists       = errors.New("a runner with that name already exists")
)

// maxMessage bounds how much of a server's text goes into an error.
const maxMessage = 200

// Error is a failed forge API call, said in one line with what to do about
// it. Its text never holds the token, a runner token or a JIT config.
type Error struct {
	Forge    string // "GitHub" or "GitLab"
	Op       string // e.g. `github: register runner "x" on repository o/r`
	Status   int    // HTTP status; 0 when no response came back
	Attempts int    // tries made, when known and the call was retried
	Message  string // the server's own words, scrubbed and cut short
	Hint     string // what happened and what to do
	class    error  // ErrUsage or ErrService
	kind     error  // ErrUnauthorized…; nil when none fits
	err      error  // the client library's or transport's error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op + ": " + e.Hint)
	if e.Message != "" {
		b.WriteString(" (" + e.Forge + " said: " + e.Message + ")")
	}
	return b.String()
}

// Unwrap gives the class, the kind and the underlying error.
func (e *Error) Unwrap() []error {
	out := []error{e.class}
	if e.kind != nil {
		out = append(out, e.kind)
	}
	if e.err != nil {
		out = append(out, e.err)
	}
	return out
}

// usageError is a bad input caught before any API call.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }
func (e *usageError) Unwrap() error { return ErrUsage }

func usage(msg string) error { return &usageError{msg: msg} }

// forgeName is how messages name the service.
type forgeName string

const (
	forgeGitHub forgeName = "GitHub"
	forgeGitLab forgeName = "GitLab"
)

// apiFailure says what every forge failure has in common; callers have
// already set e.Status and handled the statuses whose meaning depends on the
// operation. It reports false when err is none of rate limit, 401, 5xx or
// no response, leaving e for the caller to finish.
func apiFailure(f forgeName, e *Error, info clientInfo, err error) bool {
	var wait *retry.WaitError
	var rate *github.RateLimitError
	var abuse *github.AbuseRateLimitError
	after := "after retries"
	if info.attempts > 0 {
		after = fmt.Sprintf("after %d attempts", info.attempts)
		e.Attempts = info.attempts
	}
	switch {
	case errors.As(err, &wait):
		e.class, e.Status = ErrService, wait.Status
		e.Hint = fmt.Sprintf("%s API rate limit: it asked to wait %s, more than allowed; retry after %s",
			f, wait.Wait.Round(time.Second), wait.Until.UTC().Format(time.RFC3339))
	case errors.As(err, &rate):
		e.class, e.Status = ErrService, http.StatusForbidden
		e.Hint = fmt.Sprintf("%s API rate limit exhausted (HTTP 403) %s; retry after %s",
			f, after, rate.Rate.Reset.UTC().Format(time.RFC3339))
	case errors.As(err, &abuse):
		e.class, e.Status = ErrService, http.StatusForbidden
		e.Hint = fmt.Sprintf("%s secondary rate limit (HTTP 403) %s; retry in a few minutes", f, after)
	case e.Status == http.StatusTooManyRequests:
		e.class = ErrService
		e.Hint = fmt.Sprintf("%s API rate limit (HTTP 429) %s; retry later", f, after)
	case e.Status >= 500:
		e.class = ErrService
		e.Hint = fmt.Sprintf("%s API failing (HTTP %d) %s; retry later", f, e.Status, after)
	case e.Status == 0:
		e.class = ErrService
		e.Hint = fmt.Sprintf("cannot reach the %s API %s: check the URL and the network", f, after)
		e.Message = clean(err.Error(), info.token)
	case e.Status == http.StatusUnauthorized:
		e.class, e.kind = ErrUsage, ErrUnauthorized
		e.Hint = "token rejected (HTTP 401): check it is valid and not expired or revoked"
	default:
		return false
	}
	return true
}

// githubStatus and gitlabStatus return the HTTP status behind err and the
// server's message; 0 when no response came back.
func githubStatus(err error) (int, string) {
	var rate *github.RateLimitError
	var abuse *github.AbuseRateLimitError
	var resp *github.ErrorResponse
	switch {
	case errors.As(err, &rate):
		return http.StatusForbidden, rate.Message
	case errors.As(err, &abuse):
		return http.StatusForbidden, abuse.Message
	case errors.As(err, &resp) && resp.Response != nil:
		msg := resp.Message
		for _, fe := range resp.Errors {
			if fe.Message != "" {
				msg += ": " + fe.Message
			}
		}
		return resp.Response.StatusCode, msg
	}
	return 0, ""
}

func gitlabStatus(err error) (int, string) {
	var resp *gitlab.ErrorResponse
	switch {
	case errors.Is(err, gitlab.ErrNotFound):
		// client-go returns this bare sentinel for every 404.
		return http.StatusNotFound, ""
	case errors.As(err, &resp) && resp.Response != nil:
		return resp.Response.StatusCode, resp.Message
	}
	return 0, ""
}

// ctxErr passes context errors through unchanged in kind: a cancelled
// registration is neither the user's nor the service's fault.
func ctxErr(op string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// secretPattern matches the token formats GitHub and GitLab hand out, so
// they are scrubbed even when the exact token is not known here.
var secretPattern = regexp.MustCompile(
	`(gh[opusr]_[A-Za-z0-9_]{16,}|github_pat_[A-Za-z0-9_]{16,}|gl[a-z]{2,5}-[A-Za-z0-9_.\-]{8,}|` +
		`(?i:bearer|token)\s+[A-Za-z0-9_.\-]{16,}|` +
		// long base64 runs: JIT configs and other blobs no message needs
		`[A-Za-z0-9+/]{64,}={0,2})`)

// scrub removes the known secrets and anything shaped like a token.
func scrub(s string, secrets ...string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return secretPattern.ReplaceAllString(s, "[redacted]")
}

// clean makes server text safe for a one-line error: scrubbed, whitespace
// folded, at most maxMessage characters.
func clean(s string, secrets ...string) string {
	s = strings.Join(strings.Fields(scrub(s, secrets...)), " ")
	if utf8.RuneCountInString(s) > maxMessage {
		s = string([]rune(s)[:maxMessage-1]) + "…"
	}
	return s
}
