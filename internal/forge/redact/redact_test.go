package redact

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestURLs(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"user and password", `Get "https://user:s3cret@api.example.com/x": EOF`, `Get "https://***@api.example.com/x": EOF`},
		{"token as user", "cannot reach http://s3cret@127.0.0.1:8080/api/v3/", "cannot reach http://***@127.0.0.1:8080/api/v3/"},
		{"raw @ in password", "oci://bot:p@ss@registry.example.com/ml", "oci://***@registry.example.com/ml"},
		{"two URLs", "a http://u:p@h1/ b https://q@h2?x", "a http://***@h1/ b https://***@h2?x"},
		{"no userinfo", "https://api.github.com/repos/o/r", "https://api.github.com/repos/o/r"},
		{"@ in the path", "https://h/users/@me and mail a@b", "https://h/users/@me and mail a@b"},
		{"@ after the URL", "https://h, then x@y", "https://h, then x@y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := URLs(tt.in); got != tt.want {
				t.Errorf("URLs(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://u:s3cret@h/api", "https://***@h/api"},
		{"http//s3cret@h:1", "***@h:1"},
		{"ftp://s3cret@h/x", "ftp://***@h/x"},
		{"s3cret@h", "***@h"},
		{"docker://ghcr.io/o/m@sha256:abc", "docker://ghcr.io/o/m@sha256:abc"},
		{"oci:/ghcr.io/o/m@sha256:abc", "oci:/ghcr.io/o/m@sha256:abc"},
		{"https://api.github.com", "https://api.github.com"},
	}
	for _, tt := range tests {
		if got := URL(tt.in); got != tt.want {
			t.Errorf("URL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestError(t *testing.T) {
	base := fmt.Errorf("post http://u:s3cret@h/x: %w", context.DeadlineExceeded)
	err := Error(base)
	if err.Error() != "post http://***@h/x: context deadline exceeded" {
		t.Errorf("Error() = %q", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Error("the wrapped error is lost")
	}
	if plain := errors.New("no URL"); Error(plain) != plain {
		t.Error("an error without userinfo was wrapped")
	}
	if Error(nil) != nil {
		t.Error("Error(nil) != nil")
	}
}

func TestSecrets(t *testing.T) {
	jit := "eyJydW5uZXIiOiJncHUtMSIsImxhYmVscyI6WyJzZWxmLWhvc3RlZCJdLCJ3b3JrIjoiX3dvcmsifQ=="
	tests := []struct {
		name, in string
		secrets  []string
		want     string
	}{
		{"known secret", "bad token s3cretvalue here", []string{"s3cretvalue"}, "bad token [redacted] here"},
		{"empty secret ignored", "text", []string{""}, "text"},
		{"classic PAT", "the ghp_abcdefghijklmnop0123 was refused", nil, "the [redacted] was refused"},
		{"fine-grained PAT", "github_pat_11ABCDEFG0123456789_xyz", nil, "[redacted]"},
		{"GitLab tokens", "glpat-abcdefgh1234 and glrt-0123456789ab", nil, "[redacted] and [redacted]"},
		{"bearer header", "Authorization: Bearer abcdefghijklmnop.qrst", nil, "Authorization: [redacted]"},
		{"JIT config", "config " + jit, nil, "config [redacted]"},
		{"commit id stays", "on 1111111111111111111111111111111111111111111111111111111111111111", nil,
			"on 1111111111111111111111111111111111111111111111111111111111111111"},
		{"URL userinfo", "Get http://u:p@h/x", nil, "Get http://***@h/x"},
		{"GitLab runner token", "runner glrt-abcDEF123456789 rejected", nil, "runner [redacted] rejected"},
		{"upper-case blob", "cfg " + strings.Repeat("QUJD", 30) + "==", nil, "cfg [redacted]"},
		{"API path stays", "Post http://h/api/v3/repos/o/r/commits/1111111111111111111111111111111111111111/pulls", nil,
			"Post http://h/api/v3/repos/o/r/commits/1111111111111111111111111111111111111111/pulls"},
		{"plain text kept", "repository o/r not found", nil, "repository o/r not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Secrets(tt.in, tt.secrets...); got != tt.want {
				t.Errorf("Secrets(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestLine(t *testing.T) {
	got := Line("bad\n token tok_SECRET in\tmessage "+strings.Repeat("y", 300), 200, "tok_SECRET")
	if strings.Contains(got, "SECRET") || strings.ContainsAny(got, "\n\t") || len([]rune(got)) != 200 ||
		!strings.HasPrefix(got, "bad token [redacted] in message y") || !strings.HasSuffix(got, "…") {
		t.Errorf("Line = %q", got)
	}
}

func TestErrorSecrets(t *testing.T) {
	base := fmt.Errorf("post http://h/x?t=tok_SECRET: %w", context.Canceled)
	err := Error(base, "tok_SECRET")
	if strings.Contains(err.Error(), "SECRET") || !errors.Is(err, context.Canceled) {
		t.Errorf("Error = %q", err)
	}
}
