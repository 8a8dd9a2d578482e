package gitrepo

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// CommitPaths commits the work tree's state of paths on top of parent and
// returns the commit and the paths that differ from parent. It builds the
// commit in a temporary index, so the user's index, work tree and branch
// are left alone; nothing changed returns "" and no error.
func (r *Repo) CommitPaths(ctx context.Context, parent string, paths []string, msg string) (commit string, changed []string, err error) {
	if len(paths) == 0 {
		return "", nil, nil
	}
	tmp, err := os.MkdirTemp("", "mlci-index-")
	if err != nil {
		return "", nil, err
	}
	defer os.RemoveAll(tmp)
	env := []string{"GIT_INDEX_FILE=" + filepath.Join(tmp, "index")}
	if _, err := r.gitEnv(ctx, env, "read-tree", parent); err != nil {
		return "", nil, err
	}
	// --all stages deletions too; -f because a lock or metrics file may
	// be in .gitignore on purpose and is listed here all the same.
	args := append([]string{"add", "--all", "-f", "--"}, paths...)
	if _, err := r.gitEnv(ctx, env, args...); err != nil {
		return "", nil, err
	}
	out, err := r.gitEnv(ctx, env, "diff", "--cached", "--name-only", "-z", parent)
	if err != nil {
		return "", nil, err
	}
	for _, p := range strings.Split(string(out), "\x00") {
		if p != "" {
			changed = append(changed, p)
		}
	}
	if len(changed) == 0 {
		return "", nil, nil
	}
	tree, err := r.gitEnv(ctx, env, "write-tree")
	if err != nil {
		return "", nil, err
	}
	c, err := r.gitEnv(ctx, IdentityEnv(ctx, r.Root), "commit-tree", strings.TrimSpace(string(tree)), "-p", parent, "-m", msg)
	if err != nil {
		return "", nil, err
	}
	return strings.TrimSpace(string(c)), changed, nil
}

// PushBranch points branch on remote at commit, replacing what it held:
// the branch is mlci's own, rebuilt from the default branch each time.
// One ref is pushed, so the remote has the old commit or the new one,
// never a half.
func (r *Repo) PushBranch(ctx context.Context, remote, commit, branch string) error {
	_, err := r.git(ctx, "push", "--porcelain", "--force", remote, commit+":refs/heads/"+branch)
	if err != nil {
		return fmt.Errorf("pushing %s to %s (check the token's contents: write permission): %w", branch, remote, err)
	}
	return nil
}

// gitEnv is git with extra environment variables.
func (r *Repo) gitEnv(ctx context.Context, env []string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = r.Root
	cmd.Env = append(Environ(cmd.Environ()), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg, _, _ := strings.Cut(strings.TrimSpace(stderr.String()), "\n")
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("git %s: %s", strings.Join(args, " "), msg)
	}
	return stdout.Bytes(), nil
}
