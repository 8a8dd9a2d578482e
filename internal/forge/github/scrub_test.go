package github

import (
	"context"
	"errors"
	"strings"
	"testing"

	gh "github.com/google/go-github/v62/github"

	"github.com/mlci/mlci/internal/forge/githubfake"
	"github.com/mlci/mlci/internal/forge/redact"
)

// plainToken is shaped like no known token, so only the scrubbing of the
// client's own token can catch it.
const plainToken = "plainSecretValue0123"

// Whatever GitHub answers, and even when its answer quotes the token, no
// error of the posting path holds the token: Forge.wrap goes through
// Classify, which scrubs with the client's token.
func TestPostErrorsNeverHoldTheToken(t *testing.T) {
	tests := []struct {
		name   string
		token  string
		status int
		want   error
	}{
		{"401 token-shaped", userToken, 401, ErrUnauthorized},
		{"401 plain", plainToken, 401, ErrUnauthorized},
		{"403 token-shaped", userToken, 403, ErrForbidden},
		{"403 plain", plainToken, 403, ErrForbidden},
		{"404 token-shaped", userToken, 404, ErrNotFound},
		{"404 plain", plainToken, 404, ErrNotFound},
		{"422 token-shaped", userToken, 422, ErrRejected},
		{"422 plain", plainToken, 422, ErrRejected},
		{"500 token-shaped", userToken, 500, ErrUnavailable},
		{"502 plain", plainToken, 502, ErrUnavailable},
		{"503 plain", plainToken, 503, ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t)
			s.AddToken(plainToken, "plain", true, false)
			f := newForge(t, config(t, s, tt.token, &sleeps{}))
			s.Fail(githubfake.Fault{Status: tt.status, Message: "refused {token}, that is {token}", Times: 10})
			_, _, err := f.client.Repositories.CreateStatus(context.Background(), "o", "r", headSHA,
				&gh.RepoStatus{State: gh.String("success"), Context: gh.String(StatusContext)})
			err = f.wrap("set commit status on "+headSHA, err)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			msg := err.Error()
			if strings.Contains(msg, tt.token) || !strings.Contains(msg, redact.Redacted) {
				t.Errorf("error does not quote GitHub's answer with the token scrubbed: %q", msg)
			}
		})
	}
}
