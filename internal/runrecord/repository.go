package runrecord

import (
	"net/url"
	"strings"

	"github.com/mlci/mlci/internal/forge/redact"
)

// Repository names the repository a run's commit is in, for
// externalParameters.repository: in CI the forge's own URL of the project
// (GitHub's GITHUB_SERVER_URL and GITHUB_REPOSITORY, GitLab's
// CI_PROJECT_URL), else what RemoteURL makes of remote(), the origin
// remote's URL; "" when neither names one. remote is called only when the
// environment does not say.
func Repository(getenv func(string) string, remote func() string) string {
	if r := getenv("GITHUB_REPOSITORY"); r != "" {
		server := strings.TrimSuffix(getenv("GITHUB_SERVER_URL"), "/")
		if server == "" {
			server = "https://github.com"
		}
		return server + "/" + r
	}
	if u := getenv("CI_PROJECT_URL"); u != "" {
		return RemoteURL(u)
	}
	if remote == nil {
		return ""
	}
	return RemoteURL(remote())
}

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
