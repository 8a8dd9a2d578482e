package cli

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestErrorLineKeepsTokensOut: git echoes a remote's URL when a fetch or
// push fails, and a CI checkout's remote carries the job token.
func TestErrorLineKeepsTokensOut(t *testing.T) {
	err := fmt.Errorf("fetching tags: %w", errors.New("git fetch: fatal: unable to access 'https://gitlab-ci-token:glcbt-64_SECRET@gitlab.example.com/g/p.git/': Could not resolve host\n"))
	got := errorLine(err)
	if strings.Contains(got, "SECRET") || strings.Contains(got, "\n") {
		t.Errorf("errorLine = %q, want one line without the token", got)
	}
	if !strings.Contains(got, "https://***@gitlab.example.com/g/p.git/") {
		t.Errorf("errorLine = %q, want the URL kept without its credentials", got)
	}
}
