package github

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mlci/mlci/internal/forge"
	"github.com/mlci/mlci/internal/forge/githubfake"
)

func marked(body string) string { return body + "\n\n" + forge.Marker("r") }

func TestPostComments(t *testing.T) {
	push := func(sha string) func(*Config) {
		return func(c *Config) { c.EventName, c.EventPath, c.SHA = "push", "", sha }
	}
	tests := []struct {
		name  string
		token string // "" means userToken
		event func(*Config)
		seed  func(*githubfake.Server)
		posts []forge.Report // ID "r" is filled in
		check func(t *testing.T, s *githubfake.Server, res []forge.Result, reqs [][]string)
	}{
		{
			name:  "create then update edits the one comment",
			posts: []forge.Report{{Body: "one"}, {Body: "two"}},
			check: func(t *testing.T, s *githubfake.Server, res []forge.Result, reqs [][]string) {
				cs := s.Comments("o", "r", prNumber)
				if len(cs) != 1 || cs[0].Body != marked("two") || cs[0].Login != "octocat" {
					t.Fatalf("comments = %+v", cs)
				}
				if res[0].CommentURL == "" || res[1].CommentURL != res[0].CommentURL || res[1].Unchanged {
					t.Errorf("results = %+v", res)
				}
				if count(reqs[1], "PATCH", "/issues/comments/1") != 1 || count(reqs[1], "POST", "/issues/") != 0 {
					t.Errorf("second post requests = %q", reqs[1])
				}
			},
		},
		{
			name:  "unchanged body sends no PATCH",
			posts: []forge.Report{{Body: "same"}, {Body: "same"}},
			check: func(t *testing.T, s *githubfake.Server, res []forge.Result, reqs [][]string) {
				if !res[1].Unchanged || res[0].Unchanged {
					t.Errorf("Unchanged = %v, %v; want false, true", res[0].Unchanged, res[1].Unchanged)
				}
				// The user is known and check runs are known to be refused,
				// so a repeat costs the status and one list.
				want := []string{"POST /repos/o/r/statuses/" + headSHA, "GET /repos/o/r/issues/7/comments"}
				if diff := cmp.Diff(want, reqs[1]); diff != "" {
					t.Errorf("second post requests (-want +got):\n%s", diff)
				}
			},
		},
		{
			name:  "recreate deletes and posts anew",
			posts: []forge.Report{{Body: "one"}, {Body: "two", Mode: forge.ModeRecreate}},
			check: func(t *testing.T, s *githubfake.Server, res []forge.Result, reqs [][]string) {
				cs := s.Comments("o", "r", prNumber)
				if len(cs) != 1 || cs[0].ID != 2 || cs[0].Body != marked("two") {
					t.Fatalf("comments = %+v", cs)
				}
				if count(reqs[1], "DELETE", "/issues/comments/1") != 1 || !strings.HasSuffix(res[1].CommentURL, "#issuecomment-2") {
					t.Errorf("requests %q, url %q", reqs[1], res[1].CommentURL)
				}
			},
		},
		{
			name:  "append keeps the old comment",
			posts: []forge.Report{{Body: "one"}, {Body: "two", Mode: forge.ModeAppend}},
			check: func(t *testing.T, s *githubfake.Server, res []forge.Result, reqs [][]string) {
				if cs := s.Comments("o", "r", prNumber); len(cs) != 2 || cs[1].Body != marked("two") {
					t.Fatalf("comments = %+v", cs)
				}
			},
		},
		{
			name:  "off posts no comment but sets the status",
			posts: []forge.Report{{Body: "one", Mode: forge.ModeOff, Pass: true}},
			check: func(t *testing.T, s *githubfake.Server, res []forge.Result, reqs [][]string) {
				if len(s.Comments("o", "r", prNumber)) != 0 || res[0].CommentURL != "" || !res[0].Status {
					t.Errorf("result %+v, comments %v", res[0], s.Comments("o", "r", prNumber))
				}
				if count(reqs[0], "GET", "/comments") != 0 {
					t.Errorf("requests = %q", reqs[0])
				}
			},
		},
		{
			name: "marker found on page 2 of 3",
			seed: func(s *githubfake.Server) {
				for i := range 150 {
					s.AddComment("o", "r", prNumber, "someone", fmt.Sprint("chatter ", i))
				}
				s.AddComment("o", "r", prNumber, "octocat", marked("old"))
				for i := range 80 {
					s.AddComment("o", "r", prNumber, "someone", fmt.Sprint("later ", i))
				}
			},
			posts: []forge.Report{{Body: "new"}},
			check: func(t *testing.T, s *githubfake.Server, res []forge.Result, reqs [][]string) {
				cs := s.Comments("o", "r", prNumber)
				if len(cs) != 231 || cs[150].ID != 151 || cs[150].Body != marked("new") {
					t.Fatalf("%d comments, #151 = %+v", len(cs), cs[150])
				}
				if count(reqs[0], "GET", "/issues/7/comments") != 3 || count(reqs[0], "PATCH", "/issues/comments/151") != 1 {
					t.Errorf("requests = %q", reqs[0])
				}
			},
		},
		{
			name:  "only own comments count",
			seed:  func(s *githubfake.Server) { s.AddComment("o", "r", prNumber, "mallory", marked("spoof")) },
			posts: []forge.Report{{Body: "mine"}},
			check: func(t *testing.T, s *githubfake.Server, res []forge.Result, reqs [][]string) {
				cs := s.Comments("o", "r", prNumber)
				if len(cs) != 2 || cs[0].Body != marked("spoof") || cs[1].Body != marked("mine") || cs[1].Login != "octocat" {
					t.Fatalf("comments = %+v", cs)
				}
			},
		},
		{
			name:  "App token counts github-actions[bot] comments as its own",
			token: appToken,
			seed:  func(s *githubfake.Server) { s.AddComment("o", "r", prNumber, "github-actions[bot]", marked("old")) },
			posts: []forge.Report{{Body: "new"}},
			check: func(t *testing.T, s *githubfake.Server, res []forge.Result, reqs [][]string) {
				if cs := s.Comments("o", "r", prNumber); len(cs) != 1 || cs[0].Body != marked("new") {
					t.Fatalf("comments = %+v", cs)
				}
			},
		},
		{
			// The newest wins in every mode, so concurrent update and
			// recreate posters agree on which comment stays.
			name: "update collapses duplicates onto the newest",
			seed: func(s *githubfake.Server) {
				s.AddComment("o", "r", prNumber, "octocat", marked("a"))
				s.AddComment("o", "r", prNumber, "octocat", marked("b"))
			},
			posts: []forge.Report{{Body: "b"}},
			check: func(t *testing.T, s *githubfake.Server, res []forge.Result, reqs [][]string) {
				if cs := s.Comments("o", "r", prNumber); len(cs) != 1 || cs[0].ID != 2 || !res[0].Unchanged {
					t.Fatalf("comments = %+v, result %+v", cs, res[0])
				}
			},
		},
		{
			// A poster lists again after deleting, until a list shows one
			// comment. A fault stages a delete that answers 404 (as if a
			// concurrent job had deleted it) but leaves the comment.
			name: "recreate lists again until one comment is left",
			seed: func(s *githubfake.Server) {
				s.AddComment("o", "r", prNumber, "octocat", marked("old"))
				s.FailNext("DELETE", "/repos/o/r/issues/comments/*", 404, nil, 1)
			},
			posts: []forge.Report{{Body: "new", Mode: forge.ModeRecreate}},
			check: func(t *testing.T, s *githubfake.Server, res []forge.Result, reqs [][]string) {
				if cs := s.Comments("o", "r", prNumber); len(cs) != 1 || cs[0].Body != marked("new") {
					t.Fatalf("comments = %+v; want the one kept, holding the new report", cs)
				}
			},
		},
		{
			name:  "push comments on the open pull requests for the commit",
			event: push(headSHA),
			seed: func(s *githubfake.Server) {
				s.AddPullRequest("o", "r", 8, headSHA, "closed")
				s.AddPullRequest("o", "r", 9, headSHA, "open")
			},
			posts: []forge.Report{{Body: "one"}},
			check: func(t *testing.T, s *githubfake.Server, res []forge.Result, reqs [][]string) {
				for n, want := range map[int]int{7: 1, 8: 0, 9: 1} {
					if got := len(s.Comments("o", "r", n)); got != want {
						t.Errorf("PR #%d has %d comments, want %d", n, got, want)
					}
				}
				if !strings.HasSuffix(res[0].CommentURL, "/o/r/pull/7#issuecomment-1") {
					t.Errorf("CommentURL = %q", res[0].CommentURL)
				}
			},
		},
		{
			name:  "push with no pull request comments on the commit",
			event: push(pushSHA),
			posts: []forge.Report{{Body: "one"}, {Body: "two"}},
			check: func(t *testing.T, s *githubfake.Server, res []forge.Result, reqs [][]string) {
				cs := s.CommitComments("o", "r", pushSHA)
				if len(cs) != 1 || cs[0].Body != marked("two") || !strings.Contains(res[1].CommentURL, "/commit/"+pushSHA) {
					t.Fatalf("commit comments = %+v, url %q", cs, res[1].CommentURL)
				}
				if st := s.Statuses("o", "r", pushSHA); len(st) != 2 {
					t.Errorf("statuses on the pushed commit = %+v", st)
				}
			},
		},
		{
			name: "workflow_run comments on the triggering run's pull request",
			event: func(c *Config) {
				c.EventName = "workflow_run"
				c.EventPath = writeEvent(t, map[string]any{"workflow_run": map[string]any{
					"head_sha": headSHA, "pull_requests": []map[string]any{{"number": prNumber}}}})
			},
			posts: []forge.Report{{Body: "one"}},
			check: func(t *testing.T, s *githubfake.Server, res []forge.Result, reqs [][]string) {
				if len(s.Comments("o", "r", prNumber)) != 1 || count(reqs[0], "GET", "/pulls") != 0 {
					t.Errorf("comments %v, requests %q", s.Comments("o", "r", prNumber), reqs[0])
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t)
			if tt.seed != nil {
				tt.seed(s)
			}
			tok := tt.token
			if tok == "" {
				tok = userToken
			}
			cfg := config(t, s, tok, &sleeps{})
			if tt.event != nil {
				tt.event(&cfg)
			}
			f := newForge(t, cfg)
			var res []forge.Result
			var reqs [][]string
			for _, r := range tt.posts {
				r.ID = "r"
				before := len(s.Requests())
				got, err := f.Post(context.Background(), r)
				if err != nil {
					t.Fatalf("Post(%+v): %v", r, err)
				}
				res = append(res, got)
				reqs = append(reqs, s.Requests()[before:])
			}
			tt.check(t, s, res, reqs)
		})
	}
}
