package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"

	godigest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/mlci/mlci/internal/digest"
)

// OCI keeps each object as a blob of one repository of an OCI registry,
// untagged and unreferenced: registries that collect unreferenced blobs
// will delete them, so this suits registries that do not, such as
// distribution with garbage collection off.
type OCI struct {
	blobs registry.BlobStore
	where string
}

// mediaTypeObject labels the blobs, though registries ignore it for blobs.
const mediaTypeObject = "application/vnd.mlci.data.object.v1"

// checkOCI refuses what openOCI would; building a client does no I/O.
func checkOCI(ref string) error {
	_, err := openOCI(context.Background(), ref, "", Options{})
	return err
}

// openOCI opens the repository ref ("REGISTRY/REPO") of a registry;
// loopback registries are spoken to in plain HTTP, as in development.
func openOCI(_ context.Context, ref, _ string, opt Options) (Store, error) {
	spec := ociPrefix + ref
	if host, _, _ := strings.Cut(ref, "/"); strings.Contains(host, "@") {
		return nil, fmt.Errorf("remote %q: credentials do not go in the URL; pass them through the registry credential settings", spec)
	}
	repo, err := remote.NewRepository(ref)
	if err != nil {
		return nil, fmt.Errorf("remote %q: want %sREGISTRY/REPO: %w", spec, ociPrefix, err)
	}
	if repo.Reference.Reference != "" {
		return nil, fmt.Errorf("remote %q: drop the tag or digest; want %sREGISTRY/REPO", spec, ociPrefix)
	}
	host := repo.Reference.Registry
	repo.PlainHTTP = isLoopback(host)
	cred := auth.EmptyCredential
	if opt.Credential != nil {
		user, pass, err := opt.Credential(host)
		if err != nil {
			return nil, fmt.Errorf("remote %q: credentials: %w", spec, err)
		}
		if user != "" || pass != "" {
			cred = auth.Credential{Username: user, Password: pass}
		}
	}
	repo.Client = &auth.Client{
		Client:     &http.Client{Transport: opt.transport()},
		Cache:      auth.NewCache(),
		Credential: auth.StaticCredential(host, cred),
	}
	return &OCI{blobs: repo.Blobs(), where: spec}, nil
}

// isLoopback reports whether a registry host (with optional port) is local.
func isLoopback(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(h, "[]"))
	return ip != nil && ip.IsLoopback()
}

func (o *OCI) String() string { return o.where }

// blobDigest converts d, refusing algorithms registries do not take: the
// OCI image spec names sha256 and sha512 only.
func (o *OCI) blobDigest(d digest.Digest) (godigest.Digest, error) {
	if err := checkDigest(d); err != nil {
		return "", err
	}
	if d.Algorithm() != digest.SHA256 {
		return "", fmt.Errorf("%s: object %s: %s digests %w; hash datasets kept in a registry with sha256", o, d.Short(), d.Algorithm(), ErrUnsupported)
	}
	return godigest.Digest(d), nil
}

// Has sends one HEAD per object, a bounded number at a time.
func (o *OCI) Has(ctx context.Context, digests []digest.Digest) ([]bool, error) {
	present := make([]bool, len(digests))
	descs := make([]ocispec.Descriptor, len(digests))
	for i, d := range digests {
		bd, err := o.blobDigest(d)
		if err != nil {
			return nil, err
		}
		descs[i] = ocispec.Descriptor{MediaType: mediaTypeObject, Digest: bd}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, hasConcurrency)
	var wg sync.WaitGroup
	for i := range descs {
		sem <- struct{}{}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			ok, err := o.blobs.Exists(ctx, descs[i])
			if err != nil {
				cancel(fmt.Errorf("%s: has %s: %w", o, digests[i].Short(), classifyOCI(err)))
			}
			present[i] = ok
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return present, nil
}

// Put uploads the blob through a verifier. The registry checks the digest
// too, and a blob exists only once its upload is committed, so a refused
// object never appears.
func (o *OCI) Put(ctx context.Context, d digest.Digest, size int64, r io.Reader) error {
	bd, err := o.blobDigest(d)
	if err != nil {
		return err
	}
	desc := ocispec.Descriptor{MediaType: mediaTypeObject, Digest: bd, Size: size}
	v := newVerifier(d, size, r)
	if err := o.blobs.Push(ctx, desc, v); err != nil {
		if errors.Is(err, ErrDigestMismatch) {
			return fmt.Errorf("%s: put %s: %w", o, d.Short(), err)
		}
		if errors.Is(err, errdef.ErrAlreadyExists) {
			return nil
		}
		return fmt.Errorf("%s: put %s: %w", o, d.Short(), classifyOCI(err))
	}
	return nil
}

// Get fetches the blob by digest.
func (o *OCI) Get(ctx context.Context, d digest.Digest) (io.ReadCloser, error) {
	bd, err := o.blobDigest(d)
	if err != nil {
		return nil, err
	}
	_, rc, err := o.blobs.FetchReference(ctx, bd.String())
	if err != nil {
		return nil, fmt.Errorf("%s: get %s: %w", o, d.Short(), classifyOCI(err))
	}
	return &transientReader{ReadCloser: rc}, nil
}

// classifyOCI wraps a registry error in the sentinel that says what to do
// about it.
func classifyOCI(err error) error {
	var resp *errcode.ErrorResponse
	if errors.As(err, &resp) {
		switch {
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			return fmt.Errorf("%s (check the registry username and password): %w", http.StatusText(resp.StatusCode), ErrAuth)
		case resp.StatusCode == http.StatusNotFound:
			return fmt.Errorf("%w", ErrNotFound)
		case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
			return fmt.Errorf("%w: %w", ErrTransient, err)
		}
	}
	if errors.Is(err, auth.ErrBasicCredentialNotFound) {
		return fmt.Errorf("the registry asks for a username and password, and none was given: %w", ErrAuth)
	}
	if errors.Is(err, errdef.ErrNotFound) {
		return fmt.Errorf("%w", ErrNotFound)
	}
	return transient(err)
}
