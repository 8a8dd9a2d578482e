package remote

import (
	"github.com/mlci/mlci/internal/scheme"

	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/mlci/mlci/internal/forge/redact"
)

// Options say how a store reaches its server. The zero value reads no
// environment and uses anonymous access.
type Options struct {
	// Getenv reads the AWS_* variables an s3:// store takes its endpoint,
	// region and keys from; nil reads nothing. The CLI passes os.Getenv,
	// so this package never reads the environment itself.
	Getenv func(string) string
	// Credential gives the username and password for an oci:// registry
	// host; nil, or both "", means anonymous access.
	Credential func(host string) (username, password string, err error)
	// Transport carries the stores' HTTP requests; nil means a clone of
	// http.DefaultTransport. Tests put fault injection here.
	Transport http.RoundTripper
}

func (o Options) getenv(k string) string {
	if o.Getenv == nil {
		return ""
	}
	return o.Getenv(k)
}

func (o Options) transport() http.RoundTripper {
	if o.Transport != nil {
		return o.Transport
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	// A server that never answers fails the attempt, which is retried,
	// instead of hanging the job. It does not bound a long transfer.
	t.ResponseHeaderTimeout = 30 * time.Second
	t.MaxIdleConnsPerHost = 64 // Push and Pull keep many requests in flight
	// Objects are mostly compressed or random data: asking servers to gzip
	// them costs their CPU and ours for nothing, as minio-go's own
	// transport knows.
	t.DisableCompression = true
	return t
}

// Scheme is one form of remote value, such as s3://BUCKET/PREFIX. A store is
// added by adding its Scheme to the list Schemes returns; the list is built
// on each call, so nothing registers itself and tests can open stores
// through their own lists with OpenWith.
type Scheme struct {
	// Prefix starts every value of this scheme and is cut off before Open
	// sees it.
	Prefix string
	// Form is how a value is written, for messages: "s3://BUCKET/PREFIX".
	Form string
	// Open opens the store that rest, the value after Prefix, names.
	// Relative paths in rest are relative to root, the project's root.
	Open func(ctx context.Context, rest, root string, opt Options) (Store, error)
	// Check refuses what Open would refuse of rest without touching the
	// network or the disk, so a config can be checked where it is read.
	Check func(rest string) error
}

// The prefixes of the schemes in Schemes.
const (
	localPrefix = "local:"
	s3Prefix    = "s3://"
	ociPrefix   = "oci://"
)

// Schemes returns the stores mlci knows, in the order messages list them.
func Schemes() []Scheme {
	return []Scheme{
		{Prefix: localPrefix, Form: localPrefix + "PATH", Open: openLocal, Check: checkLocal},
		{Prefix: s3Prefix, Form: s3Prefix + "BUCKET/PREFIX", Open: openS3, Check: checkS3},
		{Prefix: ociPrefix, Form: ociPrefix + "REGISTRY/REPO", Open: openOCI, Check: checkOCI},
	}
}

// Open opens the store spec names: a value of one of Schemes' forms, or a
// plain path, which is a local store.
func Open(ctx context.Context, spec, root string, opt Options) (Store, error) {
	return OpenWith(ctx, Schemes(), spec, root, opt)
}

// OpenWith opens the store spec names through the scheme in schemes whose
// Prefix starts spec; a value with no "scheme:" or "scheme://" is a path for
// the "local:" scheme. Errors never hold credentials written into spec.
func OpenWith(ctx context.Context, schemes []Scheme, spec, root string, opt Options) (Store, error) {
	sc, rest, err := lookup(schemes, spec)
	if err != nil {
		return nil, redact.Error(err)
	}
	s, err := sc.Open(ctx, rest, root, opt)
	return s, redact.Error(err)
}

// Check refuses a spec Open would refuse for its form (an unknown scheme,
// credentials in the URL, a malformed option), without opening anything.
// Errors never hold credentials written into spec.
func Check(spec string) error {
	return CheckWith(Schemes(), spec)
}

// CheckWith is Check through the schemes in schemes.
func CheckWith(schemes []Scheme, spec string) error {
	sc, rest, err := lookup(schemes, spec)
	if err != nil {
		return redact.Error(err)
	}
	if sc.Check == nil {
		return nil
	}
	return redact.Error(sc.Check(rest))
}

// IsS3 reports whether spec names an s3:// store, the only kind that
// takes an endpoint, a region and a bucket lookup style.
func IsS3(spec string) bool { return strings.HasPrefix(spec, s3Prefix) }

// lookup finds the scheme of spec and returns it with the rest of spec.
// The longest matching prefix wins, whatever the order of the list.
func lookup(schemes []Scheme, spec string) (Scheme, string, error) {
	if found, rest, ok := scheme.Longest(schemes, func(s Scheme) string { return s.Prefix }, spec); ok {
		return found, rest, nil
	}
	if isPath(spec) {
		for _, sc := range schemes {
			if sc.Prefix == localPrefix {
				return sc, spec, nil
			}
		}
	}
	return Scheme{}, "", fmt.Errorf("remote %q: unknown form; use %s", redact.URL(spec), forms(schemes))
}

// isPath reports whether spec reads as a path rather than a URL or an
// unknown scheme: no "name:" before the first slash (so "C:\data" is not a
// path here, but nothing Windows-specific is promised).
func isPath(spec string) bool {
	if spec == "" {
		return false
	}
	before, _, _ := strings.Cut(spec, "/")
	return !strings.Contains(before, ":")
}

// forms lists the schemes' forms as a sentence: "A, B or C".
func forms(schemes []Scheme) string {
	var f []string
	for _, sc := range schemes {
		f = append(f, sc.Form)
	}
	if len(f) < 2 {
		return strings.Join(f, "")
	}
	return strings.Join(f[:len(f)-1], ", ") + " or " + f[len(f)-1]
}

func checkLocal(p string) error {
	if p == "" {
		return fmt.Errorf("remote %q: empty path; use %sPATH", localPrefix, localPrefix)
	}
	return nil
}

func openLocal(_ context.Context, p, root string, _ Options) (Store, error) {
	if err := checkLocal(p); err != nil {
		return nil, err
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(root, p)
	}
	return OpenLocal(p)
}
