// Package artifact stores model files and directories as OCI artifacts by digest,
// in a local OCI image layout or a registry, so deploy steps can pull them by tag.
package artifact

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/oci"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"

	"github.com/mlci/mlci/internal/forge/redact"
	"github.com/mlci/mlci/internal/forge/retry"
)

// Media types of mlci model artifacts.
const (
	ArtifactType  = "application/vnd.mlci.model.v1"
	MediaTypeFile = "application/vnd.mlci.model.file.v1"
	MediaTypeTar  = "application/vnd.mlci.model.tar.v1"
)

// ErrNotFound is returned (wrapped) by Pull and Tag when the reference does
// not exist in the store.
var ErrNotFound = errors.New("artifact not found")

// Store keeps model artifacts by digest.
type Store interface {
	// Push stores path (file or directory) as one artifact, by digest.
	Push(ctx context.Context, name, path string, annotations map[string]string) (Pushed, error)
	// Tag points tag (e.g. "production", "digits-v1.2.0") at a manifest digest.
	Tag(ctx context.Context, dgst, tag string) error
	// Pull unpacks the artifact that ref (a tag or, better, the manifest
	// digest a registry record holds) names into dir, all or nothing.
	Pull(ctx context.Context, ref, dir string, opt PullOptions) (Pulled, error)
}

// Pushed describes a pushed artifact in terms every store can give, so
// callers record and tag it without knowing how the store keeps it.
type Pushed struct {
	// Ref is where the artifact lives, scheme-qualified and pinned by
	// Digest: "oci-layout:/abs/store@sha256:…", "oci://REGISTRY/REPO@sha256:…".
	Ref string
	// Digest ("alg:hex") names the artifact in its store: what Tag and
	// Pull take and a registration record keeps. For OCI stores it is the
	// manifest's digest, which pins the content's.
	Digest string
	Size   int64 // bytes of content stored: the file, or the tar of the folder
	Files  int   // regular files stored
}

// Pulled describes a pulled artifact.
type Pulled struct {
	Manifest string // manifest digest
	Files    int    // regular files written
}

// Options say how a registry store reaches its server. The zero value
// works: it times out and retries as the forge clients do.
type Options struct {
	// Credential gives the username and password for a registry host;
	// nil, or both "", means anonymous access. Where they come from (mlci's
	// variables, the CI's job tokens) is the caller's to know.
	Credential func(host string) (username, password string, err error)
	// Timeout bounds the wait for each response's headers, so a server that
	// never answers fails the attempt instead of hanging the job; 0 means
	// 30s, the forge clients' bound on an attempt. It is not a bound on a
	// whole transfer: a large layer may take longer to stream.
	Timeout time.Duration
	// Retry is the policy of retry.Transport, the forge clients' retry
	// layer, which every request goes through except a blob upload
	// streamed from a file, which cannot be replayed and goes once.
	Retry retry.Policy
}

// defaultTimeout is the forge clients' attempt timeout.
const defaultTimeout = 30 * time.Second

// Open parses an artifact_store value: "oci-layout:PATH" (relative to base) or "oci://REGISTRY/REPO"; plain-http for 127.0.0.1/localhost registries; credentials from opt.Credential. Unknown schemes -> error listing the two forms.
// Errors never hold credentials written into spec. The forms are those of
// Schemes.
func Open(ctx context.Context, spec, base string, opt Options) (Store, error) {
	return OpenWith(ctx, Schemes(), spec, base, opt)
}

// The prefixes of the OCI schemes in Schemes.
const (
	layoutPrefix   = "oci-layout:"
	registryPrefix = "oci://"
)

// openOCILayout opens (creating it if need be) the OCI layout folder p.
func openOCILayout(ctx context.Context, p, base string, _ Options) (Store, error) {
	if p == "" {
		return nil, fmt.Errorf("artifact_store %q: empty path; use oci-layout:PATH", layoutPrefix)
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(base, p)
	}
	s, err := oci.NewWithContext(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("open OCI layout %s: %w", p, err)
	}
	return &store{target: s, where: p, ref: layoutPrefix + p}, nil
}

// openOCIRegistry opens the repository ref ("REGISTRY/REPO") of a registry.
func openOCIRegistry(ctx context.Context, ref, _ string, opt Options) (Store, error) {
	spec := registryPrefix + ref
	// Whatever the URL holds goes into messages: no credentials.
	if host, _, _ := strings.Cut(ref, "/"); strings.Contains(host, "@") {
		return nil, fmt.Errorf("artifact_store %q: credentials do not go in the URL; set MLCI_REGISTRY_USERNAME and MLCI_REGISTRY_PASSWORD", redact.URL(spec))
	}
	repo, err := remote.NewRepository(ref)
	if err != nil {
		return nil, fmt.Errorf("artifact_store %q: want oci://REGISTRY/REPO: %w", spec, err)
	}
	if repo.Reference.Reference != "" {
		return nil, fmt.Errorf("artifact_store %q: drop the tag or digest; want oci://REGISTRY/REPO", spec)
	}
	host := repo.Reference.Registry
	repo.PlainHTTP = isLoopback(host)
	cred, err := credential(host, opt.Credential)
	if err != nil {
		return nil, err
	}
	repo.Client = &auth.Client{
		Client:     httpClient(opt),
		Cache:      auth.NewCache(),
		Credential: auth.StaticCredential(host, cred),
	}
	return &store{target: repo, where: spec, ref: spec}, nil
}

