package gitlab_test

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/mlci/mlci/internal/forge"
	"github.com/mlci/mlci/internal/forge/gitlabfake"
	"github.com/mlci/mlci/internal/forge/sticky/stickytest"
)

// TestSticky runs the sticky-comment suite on a merge request's notes.
func TestSticky(t *testing.T) {
	stickytest.Run(t, func(t *testing.T) stickytest.Thread { return &stickyThread{s: setup(t)} })
}

// stickyThread is merge request !7 on its own fake.
type stickyThread struct{ s *gitlabfake.Server }

func (th *stickyThread) Poster(t *testing.T) forge.Forge {
	cfg := config(th.s)
	cfg.HTTPClient = &http.Client{Transport: stickytest.Jitter(nil, 2*time.Millisecond)}
	return newForge(t, cfg)
}

func (th *stickyThread) Comments(t *testing.T) []stickytest.Comment {
	notes := th.s.Notes(project, mrIID)
	out := make([]stickytest.Comment, len(notes))
	for i, n := range notes {
		out[i] = stickytest.Comment{ID: int64(n.ID), Mine: n.Author.Username == bot, Body: n.Body,
			URL: fmt.Sprintf("%s/%s/-/merge_requests/%s#note_%d", th.s.ServerURL(), project, strconv.Itoa(mrIID), n.ID)}
	}
	return out
}

func (th *stickyThread) Add(t *testing.T, mine bool, body string) {
	th.s.AddNote(project, mrIID, map[bool]string{true: bot, false: "alice"}[mine], body)
}
