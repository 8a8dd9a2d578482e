package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mlci/mlci/internal/gitrepo"
)

// claimPrefix holds one ref per counter an assignment took, pushed
// atomically with its tag. Two promotions of one model to different stages
// write different tag names, so only the claim, named by model and counter,
// makes the second one's push fail and retry with the next counter. GTO
// reads refs/tags only and never sees these.
const claimPrefix = "refs/mlci/counters/"

// claimRef is the claim of counter c of artifact.
func claimRef(artifact string, c Counter) string {
	return claimPrefix + claimName(artifact) + "#" + string(c)
}

// claimName keeps a model name in one ref component: "/" would make
// directories, which clash between models "a" and "a/b", and "." may not
// start a component.
func claimName(artifact string) string {
	return strings.NewReplacer("%", "%25", "/", "%2F", ".", "%2E", sepInName, sepInTag).Replace(artifact)
}

// ref is a ref to create, with the object it will point at.
type ref struct{ name, oid string }

// Register tags commit as a new version of artifact and pushes the tag.
// The tag has no counter, as GTO's register writes it. As GTO does, it
// refuses a second version on a commit and a version name used before.
func Register(ctx context.Context, dir, remote, artifact, version, commit string, rec Record) (Tag, error) {
	if _, ok := parseSemver(version); !ok {
		return Tag{}, fmt.Errorf("version %q is not semver; use a form like v1.2.3", version)
	}
	if err := refetch(ctx, dir, remote, ""); err != nil {
		return Tag{}, err
	}
	events, err := Events(ctx, dir)
	if err != nil {
		return Tag{}, err
	}
	out, err := git(ctx, dir, nil, "rev-parse", "--verify", "--quiet", commit+"^{commit}")
	if err != nil {
		return Tag{}, fmt.Errorf("commit %s not found; fetch it first: %w", commit, err)
	}
	commit = strings.TrimSpace(string(out))
	t := Tag{Artifact: artifact, Version: version, Kind: KindRegistration}
	if m := State(events)[artifact]; m != nil {
		if err := m.canRegister(version, commit); err != nil {
			return Tag{}, err
		}
	}
	if err := tagTaken(events, t); err != nil {
		return Tag{}, err
	}
	rec.Version = version
	tagger, _, err := taggerIdent(ctx, dir)
	if err != nil {
		return Tag{}, err
	}
	oid, err := writeTag(ctx, dir, t, commit, tagger, FormatMessage(t, rec))
	if err != nil {
		return Tag{}, err
	}
	refs := []ref{{"refs/tags/" + t.String(), oid}}
	if r, ok := blobRef(artifact, rec.Profile); ok {
		refs = append(refs, r)
	}
	if err := publish(ctx, dir, remote, refs); err != nil {
		return Tag{}, err
	}
	return t, nil
}

// canRegister is GTO's register check: the model is not deprecated, the
// commit has no version (VersionExistsForCommit), and the version name was
// never used (VersionAlreadyRegistered).
func (m *Model) canRegister(version, commit string) error {
	if err := m.DeprecatedError(); err != nil {
		return err
	}
	for _, r := range m.registrations {
		if r.Commit != commit {
			continue
		}
		if r.active() {
			return refuse(ErrExists, "%s is already registered at commit %s with version %s; GTO allows one version per commit: promote %s, or commit again and register that",
				m.Name, shortCommit(commit), r.Version.Version, r.Version.Version)
		}
		return refuse(ErrExists, "%s %s was registered at commit %s and deregistered since; GTO allows no other version there", m.Name, r.Version.Version, shortCommit(commit))
	}
	for _, r := range m.registrations {
		if r.Version.Version != version {
			continue
		}
		if r.active() {
			return refuse(ErrExists, "%s %s is already registered, at commit %s; register the next version instead", m.Name, version, shortCommit(r.Commit))
		}
		return refuse(ErrExists, "%s %s was registered before and deregistered since; GTO does not reuse a version, so register another one (--version)", m.Name, version)
	}
	return nil
}

// DeprecatedError is an error matching ErrDeprecated that names the
// deprecation, or nil when the model is not deprecated.
func (m *Model) DeprecatedError() error {
	if !m.Deprecated {
		return nil
	}
	return refuse(ErrDeprecated, "%s is deprecated (tag %s of %s), so it takes no new versions or stages; `gto deprecate %s --delete` revives it",
		m.Name, m.deprecation.Name, m.deprecation.Time.UTC().Format("2006-01-02 15:04"), m.Name)
}

// tagTaken refuses a tag name that exists already, lightweight or not.
func tagTaken(events []Event, t Tag) error {
	name := t.String()
	for _, e := range events {
		if e.Name == name {
			return refuse(ErrExists, "tag %s already exists; registry tags are never overwritten", name)
		}
	}
	return nil
}

