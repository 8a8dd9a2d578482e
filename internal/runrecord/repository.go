package runrecord

import (
	"net/url"
	"strings"

	"github.com/mlci/mlci/internal/forge/redact"
)

// RemoteURL is a git remote's URL as a record may carry it: without the
// credentials a CI checkout puts in it (https://gitlab-ci-token:TOKEN@host),
// or the user of an scp-like address (git@host:path becomes host:path),
// and without a trailing ".git", so that it reads as the forge writes the
// project's URL. A local path or file:// URL names no repository anyone
// else can reach, and gives "".
func RemoteURL(raw string) string {
	raw = strings.TrimSpace(raw)
	if i := strings.Index(raw, "://"); i > 0 {
		u, err := url.Parse(raw)
		if err != nil {
			// Unparsable: keep what it says, never its credentials.
			return trimGit(redact.URL(raw))
		}
		if u.Scheme == "file" || u.Host == "" {
			return ""
		}
		u.User = nil
		return trimGit(u.String())
	}
	// scp-like [user@]host:path; a colon after a slash is in a local path.
	colon := strings.Index(raw, ":")
	if colon <= 0 || strings.Contains(raw[:colon], "/") {
		return ""
	}
	if at := strings.LastIndex(raw[:colon], "@"); at >= 0 {
		raw = raw[at+1:]
	}
	return trimGit(raw)
}

func trimGit(s string) string {
	return strings.TrimSuffix(strings.TrimSuffix(s, "/"), ".git")
}
