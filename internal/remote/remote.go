// Package remote keeps dataset objects (file contents and tree objects) in
// remote stores by digest, and moves them there and back in bulk.
package remote

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"

	"github.com/mlci/mlci/internal/digest"
)

var (
	// ErrNotFound means the store has no object of that digest.
	ErrNotFound = errors.New("object not found")
	// ErrAuth means the store refused the credentials (or their absence);
	// retrying cannot help, and the CLI exits 3 on it.
	ErrAuth = errors.New("remote refused the credentials")
	// ErrDigestMismatch means content did not hash to the digest it was
	// stored or fetched under.
	ErrDigestMismatch = errors.New("content does not match its digest")
	// ErrUnsupported means the store cannot keep objects of a digest's
	// algorithm.
	ErrUnsupported = errors.New("not supported by this store")
	// ErrTransient marks a failure worth retrying: a dropped connection,
	// a timeout, a server error (5xx).
	ErrTransient = errors.New("transient failure")
)

// Store keeps objects by digest. Implementations are safe for concurrent use.
type Store interface {
	// Has reports, for each digest, whether the store holds its object.
	Has(ctx context.Context, digests []digest.Digest) (present []bool, err error)
	// Put stores the size bytes r yields as the object d. It is idempotent,
	// refuses content that does not hash to d, and never leaves a partial
	// object where Has or Get would find it.
	Put(ctx context.Context, d digest.Digest, size int64, r io.Reader) error
	// Get opens the object d, or fails wrapping ErrNotFound. The content is
	// not verified: Pull does that before trusting it.
	Get(ctx context.Context, d digest.Digest) (io.ReadCloser, error)
	// String names the store for messages, without credentials.
	String() string
}

// Object is one object to transfer.
type Object struct {
	Digest digest.Digest
	Size   int64
}

// checkDigest refuses a digest that is not well formed, so that no digest
// can name a path or key outside the store.
func checkDigest(d digest.Digest) error {
	if _, err := digest.Parse(string(d)); err != nil {
		return fmt.Errorf("object %q: %w", d, err)
	}
	return nil
}

// verifier passes r through while hashing it, and at the end turns EOF into
// an error when the size or digest is wrong, so that a store writing what it
// reads fails before it commits the object. size < 0 skips the size check.
type verifier struct {
	r    io.Reader
	d    digest.Digest
	h    hash.Hash
	size int64
	// mu guards the fields below: net/http may still be reading a request
	// body (for its EOF) after the response has come back to the caller.
	mu sync.Mutex
	n  int64
	// verified is set once all the content has been read and matched.
	verified bool
}

func newVerifier(d digest.Digest, size int64, r io.Reader) *verifier {
	return &verifier{r: r, d: d, h: d.Algorithm().New(), size: size}
}

func (v *verifier) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.mu.Lock()
	defer v.mu.Unlock()
	v.h.Write(p[:n])
	v.n += int64(n)
	// A failed check returns no bytes with its error: io.ReadFull, which
	// S3 clients read bodies with, drops the error of a read that fills
	// its buffer, and the upload would go through.
	if v.size >= 0 && v.n > v.size {
		return 0, fmt.Errorf("object %s: more than the %d bytes announced: %w", v.d, v.size, ErrDigestMismatch)
	}
	// Check at the last announced byte as well as at EOF: a client that
	// reads exactly size bytes never asks for the EOF.
	if err == io.EOF || (v.size >= 0 && v.n == v.size && n > 0) {
		if err := v.check(); err != nil {
			return 0, err
		}
		v.verified = true
	}
	return n, err
}

// ok reports whether all the content was read and matched.
func (v *verifier) ok() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.verified
}

// check compares what was read with the size and digest expected.
func (v *verifier) check() error {
	if v.size >= 0 && v.n != v.size {
		return fmt.Errorf("object %s: %d bytes, want %d: %w", v.d, v.n, v.size, ErrDigestMismatch)
	}
	if got := digest.New(v.d.Algorithm(), v.h.Sum(nil)); got != v.d {
		return fmt.Errorf("object %s: content hashes to %s: %w", v.d, got, ErrDigestMismatch)
	}
	return nil
}
