package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// CreateTag makes the annotated tag t at commit with message msg. An
// existing tag is an error wrapping ErrExists: registry history is never
// rewritten.
func CreateTag(ctx context.Context, dir string, t Tag, commit string, msg string) error {
	if !t.valid() {
		return fmt.Errorf("tag %q is not in GTO's grammar; use names like my-model and stages like prod", t.String())
	}
	name := t.String()
	if _, err := git(ctx, dir, nil, "rev-parse", "--quiet", "--verify", "refs/tags/"+name); err == nil {
		return fmt.Errorf("tag %s: %w; registry tags are never overwritten", name, ErrExists)
	}
	// whitespace cleanup keeps lines starting with "#", which the default
	// would strip.
	if _, err := git(ctx, dir, nil, "tag", "-a", "--cleanup=whitespace", name, commit, "-m", msg); err != nil {
		var ge *gitError
		if errors.As(err, &ge) && strings.Contains(ge.stderr, "already exists") {
			return fmt.Errorf("tag %s: %w; registry tags are never overwritten", name, ErrExists)
		}
		return fmt.Errorf("creating tag %s: %w", name, err)
	}
	return nil
}

// Push pushes the named tags atomically, so a set of tags lands together or
// not at all. A tag that already exists on the remote gives ErrConflict.
func Push(ctx context.Context, dir, remote string, names []string) error {
	if len(names) == 0 {
		return nil
	}
	args := []string{"push", "--porcelain", "--atomic", remote}
	for _, n := range names {
		args = append(args, "refs/tags/"+n)
	}
	out, err := git(ctx, dir, nil, args...)
	if err == nil {
		return nil
	}
	// --porcelain reports each ref's fate on stdout. A racer that lost by a
	// moment sees only "failed to update ref", so ask the remote whether
	// the tag is now there.
	conflict := ""
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "!") && strings.Contains(line, "already exists") {
			conflict = strings.TrimSpace(line)
		}
	}
	if conflict == "" {
		conflict = takenRemotely(ctx, dir, remote, names)
	}
	if conflict != "" {
		return fmt.Errorf("pushing %s to %s: %w: %s", strings.Join(names, " "), remote, ErrConflict, conflict)
	}
	return fmt.Errorf("pushing %s to %s (check the remote and push rights): %w", strings.Join(names, " "), remote, err)
}

// Promote assigns stage to a registered version with the artifact's next
// counter and pushes the tag. When another run pushes the same counter
// first, the local tag is dropped and the counter recomputed, up to
// attempts times; nothing is ever overwritten.
func Promote(ctx context.Context, dir, remote, artifact, stage, version string, rec Record, attempts int) (Tag, error) {
	attempts = max(attempts, 1)
	rec.Version = version
	var lastErr error
	for range attempts {
		if err := refetch(ctx, dir, remote); err != nil {
			return Tag{}, err
		}
		events, err := Events(ctx, dir)
		if err != nil {
			return Tag{}, err
		}
		m := State(events)[artifact]
		var v Version
		ok := false
		if m != nil {
			v, ok = m.version(version)
		}
		if !ok {
			return Tag{}, fmt.Errorf("%s %s is %w; run mlci model register", artifact, version, ErrNotRegistered)
		}
		t := Tag{Artifact: artifact, Stage: stage, Counter: m.NextCounter(), Kind: KindAssignment}
		if lastErr = createAndPush(ctx, dir, remote, t, v.Commit, FormatMessage(t, rec)); lastErr == nil {
			return t, nil
		}
		if !errors.Is(lastErr, ErrConflict) && !errors.Is(lastErr, ErrExists) {
			return Tag{}, lastErr
		}
	}
	return Tag{}, fmt.Errorf("promoting %s %s to %s: gave up after %d attempts; retry later: %w", artifact, version, stage, attempts, lastErr)
}

// Register tags commit as a new version of artifact and pushes the tag.
// The tag has no counter, as GTO's register writes it.
func Register(ctx context.Context, dir, remote, artifact, version, commit string, rec Record) (Tag, error) {
	if _, ok := parseSemver(version); !ok {
		return Tag{}, fmt.Errorf("version %q is not semver; use a form like v1.2.3", version)
	}
	if err := refetch(ctx, dir, remote); err != nil {
		return Tag{}, err
	}
	events, err := Events(ctx, dir)
	if err != nil {
		return Tag{}, err
	}
	if m := State(events)[artifact]; m != nil {
		if _, ok := m.version(version); ok {
			return Tag{}, fmt.Errorf("%s %s: %w; register the next version instead", artifact, version, ErrExists)
		}
	}
	out, err := git(ctx, dir, nil, "rev-parse", "--verify", "--quiet", commit+"^{commit}")
	if err != nil {
		return Tag{}, fmt.Errorf("commit %s not found; fetch it first: %w", commit, err)
	}
	commit = strings.TrimSpace(string(out))
	rec.Version = version
	t := Tag{Artifact: artifact, Version: version, Kind: KindRegistration}
	if err := createAndPush(ctx, dir, remote, t, commit, FormatMessage(t, rec)); err != nil {
		return Tag{}, err
	}
	return t, nil
}

// createAndPush removes the local tag again when the push fails, so a
// retry or a later refetch sees the remote's tag, not ours.
func createAndPush(ctx context.Context, dir, remote string, t Tag, commit, msg string) error {
	if err := CreateTag(ctx, dir, t, commit, msg); err != nil {
		return err
	}
	if remote == "" {
		return nil // a registry in this clone only
	}
	if err := Push(ctx, dir, remote, []string{t.String()}); err != nil {
		if _, derr := git(ctx, dir, nil, "tag", "-d", t.String()); derr != nil {
			return errors.Join(err, fmt.Errorf("removing local tag %s after the failed push: %w", t.String(), derr))
		}
		return err
	}
	return nil
}

// takenRemotely names the first tag that exists on the remote as another
// object than ours, or returns "".
func takenRemotely(ctx context.Context, dir, remote string, names []string) string {
	args := []string{"ls-remote", "--tags", remote}
	for _, n := range names {
		args = append(args, "refs/tags/"+n)
	}
	out, err := git(ctx, dir, nil, args...)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		oid, ref, ok := strings.Cut(line, "\t")
		name, isTag := strings.CutPrefix(ref, "refs/tags/")
		if !ok || !isTag || !slices.Contains(names, name) {
			continue
		}
		local, err := git(ctx, dir, nil, "rev-parse", "--verify", "--quiet", "refs/tags/"+name)
		if err != nil || strings.TrimSpace(string(local)) != oid {
			return name + " exists on the remote"
		}
	}
	return ""
}
