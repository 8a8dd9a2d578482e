// Package redact keeps credentials that a URL carries (https://user:token@host)
// out of error messages and logs, for every client that talks to a server.
package redact

import (
	"regexp"
	"strings"
)

// userinfo matches a URL's scheme and the userinfo after it. The userinfo
// runs to the last "@" before the host's end, so a password with a raw "@"
// goes whole.
var userinfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)[^/?#\s"'<>]*@`)

// URLs replaces the userinfo of every URL in s with "***".
func URLs(s string) string {
	return userinfo.ReplaceAllString(s, "${1}***@")
}

// URL is URLs for a value meant to be one URL, such as a setting echoed in
// an error, which may be malformed ("http//user:token@host"): whatever
// comes before the last "@" of its authority (after the last "//", up to
// the next "/") is replaced, the scheme kept. An "@" in the path, as in a
// digest reference (ghcr.io/o/m@sha256:…), is not userinfo.
func URL(raw string) string {
	if s := URLs(raw); s != raw {
		return s
	}
	start := 0
	if i := strings.LastIndex(raw, "//"); i >= 0 {
		start = i + 2
	}
	authority := raw[start:]
	if i := strings.IndexByte(authority, '/'); i >= 0 {
		authority = authority[:i]
	}
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		return raw
	}
	at += start
	scheme := ""
	if i := strings.Index(raw, "://"); i >= 0 && i < at {
		scheme = raw[:i+3]
	}
	return scheme + "***" + raw[at:]
}

// Error returns err with the userinfo of every URL in its message replaced;
// errors.Is and errors.As still see err. It returns err itself when its
// message holds none, and nil for nil.
func Error(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if clean := URLs(msg); clean != msg {
		return &redacted{msg: clean, err: err}
	}
	return err
}

type redacted struct {
	msg string
	err error
}

func (e *redacted) Error() string { return e.msg }
func (e *redacted) Unwrap() error { return e.err }