// httpClient times out and retries as the forge clients do.
func httpClient(opt Options) *http.Client {
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.ResponseHeaderTimeout = cmp.Or(opt.Timeout, defaultTimeout)
	p := opt.Retry
	if p.Logger == nil {
		p.Logger = slog.Default().With("client", "artifact store")
	}
	return &http.Client{Transport: &onceOrRetry{once: base, retry: &retry.Transport{Base: base, Policy: p}}}
}

// onceOrRetry sends a request whose body cannot be replayed (a blob
// streamed from a file) once, and every other through the retry layer,
// which refuses such bodies rather than lose them on a second attempt.
type onceOrRetry struct {
	once  http.RoundTripper
	retry *retry.Transport
}

func (t *onceOrRetry) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return t.once.RoundTrip(req)
	}
	return t.retry.RoundTrip(req)
}

// isLoopback reports whether a registry host (with optional port) is local,
// where registries for tests and development usually serve plain HTTP.
func isLoopback(host string) bool {
	h := host
	if i := strings.LastIndex(h, ":"); i >= 0 && !strings.HasSuffix(h, "]") {
		h = h[:i]
	}
	h = strings.Trim(h, "[]")
	return h == "localhost" || h == "127.0.0.1" || h == "::1"
}

// credential asks get for a registry host's login; a nil get asks no one.
func credential(host string, get func(string) (string, string, error)) (auth.Credential, error) {
	if get == nil {
		return auth.EmptyCredential, nil
	}
	user, pass, err := get(host)
	if err != nil || user == "" && pass == "" {
		return auth.EmptyCredential, err
	}
	return auth.Credential{Username: user, Password: pass}, nil
}

// store implements Store over any oras target: an OCI layout or a remote repository.
type store struct {
	target oras.Target
	where  string // for error messages
	ref    string // the scheme-qualified store, for Pushed.Ref
}

// epoch is the creation time written into manifests so that the same content
// always gives the same manifest digest.
const epoch = "1970-01-01T00:00:00Z"

// Push, Tag and Pull keep credentials out of their errors: a server's
// error can quote the URL it was sent to.

func (s *store) Push(ctx context.Context, name, path string, annotations map[string]string) (Pushed, error) {
	p, err := s.push(ctx, name, path, annotations)
	return p, redact.Error(err)
}

func (s *store) Tag(ctx context.Context, dgst, tag string) error {
	return redact.Error(s.tag(ctx, dgst, tag))
}

func (s *store) Pull(ctx context.Context, ref, dir string, opt PullOptions) (Pulled, error) {
	p, err := s.pull(ctx, ref, dir, opt)
	return p, redact.Error(err)
}

func (s *store) push(ctx context.Context, name, path string, annotations map[string]string) (Pushed, error) {
	info, err := os.Stat(path)
	if err != nil {
		return Pushed{}, fmt.Errorf("push %s: %w", path, err)
	}
	var layer ocispec.Descriptor
	files := 1
	if info.IsDir() {
		layer, files, err = s.pushDir(ctx, path)
	} else if info.Mode().IsRegular() {
		layer, err = s.pushFile(ctx, path)
	} else {
		err = errors.New("not a regular file or directory")
	}
	if err != nil {
		return Pushed{}, fmt.Errorf("push %s to %s: %w", path, s.where, err)
	}
	ann := map[string]string{ocispec.AnnotationCreated: epoch}
	if name != "" {
		ann[ocispec.AnnotationTitle] = name
	}
	maps.Copy(ann, annotations)
	mdesc, err := oras.PackManifest(ctx, s.target, oras.PackManifestVersion1_1, ArtifactType, oras.PackManifestOptions{
		Layers:              []ocispec.Descriptor{layer},
		ManifestAnnotations: ann,
	})
	if err != nil {
		return Pushed{}, fmt.Errorf("push manifest for %s to %s: %w", path, s.where, err)
	}
	return Pushed{Ref: s.ref + "@" + mdesc.Digest.String(), Digest: mdesc.Digest.String(), Size: layer.Size, Files: files}, nil
}

func (s *store) pushFile(ctx context.Context, path string) (ocispec.Descriptor, error) {
	f, err := os.Open(path)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	defer f.Close()
	desc, err := describe(f, MediaTypeFile)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	desc.Annotations = map[string]string{ocispec.AnnotationTitle: filepath.Base(path)}
	return desc, s.pushBlob(ctx, desc, f)
}

