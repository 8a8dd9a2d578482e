package gitlab_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mlci/mlci/internal/forge"
	"github.com/mlci/mlci/internal/forge/gitlab"
	"github.com/mlci/mlci/internal/forge/retry"
)

// Credentials written into CI_API_V4_URL never reach an error message.
func TestAPIURLCredentialsNotInErrors(t *testing.T) {
	const secret = "urlS3cret"
	closed := httptest.NewServer(nil)
	closed.Close()
	host := strings.TrimPrefix(closed.URL, "http://")
	tests := []struct{ name, apiURL string }{
		{"user and password", "http://oauth2:" + secret + "@" + host + "/api/v4"},
		{"token as user", "http://" + secret + "@" + host + "/api/v4"},
		{"not an http URL", "ftp://" + secret + "@" + host + "/api/v4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config(setup(t))
			cfg.APIURL = tt.apiURL
			cfg.Retry = retry.Policy{MaxAttempts: 1}
			f, err := gitlab.New(cfg)
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

// Nor does a comment link derived from the API URL carry them.
func TestAPIURLCredentialsNotInLinks(t *testing.T) {
	const secret = "urlS3cret"
	s := setup(t)
	cfg := config(s)
	cfg.APIURL = strings.Replace(s.URL(), "://", "://oauth2:"+secret+"@", 1)
	res, err := newForge(t, cfg).Post(context.Background(), forge.Report{ID: "default", Body: "b", Summary: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if res.CommentURL == "" || strings.Contains(res.CommentURL, secret) {
		t.Errorf("CommentURL = %q", res.CommentURL)
	}
}
