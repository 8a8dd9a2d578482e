package retry

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
)

// retryableError says whether a transport error may pass on a retry. Errors
// before the connection was made are safe for any method; errors after it
// may mean the server acted, so only idempotent methods are retried then.
func retryableError(err error, method string) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, ErrNotReplayable) {
		return false
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns.IsTemporary || dns.IsTimeout
	}
	if notSent(err) {
		return true
	}
	if !idempotent(method) {
		return false
	}
	var ne net.Error
	switch {
	// The caller's context is alive (RoundTrip checked), so a deadline here
	// is the per-attempt timeout.
	case errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout(),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, io.EOF):
		return true
	}
	return false
}

// notSent reports an error from before any byte of the request was sent.
func notSent(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}
