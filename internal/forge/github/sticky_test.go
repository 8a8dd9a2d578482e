package github

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/mlci/mlci/internal/forge"
	"github.com/mlci/mlci/internal/forge/githubfake"
	"github.com/mlci/mlci/internal/forge/sticky/stickytest"
)

// otherToken writes as mallory, whose comments are never the posters'.
const otherToken = "ghp_mallory0123456789SECRET"

// TestSticky runs the sticky-comment suite on a pull request and, for a
// push no pull request contains, on the commit.
func TestSticky(t *testing.T) {
	t.Run("pull request", func(t *testing.T) {
		stickytest.Run(t, func(t *testing.T) stickytest.Thread { return newSuiteThread(t, false) })
	})
	t.Run("commit", func(t *testing.T) {
		stickytest.Run(t, func(t *testing.T) stickytest.Thread { return newSuiteThread(t, true) })
	})
}

// suiteThread is PR #7, or commit pushSHA, on its own fake.
type suiteThread struct {
	s      *githubfake.Server
	commit bool
}

func newSuiteThread(t *testing.T, commit bool) *suiteThread {
	s := newFake(t)
	s.AddToken(otherToken, "mallory", true, false)
	return &suiteThread{s: s, commit: commit}
}

func (th *suiteThread) Poster(t *testing.T) forge.Forge {
	cfg := config(t, th.s, userToken, &sleeps{})
	cfg.HTTPClient = &http.Client{Transport: stickytest.Jitter(nil, 2*time.Millisecond)}
	if th.commit {
		cfg.EventName, cfg.EventPath, cfg.SHA = "push", "", pushSHA
	}
	return newForge(t, cfg)
}

func (th *suiteThread) Comments(t *testing.T) []stickytest.Comment {
	cs := th.s.Comments("o", "r", prNumber)
	if th.commit {
		cs = th.s.CommitComments("o", "r", pushSHA)
	}
	out := make([]stickytest.Comment, len(cs))
	for i, c := range cs {
		out[i] = stickytest.Comment{ID: c.ID, Mine: c.Login == "octocat", Body: c.Body, URL: c.HTMLURL}
	}
	return out
}

func (th *suiteThread) Add(t *testing.T, mine bool, body string) {
	if !th.commit {
		th.s.AddComment("o", "r", prNumber, map[bool]string{true: "octocat", false: "mallory"}[mine], body)
		return
	}
	tok := map[bool]string{true: userToken, false: otherToken}[mine]
	b, err := json.Marshal(map[string]string{"body": body})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, th.s.URL()+"repos/o/r/commits/"+pushSHA+"/comments", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("seed commit comment: HTTP %d", resp.StatusCode)
	}
}
