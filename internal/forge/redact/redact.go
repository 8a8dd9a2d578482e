// Package redact keeps credentials (tokens, and what a URL carries in
// https://user:token@host) out of error messages and logs, for every client
// that talks to a server.
package redact

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// Redacted replaces a secret that Secrets removes.
const Redacted = "[redacted]"

// tokenPattern matches the token formats GitHub and GitLab hand out, so
// they are scrubbed even where the exact token is not known.
var tokenPattern = regexp.MustCompile(
	`gh[opusr]_[A-Za-z0-9_]{16,}|github_pat_[A-Za-z0-9_]{16,}|gl[a-z]{2,5}-[A-Za-z0-9_.\-]{8,}|` +
		`(?i:bearer|token)\s+[A-Za-z0-9_.\-]{16,}`)

// blobPattern matches long base64 runs: JIT configs and other blobs that no
// message needs. Only runs with an upper-case letter or a "+" count, so a
// commit id or a lower-case API path stays readable.
var blobPattern = regexp.MustCompile(`[A-Za-z0-9+/]{64,}={0,2}`)

// Secrets is the one scrubber for text a server or transport wrote: it
// replaces each of secrets, anything shaped like a GitHub or GitLab token
// or a long base64 blob, and the userinfo of every URL.
func Secrets(s string, secrets ...string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, Redacted)
		}
	}
	s = tokenPattern.ReplaceAllString(s, Redacted)
	s = blobPattern.ReplaceAllStringFunc(s, func(b string) string {
		if strings.ContainsAny(b, "ABCDEFGHIJKLMNOPQRSTUVWXYZ+") {
			return Redacted
		}
		return b
	})
	return URLs(s)
}

// Line is Secrets made fit for a one-line message: whitespace folded and at
// most n characters, a cut marked with "…".
func Line(s string, n int, secrets ...string) string {
	s = strings.Join(strings.Fields(Secrets(s, secrets...)), " ")
	if n > 0 && utf8.RuneCountInString(s) > n {
		s = string([]rune(s)[:n-1]) + "…"
	}
	return s
}

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

// Error returns err with the userinfo of every URL in its message replaced,
// and, when secrets are given, its text scrubbed by Secrets; errors.Is and
// errors.As still see err. It returns err itself when its message holds
// nothing to remove, and nil for nil.
func Error(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := URLs(msg)
	if len(secrets) > 0 {
		clean = Secrets(msg, secrets...)
	}
	if clean != msg {
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
