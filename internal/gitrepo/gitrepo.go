// Package gitrepo reads files at other commits and finds the base of a
// change, through the git command, so baselines need no checkout.
package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

var (
	// ErrNotRepo means the directory is not inside a git work tree.
	ErrNotRepo = errors.New("not a git repository")
	// ErrNotFound means a path does not exist at a revision.
	ErrNotFound = errors.New("not found at that revision")
	// ErrNoBase means no base revision could be found or fetched.
	ErrNoBase = errors.New("base revision not found")
)

// ShortRev abbreviates a commit id to 12 characters for messages, as
// git's own output abbreviates them; anything shorter is kept whole.
func ShortRev(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}

// Repo is a git work tree.
type Repo struct {
	// Root is the top of the work tree.
	Root string
	// TargetBranch is the branch a change merges into as the CI names it
	// (see ciprovider); "" makes DefaultBranch ask git.
	TargetBranch string
}

// Open finds the work tree that contains dir.
func Open(ctx context.Context, dir string) (*Repo, error) {
	r := &Repo{Root: dir}
	out, err := r.git(ctx, "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, ErrNotRepo)
	}
	r.Root = strings.TrimSpace(string(out))
	return r, nil
}

// FallbackEmail is the email git records for mlci's commits and tags
// where no identity is configured, as on GitHub's and GitLab's hosted
// runners, whose git cannot guess one and refuses to commit.
const FallbackEmail = "mlci@users.noreply.github.com"

// Environ is the environment mlci runs git with: no credential prompt
// (CI has no one to answer it), messages in the C locale (mlci reads
// some), and EMAIL as a last resort for the committer's email. git takes
// EMAIL only after user.email and GIT_COMMITTER_EMAIL, so a configured
// identity always wins; the name falls back to the account's, as git's
// own does.
func Environ(environ []string) []string {
	env := append(environ, "GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
	for _, kv := range environ {
		if strings.HasPrefix(kv, "EMAIL=") && kv != "EMAIL=" {
			return env
		}
	}
	return append(env, "EMAIL="+FallbackEmail)
}

// FallbackName is the name mlci's commits and tags get where git knows
// none: a container without a passwd entry, as a scratch image has.
const FallbackName = "mlci"

// IdentityEnv returns what to add to git's environment (Environ) in dir
// for it to write a commit or tag: nothing when git has an identity,
// else the fallback name. It is asked of git first, so a configured name
// is never overridden.
func IdentityEnv(ctx context.Context, dir string) []string {
	cmd := exec.CommandContext(ctx, "git", "var", "GIT_COMMITTER_IDENT")
	cmd.Dir = dir
	cmd.Env = Environ(cmd.Environ())
	if err := cmd.Run(); err == nil {
		return nil
	}
	return []string{"GIT_AUTHOR_NAME=" + FallbackName, "GIT_COMMITTER_NAME=" + FallbackName}
}

// git runs a git command in the work tree and returns its stdout; the error
// carries git's first line of stderr.
func (r *Repo) git(ctx context.Context, args ...string) ([]byte, error) {
	return r.gitEnv(ctx, nil, args...)
}

// Show returns the content of path (relative to the work tree root, with
// forward slashes) at rev.
func (r *Repo) Show(ctx context.Context, rev, path string) ([]byte, error) {
	obj := rev + ":" + path
	if _, err := r.git(ctx, "cat-file", "-e", obj); err != nil {
		return nil, fmt.Errorf("%s at %s: %w", path, rev, ErrNotFound)
	}
	return r.git(ctx, "cat-file", "blob", obj)
}

// Verify resolves a revision to a commit id.
func (r *Repo) Verify(ctx context.Context, rev string) (string, bool) {
	out, err := r.git(ctx, "rev-parse", "--verify", "--quiet", rev+"^{commit}")
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(out)), true
}

// Shallow reports whether the clone has truncated history.
func (r *Repo) Shallow(ctx context.Context) bool {
	out, err := r.git(ctx, "rev-parse", "--is-shallow-repository")
	return err == nil && strings.TrimSpace(string(out)) == "true"
}

// DefaultBranch names the branch a change will merge into: the pull or
// merge request's target in CI (TargetBranch), else the remote's HEAD,
// else main or master.
func (r *Repo) DefaultBranch(ctx context.Context) (string, error) {
	if r.TargetBranch != "" {
		return r.TargetBranch, nil
	}
	if out, err := r.git(ctx, "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD"); err == nil {
		return strings.TrimPrefix(strings.TrimSpace(string(out)), "origin/"), nil
	}
	for _, b := range []string{"main", "master"} {
		for _, ref := range []string{"refs/remotes/origin/" + b, "refs/heads/" + b} {
			if _, ok := r.Verify(ctx, ref); ok {
				return b, nil
			}
		}
	}
	return "", fmt.Errorf("%w: cannot tell the default branch; pass --base REF", ErrNoBase)
}

// Base is a resolved baseline.
type Base struct {
	// Rev is the commit id; Name is what the user would call it.
	Rev, Name string
	// Note explains a fallback, such as a shallow clone that lacks the
	// merge base; empty when the base is exact.
	Note string
}