// Promote assigns stage to a registered version with the artifact's next
// counter and pushes the tag with a claim of the counter. When another run
// takes the counter first, it refetches and retries with the next one, up
// to attempts times; nothing is ever overwritten.
func Promote(ctx context.Context, dir, remote, artifact, stage, version string, rec Record, attempts int) (Tag, error) {
	attempts = max(attempts, 1)
	rec.Version = version
	var floor Counter
	var lastErr error
	for range attempts {
		t, err := promoteOnce(ctx, dir, remote, artifact, stage, version, rec, floor)
		if err == nil {
			return t, nil
		}
		if !errors.Is(err, ErrConflict) && !errors.Is(err, ErrExists) {
			return Tag{}, err
		}
		lastErr, floor = err, t.Counter
	}
	return Tag{}, fmt.Errorf("promoting %s %s to %s: gave up after %d attempts; retry later: %w", artifact, version, stage, attempts, lastErr)
}

// promoteOnce makes one attempt with a counter above floor; on a lost race
// it returns the tag it tried with the error.
func promoteOnce(ctx context.Context, dir, remote, artifact, stage, version string, rec Record, floor Counter) (Tag, error) {
	return assign(ctx, dir, remote, artifact, stage, version, rec, floor, nil)
}

// assign writes the assignment tag of version to stage with a counter
// above floor and publishes it with its claim and the extra refs, all or
// none.
func assign(ctx context.Context, dir, remote, artifact, stage, version string, rec Record, floor Counter, extra []ref) (Tag, error) {
	if err := refetch(ctx, dir, remote, claimPrefix+"*"); err != nil {
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
		if err := m.DeprecatedError(); err != nil {
			return Tag{}, err
		}
		v, ok = m.version(version)
	}
	if !ok {
		return Tag{}, fmt.Errorf("%s %s is %w; run mlci model register", artifact, version, ErrNotRegistered)
	}
	counter := m.NextCounter()
	claimed, err := lastClaim(ctx, dir, artifact)
	if err != nil {
		return Tag{}, err
	}
	for _, c := range []Counter{claimed, floor} {
		if c.Next().Compare(counter) > 0 {
			counter = c.Next()
		}
	}
	t := Tag{Artifact: artifact, Stage: stage, Counter: counter, Kind: KindAssignment}
	if err := tagTaken(events, t); err != nil {
		return t, err
	}
	tagger, err := laterTagger(ctx, dir, m, stage)
	if err != nil {
		return Tag{}, err
	}
	oid, err := writeTag(ctx, dir, t, v.Commit, tagger, FormatMessage(t, rec))
	if err != nil {
		return Tag{}, err
	}
	refs := append([]ref{{"refs/tags/" + t.String(), oid}, {claimRef(artifact, counter), oid}}, extra...)
	return t, publishStep(ctx, dir, remote, refs)
}

// laterTagger returns the tagger line for a new tag of stage, dated after
// the stage's latest tag: GTO orders a stage's tags by date, to the second,
// so a tag of the same second might not supersede. A tag dated up to a
// second ahead is waited out; one further ahead means a clock is wrong.
func laterTagger(ctx context.Context, dir string, m *Model, stage string) (string, error) {
	last, name := m.lastStageTime(stage)
	// git dates tags with time(2), which reads the kernel's coarse clock
	// and can lag this process's clock by a tick or more on a loaded
	// machine, so the wait overshoots the second and is tried again.
	const tries = 4
	for try := 0; ; try++ {
		tagger, now, err := taggerIdent(ctx, dir)
		if err != nil {
			return "", err
		}
		if now.After(last) {
			return tagger, nil
		}
		if try == tries-1 || last.Sub(now) > time.Second {
			return "", fmt.Errorf("%s is dated %s, not before this clock's %s; GTO orders a stage's tags by date, so a new tag would not take effect: check this machine's clock (and GIT_COMMITTER_DATE)",
				name, last.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(time.Until(last.Add(time.Second)) + time.Duration(try+1)*50*time.Millisecond):
		}
	}
}

// lastClaim is the highest counter claimed for artifact in dir's refs.
func lastClaim(ctx context.Context, dir, artifact string) (Counter, error) {
	out, err := git(ctx, dir, nil, "for-each-ref", "--format=%(refname)", claimPrefix)
	if err != nil {
		return "", fmt.Errorf("reading counter claims in %s: %w", dir, err)
	}
	var last Counter
	prefix := claimPrefix + claimName(artifact) + "#"
	for _, line := range strings.Split(string(out), "\n") {
		s, ok := strings.CutPrefix(line, prefix)
		if !ok {
			continue
		}
		if c, ok := parseCounter(s); ok && c.Compare(last) > 0 {
			last = c
		}
	}
	return last, nil
}

// taggerIdent is the tagger line git would write now, and its date.
func taggerIdent(ctx context.Context, dir string) (string, time.Time, error) {
	out, err := git(ctx, dir, nil, "var", "GIT_COMMITTER_IDENT")
	if err != nil {
		// A runner without an identity (see gitrepo.IdentityEnv).
		out, err = gitWithEnv(ctx, dir, gitrepo.IdentityEnv(ctx, dir), "var", "GIT_COMMITTER_IDENT")
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("tagger identity (set user.name and user.email): %w", err)
	}
	ident := strings.TrimSpace(string(out))
	f := strings.Fields(ident)
	if len(f) < 2 {
		return "", time.Time{}, fmt.Errorf("tagger identity %q has no date", ident)
	}
	secs, err := strconv.ParseInt(f[len(f)-2], 10, 64)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("tagger identity %q has no date", ident)
	}
	return ident, time.Unix(secs, 0), nil
}

