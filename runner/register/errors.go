package register

import (
	"errors"

	ghforge "github.com/mlci/mlci/internal/forge/github"
	glforge "github.com/mlci/mlci/internal/forge/gitlab"
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

// Kinds of API failure, for callers that branch on them without knowing
// the forge; each comes with ErrUsage.
var (
	ErrUnauthorized = errors.New("token rejected")
	ErrForbidden    = errors.New("token lacks permission")
	ErrNotFound     = errors.New("not found")
	ErrExists       = errors.New("a runner with that name already exists")
)

// classed gives a forge's error (a *github.Error or *gitlab.Error of
// internal/forge, whose text it keeps) the class the exit code follows and,
// where one fits, the forge-neutral kind.
type classed struct {
	class error // ErrUsage or ErrService
	kind  error // ErrUnauthorized…; nil when none fits
	err   error
}

func (e *classed) Error() string { return e.err.Error() }

// Unwrap gives the class, the kind and the forge's error.
func (e *classed) Unwrap() []error {
	out := []error{e.class}
	if e.kind != nil {
		out = append(out, e.kind)
	}
	return append(out, e.err)
}

// classOf is the class and kind of a forge's *Error.
func classOf(err error) (class, kind error) {
	switch {
	case errors.Is(err, ghforge.ErrUnavailable), errors.Is(err, glforge.ErrUnavailable):
		return ErrService, nil
	case errors.Is(err, ghforge.ErrUnauthorized), errors.Is(err, glforge.ErrUnauthorized):
		return ErrUsage, ErrUnauthorized
	case errors.Is(err, ghforge.ErrForbidden), errors.Is(err, glforge.ErrForbidden):
		return ErrUsage, ErrForbidden
	case errors.Is(err, ghforge.ErrNotFound), errors.Is(err, glforge.ErrNotFound):
		return ErrUsage, ErrNotFound
	}
	return ErrUsage, nil
}

// usageError is a bad input caught before any API call.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }
func (e *usageError) Unwrap() error { return ErrUsage }

func usage(msg string) error { return &usageError{msg: msg} }
