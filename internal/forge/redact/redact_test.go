package redact

import (
	"context"
	"errors"
	"fmt"
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