// writeTag writes the annotated tag object t at commit and returns its id.
// It creates no ref: publish does, once the remote has it.
func writeTag(ctx context.Context, dir string, t Tag, commit, tagger, msg string) (string, error) {
	if !t.valid() {
		return "", fmt.Errorf("tag %q is not in GTO's grammar; use names like my-model and stages like prod", t.String())
	}
	if !strings.HasSuffix(msg, "\n") {
		msg += "\n"
	}
	obj := fmt.Sprintf("object %s\ntype commit\ntag %s\ntagger %s\n\n%s", commit, t.String(), tagger, msg)
	out, err := git(ctx, dir, strings.NewReader(obj), "mktag")
	if err != nil {
		return "", fmt.Errorf("writing tag %s: %w", t.String(), err)
	}
	return strings.TrimSpace(string(out)), nil
}

// publish creates refs, all or none. With a remote, the objects are pushed
// to it first, atomically, and the local tags made only once it took them:
// a run killed on the way leaves no local tag the remote lacks. Without
// one, they are made in one local transaction.
func publish(ctx context.Context, dir, remote string, refs []ref) error {
	if remote == "" {
		return createRefs(ctx, dir, refs, false)
	}
	if err := push(ctx, dir, remote, refs); err != nil {
		return err
	}
	var tags []ref
	for _, r := range refs {
		if strings.HasPrefix(r.name, "refs/tags/") {
			tags = append(tags, r)
		}
	}
	// The remote holds them now; a stale local ref of the same name was
	// never on it, so ours replaces it.
	return createRefs(ctx, dir, tags, true)
}

// createRefs makes refs in one transaction; without replace, any that
// exists already fails them all with ErrExists.
func createRefs(ctx context.Context, dir string, refs []ref, replace bool) error {
	var b strings.Builder
	for _, r := range refs {
		if replace {
			fmt.Fprintf(&b, "update %s %s\n", r.name, r.oid)
		} else {
			fmt.Fprintf(&b, "create %s %s\n", r.name, r.oid)
		}
	}
	if _, err := git(ctx, dir, strings.NewReader(b.String()), "update-ref", "--stdin"); err != nil {
		var ge *gitError
		if errors.As(err, &ge) && strings.Contains(ge.stderr, "already exists") {
			return refuse(ErrExists, "%s: already exists; registry tags are never overwritten", refNames(refs))
		}
		return fmt.Errorf("creating %s: %w", refNames(refs), err)
	}
	return nil
}

// push pushes the objects to the refs atomically. A ref that already
// exists on the remote gives ErrConflict.
func push(ctx context.Context, dir, remote string, refs []ref) error {
	args := []string{"push", "--porcelain", "--atomic", remote}
	for _, r := range refs {
		args = append(args, r.oid+":"+r.name)
	}
	_, err := git(ctx, dir, nil, args...)
	if err == nil {
		return nil
	}
	// Whatever git reports (rejected, fetch first, failed to update ref),
	// the remote's refs tell whether another run got there first.
	if taken := takenRemotely(ctx, dir, remote, refs); taken != "" {
		return fmt.Errorf("pushing %s to %s: %w: %s", refNames(refs), remote, ErrConflict, taken)
	}
	return fmt.Errorf("pushing %s to %s (check the remote and push rights): %w", refNames(refs), remote, err)
}

// takenRemotely names the first ref that exists on the remote as another
// object than ours, or returns "".
func takenRemotely(ctx context.Context, dir, remote string, refs []ref) string {
	args := []string{"ls-remote", remote}
	for _, r := range refs {
		args = append(args, r.name)
	}
	out, err := git(ctx, dir, nil, args...)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		oid, name, ok := strings.Cut(line, "\t")
		i := slices.IndexFunc(refs, func(r ref) bool { return r.name == name })
		if ok && i >= 0 && refs[i].oid != oid {
			return strings.TrimPrefix(name, "refs/tags/") + " exists on the remote"
		}
	}
	return ""
}

func refNames(refs []ref) string {
	var names []string
	for _, r := range refs {
		names = append(names, strings.TrimPrefix(r.name, "refs/tags/"))
	}
	return strings.Join(names, " ")
}

// refuse makes an error that reads as the message alone and matches
// sentinel with errors.Is.
func refuse(sentinel error, format string, args ...any) error {
	return &refusal{msg: fmt.Sprintf(format, args...), err: sentinel}
}

type refusal struct {
	msg string
	err error
}

func (r *refusal) Error() string { return r.msg }
func (r *refusal) Unwrap() error { return r.err }
