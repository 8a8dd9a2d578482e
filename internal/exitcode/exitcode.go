// Package exitcode is the exit-status contract both mlci binaries keep
// (README.md, "CLI reference"): 0 ok, 1 a check failed, 2 usage or input,
// 3 a service failed after retries, 130 interrupted (first signal cancels,
// second exits), and one line saying why.
package exitcode

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// The codes.
const (
	OK          = 0
	Failed      = 1   // a check failed
	Usage       = 2   // bad flag or malformed input
	Service     = 3   // the forge, Docker or another service failed after retries
	Interrupted = 130 // 128+SIGINT, as shells report an interrupted command
)

// Error carries the code a command exits with.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// With gives err the exit code code.
func With(code int, err error) error { return &Error{Code: code, Err: err} }

// Of returns the code err exits with: its own when it carries one,
// Interrupted when it is a cancellation, def otherwise.
func Of(err error, def int) int {
	var e *Error
	switch {
	case err == nil:
		return OK
	case errors.As(err, &e):
		return e.Code
	case errors.Is(err, context.Canceled):
		return Interrupted
	}
	return def
}

// OneLine folds an error's text onto one line, as every non-zero exit
// prints exactly one.
func OneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(strings.TrimSpace(s), "\n", " ")), " ")
}

// OnInterrupt returns a context that the first SIGINT or SIGTERM cancels, so
// a command stops gracefully (GitLab Runner sends SIGTERM on cancel or
// timeout); a second signal exits at once with Interrupted, saying so as
// name. Call stop when done.
func OnInterrupt(name string) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		if _, ok := <-signals; !ok {
			return
		}
		cancel()
		if _, ok := <-signals; !ok {
			return
		}
		fmt.Fprintf(os.Stderr, "%s: interrupted twice; exiting now\n", name)
		os.Exit(Interrupted)
	}()
	return ctx, func() {
		signal.Stop(signals)
		close(signals)
		cancel()
	}
}
