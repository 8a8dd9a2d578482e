package config

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/mlci/mlci/internal/forge/redact"
	"github.com/mlci/mlci/internal/remote"
)

// Remote is one entry under remotes:, a store that mlci data push, pull and
// check --remote move dataset objects to and from. Credentials are never
// written here: S3 takes them from AWS_* variables, a registry from the
// registry credentials mlci reads for artifacts.
type Remote struct {
	Name string `yaml:"name"`
	// URL is any form internal/remote opens: local:PATH (or a plain path,
	// relative to the project root), s3://BUCKET/PREFIX or
	// oci://REGISTRY/REPO.
	URL string `yaml:"url"`
	// Endpoint, Region and PathStyle are for s3:// only: the server
	// (http(s)://HOST[:PORT]; unset means AWS_ENDPOINT_URL, else AWS), its
	// region (unset means AWS_REGION) and whether buckets are addressed in
	// the path, as most S3-compatible servers want, rather than the host.
	Endpoint  string `yaml:"endpoint"`
	Region    string `yaml:"region"`
	PathStyle *bool  `yaml:"path_style"`
	// Default makes this the remote used without --remote; without one
	// marked, the first remote is the default.
	Default bool `yaml:"default"`
	Line    int  `yaml:"-"`
}

// Spec is the value remote.Open takes for r: its URL with the S3 settings
// added to the query.
func (r Remote) Spec() string {
	if r.Endpoint == "" && r.Region == "" && r.PathStyle == nil {
		return r.URL
	}
	base, query, _ := strings.Cut(r.URL, "?")
	q, _ := url.ParseQuery(query) // checkRemotes parsed it already
	if r.Endpoint != "" {
		q.Set("endpoint", r.Endpoint)
	}
	if r.Region != "" {
		q.Set("region", r.Region)
	}
	if r.PathStyle != nil {
		q.Set("path_style", strconv.FormatBool(*r.PathStyle))
	}
	return base + "?" + q.Encode()
}

// DefaultRemote is the remote marked default: true, else the first; ok is
// false when none is configured.
func (c *Config) DefaultRemote() (Remote, bool) {
	for _, r := range c.Remotes {
		if r.Default {
			return r, true
		}
	}
	if len(c.Remotes) == 0 {
		return Remote{}, false
	}
	return c.Remotes[0], true
}

// Remote returns the remote called name.
func (c *Config) Remote(name string) (Remote, bool) {
	for _, r := range c.Remotes {
		if r.Name == name {
			return r, true
		}
	}
	return Remote{}, false
}

// RemoteNames lists the configured remotes' names in config order.
func (c *Config) RemoteNames() []string {
	names := make([]string, len(c.Remotes))
	for i, r := range c.Remotes {
		names[i] = r.Name
	}
	return names
}

// validRemoteName reports whether name can be typed after --remote and
// shown in messages without quoting.
func validRemoteName(name string) bool {
	if name == "" || name[0] == '-' {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func (c *Config) checkRemotes(pos map[string]*yaml.Node, at func(p, msg string, args ...any) error) error {
	names := map[string]int{}
	defaults := -1
	for i := range c.Remotes {
		r := &c.Remotes[i]
		p := fmt.Sprintf("remotes[%d]", i)
		if n := pos[p]; n != nil {
			r.Line = n.Line
		}
		if !validRemoteName(r.Name) {
			if r.Name == "" {
				return at(p, `%s has no name; set "name:" (letters, digits, ".", "_" and "-")`, p)
			}
			return at(p+".name", "remote name %q: use letters, digits, \".\", \"_\" and \"-\", not starting with \"-\"", r.Name)
		}
		if j, ok := names[r.Name]; ok {
			return at(p, "remote name %q is used twice (lines %d and %d); give each remote a unique name", r.Name, c.Remotes[j].Line, r.Line)
		}
		names[r.Name] = i
		if strings.TrimSpace(r.URL) == "" {
			return at(p, `remote %s has no url; set "url:" to local:PATH, s3://BUCKET/PREFIX or oci://REGISTRY/REPO`, r.Name)
		}
		s3 := remote.IsS3(r.URL)
		if !s3 && (r.Endpoint != "" || r.Region != "" || r.PathStyle != nil) {
			return at(p, "remote %s: endpoint, region and path_style are for s3:// remotes only", r.Name)
		}
		if s3 {
			_, query, _ := strings.Cut(r.URL, "?")
			q, err := url.ParseQuery(query)
			if err != nil {
				return at(p+".url", "remote %s: url %s: bad query: %v", r.Name, redact.URL(r.URL), err)
			}
			for _, f := range []struct {
				key string
				set bool
			}{{"endpoint", r.Endpoint != ""}, {"region", r.Region != ""}, {"path_style", r.PathStyle != nil}} {
				if f.set && q.Has(f.key) {
					return at(p+"."+f.key, "remote %s: %s is set both here and in the url; keep one", r.Name, f.key)
				}
			}
		}
		if err := remote.Check(r.Spec()); err != nil {
			return at(p+".url", "remote %s: %v", r.Name, err)
		}
		if r.Default {
			if defaults >= 0 {
				return at(p+".default", "remotes %s and %s are both marked default: true; mark one", c.Remotes[defaults].Name, r.Name)
			}
			defaults = i
		}
	}
	return nil
}
