package gitlab

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/mlci/mlci/internal/forge/gitlabfake"
	"github.com/mlci/mlci/internal/forge/redact"
	"github.com/mlci/mlci/internal/forge/retry"
)

// Whatever GitLab answers, and even when its answer quotes the token, no
// error of the posting path holds the token: Forge.wrap goes through
// Classify, which scrubs with the client's token.
func TestPostErrorsNeverHoldTheToken(t *testing.T) {
	const (
		shaped = "glpat-scrubT0kenValue"
		plain  = "plainSecretValue0123" // shaped like no known token
	)
	tests := []struct {
		name   string
		token  string
		status int
		want   error
		quoted bool // client-go keeps no message for a 404
	}{
		{"401 token-shaped", shaped, 401, ErrUnauthorized, true},
		{"401 plain", plain, 401, ErrUnauthorized, true},
		{"403 token-shaped", shaped, 403, ErrForbidden, true},
		{"403 plain", plain, 403, ErrForbidden, true},
		{"404 token-shaped", shaped, 404, ErrNotFound, false},
		{"404 plain", plain, 404, ErrNotFound, false},
		{"422 token-shaped", shaped, 422, ErrRejected, true},
		{"422 plain", plain, 422, ErrRejected, true},
		{"500 token-shaped", shaped, 500, ErrUnavailable, true},
		{"502 plain", plain, 502, ErrUnavailable, true},
		{"503 plain", plain, 503, ErrUnavailable, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := gitlabfake.New(t)
			s.AddToken(tt.token, "bot", true)
			s.AddMergeRequest("g/p", 1, "abc")
			f, err := New(Config{Token: tt.token, APIURL: s.URL(), Project: "g/p", MergeRequestIID: "1", SHA: "abc",
				Retry:  retry.Policy{Sleep: func(context.Context, time.Duration) error { return nil }},
				Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			s.Fail(gitlabfake.Fault{Status: tt.status, Message: "refused {token}, that is {token}", Times: 10})
			_, _, err = f.client.Commits.SetCommitStatus("g/p", "abc", &gl.SetCommitStatusOptions{State: gl.Success}, gl.WithContext(t.Context()))
			err = f.wrap("set commit status", err)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			msg := err.Error()
			if strings.Contains(msg, tt.token) || tt.quoted && !strings.Contains(msg, redact.Redacted) {
				t.Errorf("error does not quote GitLab's answer with the token scrubbed: %q", msg)
			}
		})
	}
}
