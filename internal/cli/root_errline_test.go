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

// TestUnknownCommandSuggests: a mistyped command says what was meant, in
// the one error line, and is a usage error.
func TestUnknownCommandSuggests(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"metric", "show"}, `mlci: unknown command "metric" for "mlci"; did you mean "metrics"?`},
		{[]string{"data", "chek"}, `mlci: unknown command "chek" for "mlci data"; did you mean "check"?`},
		{[]string{"model", "regster", "digits"}, `mlci: unknown command "regster" for "mlci model"; did you mean "register"?`},
		{[]string{"frobnicate"}, `mlci: unknown command "frobnicate" for "mlci"; run mlci --help`},
		{[]string{"params", "show"}, `mlci: unknown command "show" for "mlci params"; run mlci params --help`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := run(t, nil, tt.args...)
			if r.code != ExitUsage || r.stderr != tt.want+"\n" || r.stdout != "" {
				t.Errorf("exit %d, stderr %q, stdout %q; want exit 2 and %q", r.code, r.stderr, r.stdout, tt.want)
			}
		})
	}
}
