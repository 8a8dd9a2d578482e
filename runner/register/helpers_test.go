package register

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"
	gitlab "gitlab.com/gitlab-org/api/client-go"

	"github.com/mlci/mlci/internal/forge/githubfake"
	"github.com/mlci/mlci/internal/forge/gitlabfake"
	"github.com/mlci/mlci/internal/forge/retry"
)

const (
	ghToken = "ghp_testTokenAAAAAAAAAAAAAAAAAAAAAAAA"
	glToken = "glpat-testTokenBBBBBBBBBBBB"
)

// fastRetry retries without sleeping, so tests never wait.
func fastRetry() ClientOptions {
	return ClientOptions{Retry: retry.Policy{
		MaxAttempts: 3,
		Sleep:       func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
		Rand:        func() float64 { return 0 },
	}}
}

func newGitHub(t *testing.T) (*githubfake.Server, *github.Client) {
	t.Helper()
	f := githubfake.New(t)
	f.AddRunnerAdmin(ghToken, "admin")
	f.AddRepo("o", "r")
	f.AddOrg("acme")
	c, err := NewGitHubClientWith(ghToken, f.URL(), fastRetry())
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

func newGitLab(t *testing.T) (*gitlabfake.Server, *gitlab.Client) {
	t.Helper()
	f := gitlabfake.New(t)
	f.AddRunnerCreator(glToken, "admin")
	f.AddProjectID(7, "g/p")
	f.AddGroup(9)
	c, err := NewGitLabClientWith(glToken, f.URL(), fastRetry())
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

// checkErr checks err's classes and that no secret leaked into its text.
func checkErr(t *testing.T, err error, want []error, contains string, secrets ...string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("err = %v, want nil", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("err = nil, want %v", want)
	}
	t.Logf("error text: %v", err)
	for _, w := range want {
		if !errors.Is(err, w) {
			t.Errorf("err = %q, want errors.Is %q", err, w)
		}
	}
	if contains != "" && !strings.Contains(err.Error(), contains) {
		t.Errorf("err = %q, want it to contain %q", err, contains)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("err = %q spans lines", err)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("err = %q leaks a secret", err)
		}
	}
}
