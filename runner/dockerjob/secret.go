package dockerjob

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/registry"
)

// redacted replaces a secret in a message, as in the register package.
const redacted = "[redacted]"

// authHeader matches the value of a credential-bearing header, however a
// registry echoes it back: "Authorization: Basic …", Go's
// map[Authorization:[Bearer …]], JSON's "X-Registry-Auth":["…"]. A known
// scheme name is kept so the message still says what kind of credential was
// sent. Quotes may be escaped (\"), as in a body the engine quotes with
// %q. Values stop at a quote, backslash, bracket, comma, semicolon or
// space, so the rest of an echoed header list stays readable.
var authHeader = regexp.MustCompile(`(?i)\b((?:proxy-)?authorization|x-registry-auth|x-registry-config)` +
	`((?:\\?")?\s*[:=]\s*\[?(?:\\?")?)((?:basic|bearer|token|digest|negotiate)\s+)?[^\s"'\\\[\],;]+`)

// registryAuth is the X-Registry-Auth value the engine gets for a, and ""
// without credentials.
func registryAuth(a Auth) (string, error) {
	if a.Username == "" && a.Password == "" {
		return "", nil
	}
	data, err := json.Marshal(registry.AuthConfig{Username: a.Username, Password: a.Password, ServerAddress: a.ServerAddress})
	if err != nil {
		return "", err
	}
	return base64.URLEncoding.EncodeToString(data), nil
}

// secrets lists every form in which a's password can come back from the
// engine: raw; escaped as Go's %q, JSON and URL encoding do when a message
// quotes a registry's body; as the base64 user:password of HTTP Basic auth;
// as the X-Registry-Auth header we send. The username and server are not
// secret and stay in messages.
func (a Auth) secrets() []string {
	if a.Password == "" {
		return nil
	}
	p := a.Password
	goq := strconv.Quote(p)
	jsq, _ := json.Marshal(p) // a string always marshals
	basic := []byte(a.Username + ":" + p)
	out := []string{
		p,
		goq[1 : len(goq)-1],
		string(jsq[1 : len(jsq)-1]),
		url.QueryEscape(p),
		url.PathEscape(p),
		base64.StdEncoding.EncodeToString(basic),
		base64.URLEncoding.EncodeToString(basic),
		base64.RawStdEncoding.EncodeToString(basic),
	}
	if ra, err := registryAuth(a); err == nil && ra != "" {
		raw, _ := base64.URLEncoding.DecodeString(ra)
		out = append(out, ra, base64.StdEncoding.EncodeToString(raw), string(raw))
	}
	return out
}

// scrub removes a's credentials and any credential header value from an
// engine or registry message. Longer secrets go first: the X-Registry-Auth
// JSON holds the raw password, and replacing that first would leave the
// rest of the JSON behind.
func scrub(s string, a Auth) string {
	// Headers first, while their values are whole.
	s = authHeader.ReplaceAllString(s, "${1}${2}${3}"+redacted)
	secrets := a.secrets()
	slices.SortFunc(secrets, func(x, y string) int { return len(y) - len(x) })
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, redacted)
		}
	}
	return s
}

// scrubErr returns err with a's credentials scrubbed from its message, or
// err itself when there was nothing to scrub.
//
// A registry that echoes request headers in an error body (some proxies and
// misconfigured registries do) makes the engine quote our Authorization
// header, and with it the password, in the pull error; the hook prints that
// error into the job's log, which the job's readers see.
func scrubErr(err error, a Auth) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if s := scrub(msg, a); s != msg {
		return scrubbedError{msg: s, err: err}
	}
	return err
}

// scrubbedError shows a scrubbed message and unwraps to the engine's own
// error, so errors.Is, errors.As and cerrdefs.IsNotFound answer as before.
// That error still holds the secret: code that walks the chain may
// classify it but must print only Error() of the outermost error.
type scrubbedError struct {
	msg string
	err error
}

func (e scrubbedError) Error() string { return e.msg }
func (e scrubbedError) Unwrap() error { return e.err }