// pushDir also returns the number of regular files in the tar.
func (s *store) pushDir(ctx context.Context, dir string) (ocispec.Descriptor, int, error) {
	// The tar goes to a temporary file rather than memory: model directories
	// can be larger than RAM, and the digest must be known before upload.
	tmp, err := os.CreateTemp("", "mlci-artifact-*.tar")
	if err != nil {
		return ocispec.Descriptor{}, 0, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	files, err := writeTar(tmp, dir)
	if err != nil {
		return ocispec.Descriptor{}, 0, err
	}
	desc, err := describe(tmp, MediaTypeTar)
	if err != nil {
		return ocispec.Descriptor{}, 0, err
	}
	desc.Annotations = map[string]string{ocispec.AnnotationTitle: filepath.Base(filepath.Clean(dir))}
	return desc, files, s.pushBlob(ctx, desc, tmp)
}

// describe digests f from the start and rewinds it for upload.
func describe(f *os.File, mediaType string) (ocispec.Descriptor, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return ocispec.Descriptor{}, err
	}
	dg := digest.Canonical.Digester()
	n, err := io.Copy(dg.Hash(), f)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return ocispec.Descriptor{}, err
	}
	return ocispec.Descriptor{MediaType: mediaType, Digest: dg.Digest(), Size: n}, nil
}

func (s *store) pushBlob(ctx context.Context, desc ocispec.Descriptor, r io.Reader) error {
	ok, err := s.target.Exists(ctx, desc)
	if err != nil {
		return fmt.Errorf("check blob %s: %w", desc.Digest, err)
	}
	if ok {
		return nil
	}
	if err := s.target.Push(ctx, desc, r); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
		return fmt.Errorf("upload blob %s: %w", desc.Digest, err)
	}
	return nil
}

func (s *store) tag(ctx context.Context, dgst, tag string) error {
	if _, err := digest.Parse(dgst); err != nil {
		return fmt.Errorf("tag %s: %q is not a digest (want sha256:…): %w", tag, dgst, err)
	}
	if _, err := oras.Tag(ctx, s.target, dgst, tag); err != nil {
		if errors.Is(err, errdef.ErrNotFound) {
			return fmt.Errorf("tag %s: manifest %s not in %s; push it first: %w: %w", tag, dgst, s.where, ErrNotFound, err)
		}
		return fmt.Errorf("tag %s as %s in %s: %w", dgst, tag, s.where, err)
	}
	return nil
}

func (s *store) pull(ctx context.Context, ref, dir string, opt PullOptions) (Pulled, error) {
	mdesc, err := s.target.Resolve(ctx, ref)
	if err != nil {
		if errors.Is(err, errdef.ErrNotFound) {
			return Pulled{}, fmt.Errorf("pull %q: no such tag or digest in %s; push and tag it first: %w: %w", ref, s.where, ErrNotFound, err)
		}
		return Pulled{}, fmt.Errorf("pull %q from %s: %w", ref, s.where, err)
	}
	if want, err := digest.Parse(ref); err == nil && mdesc.Digest != want {
		return Pulled{}, fmt.Errorf("pull %q: %s answered with manifest %s", ref, s.where, mdesc.Digest)
	}
	layer, err := s.modelLayer(ctx, mdesc)
	if err != nil {
		return Pulled{}, fmt.Errorf("pull %q from %s: %w", ref, s.where, err)
	}
	rc, err := s.target.Fetch(ctx, layer)
	if err != nil {
		return Pulled{}, fmt.Errorf("pull %q: fetch layer %s: %w", ref, layer.Digest, err)
	}
	defer rc.Close()
	// The verifying reader fails the pull unless the bytes hash to the
	// manifest's digest, so a tampered layer never replaces files in dir.
	n, err := unpack(dir, layer, content.NewVerifyReader(rc, layer), opt)
	if err != nil {
		return Pulled{}, fmt.Errorf("pull %q into %s: %w", ref, dir, err)
	}
	return Pulled{Manifest: mdesc.Digest.String(), Files: n}, nil
}

// modelLayer fetches and checks the manifest and returns its single model layer.
func (s *store) modelLayer(ctx context.Context, mdesc ocispec.Descriptor) (ocispec.Descriptor, error) {
	if mdesc.MediaType != ocispec.MediaTypeImageManifest {
		return ocispec.Descriptor{}, fmt.Errorf("%s is a %s, not an mlci model artifact", mdesc.Digest, mdesc.MediaType)
	}
	raw, err := content.FetchAll(ctx, s.target, mdesc)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("fetch manifest %s: %w", mdesc.Digest, err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("parse manifest %s: %w", mdesc.Digest, err)
	}
	if m.ArtifactType != ArtifactType || len(m.Layers) != 1 {
		return ocispec.Descriptor{}, fmt.Errorf("manifest %s is not an mlci model artifact (artifactType %q, %d layers; want %q with 1 layer)",
			mdesc.Digest, m.ArtifactType, len(m.Layers), ArtifactType)
	}
	l := m.Layers[0]
	if l.MediaType != MediaTypeFile && l.MediaType != MediaTypeTar {
		return ocispec.Descriptor{}, fmt.Errorf("manifest %s: unknown layer media type %q; upgrade mlci", mdesc.Digest, l.MediaType)
	}
	return l, nil
}
