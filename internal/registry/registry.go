// Package registry keeps a model registry as annotated git tags in GTO's
// grammar, so mlci and GTO users read and write the same history.
package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"

	"github.com/mlci/mlci/internal/gitrepo"
)

var (
	// ErrExists means a tag or version is already there; registry tags are
	// never overwritten.
	ErrExists = errors.New("already exists")
	// ErrConflict means the remote refused a push because another run
	// created the same tag, or claimed the same counter, first.
	ErrConflict = errors.New("tag already exists on the remote")
	// ErrNotRegistered means a version has no registration tag.
	ErrNotRegistered = errors.New("not registered")
	// ErrDeprecated means the model's latest event is a deprecation, so it
	// takes no new versions or stages.
	ErrDeprecated = errors.New("deprecated")
	// ErrNoStage means no version holds the stage.
	ErrNoStage = errors.New("no version in the stage")
)

// gitError carries git's first stderr line plus the whole stderr, which
// callers such as createRefs inspect.
type gitError struct {
	args   []string
	msg    string
	stderr string
}

func (e *gitError) Error() string {
	return fmt.Sprintf("git %s: %s", strings.Join(e.args, " "), e.msg)
}

// git runs a git command in dir and returns its stdout.
func git(ctx context.Context, dir string, stdin io.Reader, args ...string) ([]byte, error) {
	return gitIn(ctx, dir, stdin, nil, args...)
}

// gitWithEnv is git with extra environment variables.
func gitWithEnv(ctx context.Context, dir string, env []string, args ...string) ([]byte, error) {
	return gitIn(ctx, dir, nil, env, args...)
}

func gitIn(ctx context.Context, dir string, stdin io.Reader, env []string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	// Never stop for a credential prompt in CI; C locale keeps messages
	// stable for the checks below; a runner without an identity still
	// tags.
	cmd.Env = append(gitrepo.Environ(cmd.Environ()), env...)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg, _, _ := strings.Cut(strings.TrimSpace(stderr.String()), "\n")
		if msg == "" {
			msg = err.Error()
		}
		return stdout.Bytes(), &gitError{args: args, msg: msg, stderr: stderr.String()}
	}
	return stdout.Bytes(), nil
}
