package github

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mlci/mlci/internal/forge"
	"github.com/mlci/mlci/internal/forge/retry"
)

// Credentials written into GITHUB_API_URL never reach an error message.
func TestAPIURLCredentialsNotInErrors(t *testing.T) {
	const secret = "urlS3cret"
	closed := httptest.NewServer(nil)
	closed.Close()
	host := strings.TrimPrefix(closed.URL, "http://")
	tests := []struct{ name, apiURL string }{
		{"user and password", "http://x-access-token:" + secret + "@" + host + "/api/v3/"},
		{"token as user", "http://" + secret + "@" + host + "/api/v3/"},
		{"not a URL", "http//" + secret + "@" + host},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config(t, newFake(t), userToken, &sleeps{})
			cfg.APIURL = tt.apiURL
			cfg.Retry = retry.Policy{MaxAttempts: 1}
			f, err := New(cfg)
			if err == nil {
				_, err = f.Post(context.Background(), forge.Report{ID: "default", Body: "b", Summary: "s"})
			}
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the error holds the URL's credentials: %v", err)
			}
		})
	}
}
