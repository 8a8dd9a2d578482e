package registry

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// profilePrefix keeps the blobs that registrations' profiles name
// reachable and fetchable: one ref per blob, pushed atomically with the
// registration tag, so a version never names a profile the remote lacks.
const profilePrefix = "refs/mlci/profiles/"

// blobScheme prefixes a profile kept as a git blob in Record.Profile.
const blobScheme = "git:"

// WriteBlob stores data as a git blob and returns the value a Record's
// Profile takes ("git:" and the object id); content-addressed, so the same
// profile is one object however often it is registered.
func WriteBlob(ctx context.Context, dir string, data []byte) (string, error) {
	out, err := git(ctx, dir, strings.NewReader(string(data)), "hash-object", "-w", "--stdin")
	if err != nil {
		return "", fmt.Errorf("storing a profile in git: %w", err)
	}
	return blobScheme + strings.TrimSpace(string(out)), nil
}

// blobRef is the ref that keeps a profile blob.
func blobRef(artifact, profile string) (ref, bool) {
	oid, ok := strings.CutPrefix(profile, blobScheme)
	if !ok || oid == "" {
		return ref{}, false
	}
	return ref{profilePrefix + claimName(artifact) + "/" + oid, oid}, true
}

// ReadBlob returns the profile blob a Record names, fetching it from
// remote when this clone lacks it; a blob over limit bytes is refused
// before it is read, since whoever can push tags chose it.
func ReadBlob(ctx context.Context, dir, remote, artifact, profile string, limit int64) ([]byte, error) {
	r, ok := blobRef(artifact, profile)
	if !ok {
		return nil, fmt.Errorf("profile %q is not a git blob this mlci reads", profile)
	}
	if _, err := git(ctx, dir, nil, "cat-file", "-e", r.oid); err != nil && remote != "" {
		if _, err := git(ctx, dir, nil, "fetch", "--quiet", remote, "+"+r.name+":"+r.name); err != nil {
			return nil, fmt.Errorf("fetching the profile %s of %s: %w", r.oid, artifact, err)
		}
	}
	size, err := git(ctx, dir, nil, "cat-file", "-s", r.oid)
	if err != nil {
		return nil, fmt.Errorf("the profile %s of %s is not in this repository (was the registration pushed?): %w", r.oid, artifact, err)
	}
	if n, err := strconv.ParseInt(strings.TrimSpace(string(size)), 10, 64); err != nil || n > limit {
		return nil, fmt.Errorf("the profile %s of %s is %s bytes, over the %d MiB a profile may have", r.oid, artifact, strings.TrimSpace(string(size)), limit>>20)
	}
	out, err := git(ctx, dir, nil, "cat-file", "blob", r.oid)
	if err != nil {
		return nil, fmt.Errorf("the profile %s of %s is not in this repository (was the registration pushed?): %w", r.oid, artifact, err)
	}
	return out, nil
}