// ResolveBase finds the commit to compare with. An explicit ref is used as
// it is (fetched with depth 1 from origin when missing); with ref empty it is
// the merge base of HEAD and the default branch.
func (r *Repo) ResolveBase(ctx context.Context, ref string) (Base, error) {
	if ref != "" {
		rev, err := r.findOrFetch(ctx, ref)
		if err != nil {
			return Base{}, err
		}
		return Base{Rev: rev, Name: ref}, nil
	}
	branch, err := r.DefaultBranch(ctx)
	if err != nil {
		return Base{}, err
	}
	tip, err := r.findOrFetch(ctx, branch)
	if err != nil {
		return Base{}, err
	}
	out, err := r.git(ctx, "merge-base", "HEAD", tip)
	if err == nil {
		return Base{Rev: strings.TrimSpace(string(out)), Name: "merge base with " + branch}, nil
	}
	if r.Shallow(ctx) {
		return Base{Rev: tip, Name: branch, Note: fmt.Sprintf(
			"shallow clone: the merge base with %s is not in the fetched history, so the comparison is with the tip of %s; for the exact merge base run: git fetch --unshallow origin", branch, branch)}, nil
	}
	return Base{}, fmt.Errorf("%w: HEAD and %s share no history; pass --base REF", ErrNoBase, branch)
}

// FirstParent resolves HEAD's first parent, the commit a push to a branch
// follows. A shallow clone that lacks it fetches HEAD with depth 2. ok is
// false when HEAD is the repository's first commit.
func (r *Repo) FirstParent(ctx context.Context) (rev string, ok bool, err error) {
	if rev, ok := r.Verify(ctx, "HEAD^"); ok {
		return rev, true, nil
	}
	head, ok := r.Verify(ctx, "HEAD")
	if !ok {
		return "", false, fmt.Errorf("%w: HEAD has no commit yet; commit, or pass --base REF", ErrNoBase)
	}
	if !r.Shallow(ctx) {
		return "", false, nil
	}
	if _, err := r.git(ctx, "fetch", "--quiet", "--no-tags", "--depth=2", "origin", head); err == nil {
		if rev, ok := r.Verify(ctx, "HEAD^"); ok {
			return rev, true, nil
		}
	}
	return "", false, fmt.Errorf("%w: the parent of HEAD is not in this shallow clone and could not be fetched; clone with depth 2 (actions/checkout: fetch-depth: 2; GitLab: GIT_DEPTH: 2) or pass --base REF", ErrNoBase)
}

// EmptyTree is the id of the empty tree, a revision at which no file
// exists: the baseline of a repository's first commit.
func (r *Repo) EmptyTree(ctx context.Context) (string, error) {
	out, err := r.git(ctx, "hash-object", "-t", "tree", "--stdin")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// findOrFetch resolves ref locally, as origin/ref, or by fetching it from
// origin with depth 1, which is all a shallow CI clone needs to read files.
func (r *Repo) findOrFetch(ctx context.Context, ref string) (string, error) {
	for _, cand := range []string{ref, "origin/" + ref} {
		if rev, ok := r.Verify(ctx, cand); ok {
			return rev, nil
		}
	}
	fetch := []string{"fetch", "--quiet", "--no-tags", "--depth=1", "origin",
		"+refs/heads/" + ref + ":refs/remotes/origin/" + ref}
	if _, err := r.git(ctx, fetch...); err == nil {
		if rev, ok := r.Verify(ctx, "origin/"+ref); ok {
			return rev, nil
		}
	}
	// A tag or commit id cannot go through the refspec above.
	if _, err := r.git(ctx, "fetch", "--quiet", "--no-tags", "--depth=1", "origin", ref); err == nil {
		if rev, ok := r.Verify(ctx, "FETCH_HEAD"); ok {
			return rev, nil
		}
	}
	return "", fmt.Errorf("%w: %q is not in this clone and could not be fetched; run: git fetch --depth=1 origin %s", ErrNoBase, ref, ref)
}

// Prefix returns the path of dir relative to the work tree root, with
// forward slashes and a trailing slash, or "" at the root.
func (r *Repo) Prefix(ctx context.Context, dir string) (string, error) {
	sub := &Repo{Root: dir}
	out, err := sub.git(ctx, "rev-parse", "--show-prefix")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// Log returns up to n commit ids, newest first, reachable from rev that
// changed path (relative to the work tree root).
func (r *Repo) Log(ctx context.Context, rev, path string, n int) ([]string, error) {
	out, err := r.git(ctx, "log", fmt.Sprintf("-n%d", n), "--format=%H", rev, "--", path)
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(out)), nil
}

// Refs returns the full names of the refs under prefix, e.g. refs/heads/.
func (r *Repo) Refs(ctx context.Context, prefix string) ([]string, error) {
	out, err := r.git(ctx, "for-each-ref", "--format=%(refname)", prefix)
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(out)), nil
}

// AllChanges returns every commit reachable from any ref that changed path
// (relative to the work tree root), newest first. --full-history, because
// git's default simplification skips a merged branch whose change the
// merge did not take.
func (r *Repo) AllChanges(ctx context.Context, path string) ([]string, error) {
	out, err := r.git(ctx, "--literal-pathspecs", "log", "--all", "--full-history", "--format=%H", "--", path)
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(out)), nil
}

// HasRemote reports whether the repository has a remote of that name.
func (r *Repo) HasRemote(ctx context.Context, name string) bool {
	_, err := r.git(ctx, "remote", "get-url", name)
	return err == nil
}

// RemoteURL returns the URL of the remote of that name, as git would use
// it (insteadOf rewrites applied). It may carry credentials.
func (r *Repo) RemoteURL(ctx context.Context, name string) (string, error) {
	out, err := r.git(ctx, "remote", "get-url", name)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// Dirty lists the paths with uncommitted changes to tracked files; files
// git does not track do not count.
func (r *Repo) Dirty(ctx context.Context) ([]string, error) {
	out, err := r.git(ctx, "status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if len(line) > 3 {
			paths = append(paths, line[3:])
		}
	}
	return paths, nil
}
