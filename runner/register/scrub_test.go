package register

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mlci/mlci/internal/forge/githubfake"
	"github.com/mlci/mlci/internal/forge/gitlabfake"
	"github.com/mlci/mlci/internal/forge/redact"
)

// Whatever the forge answers, and even when its answer quotes the token,
// no error of the registration path holds the token: the clients are
// forge/github's and forge/gitlab's, whose Classify scrubs with the token.
func TestRegisterErrorsNeverHoldTheToken(t *testing.T) {
	const plain = "plainSecretValue0123" // shaped like no known token
	tests := []struct {
		name   string
		forge  string
		token  string // "" means the helpers' token-shaped one
		status int
		want   []error
		quoted bool // client-go keeps no message for a 404
	}{
		{"github 401", "github", "", 401, []error{ErrUsage, ErrUnauthorized}, true},
		{"github 403 plain", "github", plain, 403, []error{ErrUsage, ErrForbidden}, true},
		{"github 404", "github", "", 404, []error{ErrUsage, ErrNotFound}, true},
		{"github 422 plain", "github", plain, 422, []error{ErrUsage}, true},
		{"github 500", "github", "", 500, []error{ErrService}, true},
		{"github 503 plain", "github", plain, 503, []error{ErrService}, true},
		{"gitlab 401 plain", "gitlab", plain, 401, []error{ErrUsage, ErrUnauthorized}, true},
		{"gitlab 403", "gitlab", "", 403, []error{ErrUsage, ErrForbidden}, true},
		{"gitlab 404 plain", "gitlab", plain, 404, []error{ErrUsage, ErrNotFound}, false},
		{"gitlab 422", "gitlab", "", 422, []error{ErrUsage}, true},
		{"gitlab 502 plain", "gitlab", plain, 502, []error{ErrService}, true},
		{"gitlab 503", "gitlab", "", 503, []error{ErrService}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fault := githubfake.Fault{Status: tt.status, Message: "refused {token}, that is {token}", Times: 10}
			var (
				err error
				tok = tt.token
			)
			switch tt.forge {
			case "github":
				f, c := newGitHub(t)
				if tok == "" {
					tok = ghToken
				} else {
					f.AddRunnerAdmin(tok, "plain")
					if c, err = NewGitHubClientWith(tok, f.URL(), fastRetry()); err != nil {
						t.Fatal(err)
					}
				}
				f.Fail(fault)
				_, err = RegisterGitHub(context.Background(), c, GitHubTarget{Owner: "o", Repo: "r"}, GitHubOptions{Name: "n", Labels: []string{"x"}})
			case "gitlab":
				f, c := newGitLab(t)
				if tok == "" {
					tok = glToken
				} else {
					f.AddRunnerCreator(tok, "plain")
					if c, err = NewGitLabClientWith(tok, f.URL(), fastRetry()); err != nil {
						t.Fatal(err)
					}
				}
				f.Fail(gitlabfake.Fault(fault))
				_, err = RegisterGitLab(context.Background(), c, GitLabOptions{ProjectID: 7, Tags: []string{"x"}})
			}
			checkErr(t, err, tt.want, "", tok)
			if tt.quoted && !strings.Contains(err.Error(), redact.Redacted) {
				t.Errorf("error does not quote the forge's answer, scrubbed: %q", err)
			}
			if tt.status < 500 && errors.Is(err, ErrService) {
				t.Errorf("err = %q is a service error", err)
			}
		})
	}
}
