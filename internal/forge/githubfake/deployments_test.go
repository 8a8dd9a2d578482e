package githubfake_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/mlci/mlci/internal/forge/githubfake"
)

// TestDeploymentRequiredContexts checks the fake refuses as GitHub does
// when the contexts a deployment requires are not all success.
func TestDeploymentRequiredContexts(t *testing.T) {
	const sha = "abc"
	tests := []struct {
		name string
		body map[string]any
		tok  string
		want int
	}{
		{"contexts left out and one failing", map[string]any{"ref": sha}, "w", http.StatusConflict},
		{"named context failing", map[string]any{"ref": sha, "required_contexts": []string{"ci"}}, "w", http.StatusConflict},
		{"named context passing", map[string]any{"ref": sha, "required_contexts": []string{"lint"}}, "w", http.StatusCreated},
		{"no contexts required", map[string]any{"ref": sha, "required_contexts": []string{}}, "w", http.StatusCreated},
		{"no ref", map[string]any{"required_contexts": []string{}}, "w", http.StatusUnprocessableEntity},
		{"read-only token", map[string]any{"ref": sha, "required_contexts": []string{}}, "ro", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := githubfake.New(t)
			s.AddToken("w", "octocat", true, false)
			s.AddToken("ro", "octocat", false, true)
			s.AddRepo("o", "r")
			post(t, s, "w", "repos/o/r/statuses/"+sha, map[string]any{"state": "failure", "context": "ci"})
			post(t, s, "w", "repos/o/r/statuses/"+sha, map[string]any{"state": "success", "context": "lint"})
			if got := post(t, s, tt.tok, "repos/o/r/deployments", tt.body); got != tt.want {
				t.Errorf("status %d, want %d", got, tt.want)
			}
		})
	}
}

func post(t *testing.T, s *githubfake.Server, tok, p string, body any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, s.URL()+p, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
