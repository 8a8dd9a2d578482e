package githubfake

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	gh "github.com/google/go-github/v62/github"
)

const (
	writer   = "ghp_writer_token"
	reader   = "ghs_fork_readonly"
	appToken = "ghs_app_installation"
)

// setup returns a fake with repo o/r, PR #1 at sha "head1" and three
// tokens, plus a go-github client for tok.
func setup(t *testing.T, tok string) (*Server, *gh.Client) {
	t.Helper()
	s := New(t)
	s.AddToken(writer, "octocat", true, false)
	s.AddToken(reader, "github-actions[bot]", false, true)
	s.AddToken(appToken, "github-actions[bot]", true, true)
	s.AddPullRequest("o", "r", 1, "head1", "open")
	return s, client(t, s, tok)
}

func client(t *testing.T, s *Server, tok string) *gh.Client {
	t.Helper()
	c, err := gh.NewClient(nil).WithAuthToken(tok).WithEnterpriseURLs(s.URL(), s.URL())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func status(err error) int {
	var er *gh.ErrorResponse
	if errors.As(err, &er) {
		return er.Response.StatusCode
	}
	return 0
}

func TestAuth(t *testing.T) {
	s, _ := setup(t, writer)
	ctx := context.Background()
	tests := []struct {
		name, header string
		want         int
	}{
		{"bearer", "Bearer " + writer, 200},
		{"token scheme", "token " + writer, 200},
		{"missing", "", 401},
		{"wrong token", "Bearer nope", 401},
		{"basic scheme", "Basic " + writer, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(ctx, "GET", s.URL()+"repos/o/r/issues/1/comments", nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
}

func TestUsers(t *testing.T) {
	s, c := setup(t, writer)
	u, _, err := c.Users.Get(context.Background(), "")
	if err != nil || u.GetLogin() != "octocat" || u.GetType() != "User" {
		t.Fatalf("Users.Get = %v, %v", u, err)
	}
	_, _, err = client(t, s, appToken).Users.Get(context.Background(), "")
	if status(err) != 403 {
		t.Errorf("App token Users.Get err = %v, want 403", err)
	}
}

func TestCommentsLifecycleAndPagination(t *testing.T) {
	s, c := setup(t, writer)
	ctx := context.Background()
	for i := range 35 {
		s.AddComment("o", "r", 1, "someone", fmt.Sprintf("c%d", i))
	}
	got, resp, err := c.Issues.ListComments(ctx, "o", "r", 1, nil)
	if err != nil || len(got) != 30 || resp.NextPage != 2 || resp.LastPage != 2 {
		t.Fatalf("default page: %d comments, next %d, last %d, err %v", len(got), resp.NextPage, resp.LastPage, err)
	}
	got, resp, _ = c.Issues.ListComments(ctx, "o", "r", 1, &gh.IssueListCommentsOptions{ListOptions: gh.ListOptions{Page: 2, PerPage: 30}})
	if len(got) != 5 || resp.NextPage != 0 || resp.PrevPage != 1 || got[4].GetBody() != "c34" {
		t.Fatalf("page 2: %d comments, next %d, prev %d", len(got), resp.NextPage, resp.PrevPage)
	}
	got, _, _ = c.Issues.ListComments(ctx, "o", "r", 1, &gh.IssueListCommentsOptions{ListOptions: gh.ListOptions{PerPage: 500}})
	if len(got) != 35 {
		t.Errorf("per_page 500 (capped at 100) returned %d", len(got))
	}

	cm, _, err := c.Issues.CreateComment(ctx, "o", "r", 1, &gh.IssueComment{Body: gh.String("hello")})
	if err != nil || cm.GetID() != 36 || cm.GetUser().GetLogin() != "octocat" ||
		!strings.HasSuffix(cm.GetHTMLURL(), "/o/r/pull/1#issuecomment-36") || cm.GetCreatedAt().IsZero() {
		t.Fatalf("CreateComment = %v, %v", cm, err)
	}
	if _, _, err := c.Issues.EditComment(ctx, "o", "r", 36, &gh.IssueComment{Body: gh.String("edited")}); err != nil {
		t.Fatal(err)
	}
	if all := s.Comments("o", "r", 1); all[35].Body != "edited" {
		t.Errorf("after edit: %+v", all[35])
	}
	if _, err := c.Issues.DeleteComment(ctx, "o", "r", 36); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Issues.DeleteComment(ctx, "o", "r", 36); status(err) != 404 {
		t.Errorf("second delete err = %v, want 404", err)
	}
	if n := len(s.Comments("o", "r", 1)); n != 35 {
		t.Errorf("%d comments left, want 35", n)
	}
}

func TestErrors(t *testing.T) {
	s, c := setup(t, writer)
	ctx := context.Background()
	body := func(n int) *gh.IssueComment { return &gh.IssueComment{Body: gh.String(strings.Repeat("é", n))} }
	tests := []struct {
		name string
		call func() error
		want int
		msg  string
	}{
		{"unknown repo", func() error { _, _, err := c.Issues.ListComments(ctx, "o", "nope", 1, nil); return err }, 404, "Not Found"},
		{"unknown PR", func() error { _, _, err := c.Issues.CreateComment(ctx, "o", "r", 9, body(1)); return err }, 404, "Not Found"},
		{"unknown comment", func() error { _, _, err := c.Issues.EditComment(ctx, "o", "r", 99, body(1)); return err }, 404, "Not Found"},
		{"body at the limit", func() error { _, _, err := c.Issues.CreateComment(ctx, "o", "r", 1, body(MaxBody)); return err }, 0, ""},
		{"body over the limit", func() error { _, _, err := c.Issues.CreateComment(ctx, "o", "r", 1, body(MaxBody+1)); return err }, 422, "body is too long (maximum is 65536 characters)"},
		{"read-only token write", func() error {
			_, _, err := client(t, s, reader).Issues.CreateComment(ctx, "o", "r", 1, body(1))
			return err
		}, 403, notAccessible},
		{"read-only token read", func() error { _, _, err := client(t, s, reader).Issues.ListComments(ctx, "o", "r", 1, nil); return err }, 0, ""},
		{"check run without App", func() error {
			_, _, err := c.Checks.CreateCheckRun(ctx, "o", "r", gh.CreateCheckRunOptions{Name: "x", HeadSHA: "head1"})
			return err
		}, 403, notAccessible},
		{"bad status state", func() error {
			_, _, err := c.Repositories.CreateStatus(ctx, "o", "r", "head1", &gh.RepoStatus{State: gh.String("green")})
			return err
		}, 422, "state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if status(err) != tt.want || (tt.want == 0) != (err == nil) {
				t.Fatalf("err = %v, want status %d", err, tt.want)
			}
			if err != nil && !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %v, want it to mention %q", err, tt.msg)
			}
		})
	}
}

func TestStatusesChecksPullsCommitComments(t *testing.T) {
	s, _ := setup(t, appToken)
	c := client(t, s, appToken)
	ctx := context.Background()
	s.AddPullRequest("o", "r", 2, "head1", "closed")
	s.AddPullRequest("o", "r", 3, "other", "open")

	if _, _, err := c.Repositories.CreateStatus(ctx, "o", "r", "head1", &gh.RepoStatus{State: gh.String("success"), Context: gh.String("mlci/gate"), Description: gh.String("ok")}); err != nil {
		t.Fatal(err)
	}
	want := []Status{{ID: 1, State: "success", Context: "mlci/gate", Description: "ok", Creator: "github-actions[bot]"}}
	if diff := cmp.Diff(want, s.Statuses("o", "r", "head1"), cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".CreatedAt" }, cmp.Ignore())); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}

	ann := func(n int) []*gh.CheckRunAnnotation {
		var out []*gh.CheckRunAnnotation
		for i := range n {
			out = append(out, &gh.CheckRunAnnotation{Path: gh.String("a.py"), StartLine: gh.Int(i + 1), EndLine: gh.Int(i + 1), AnnotationLevel: gh.String("warning"), Message: gh.String("m")})
		}
		return out
	}
	out := func(n int) *gh.CheckRunOutput {
		return &gh.CheckRunOutput{Title: gh.String("t"), Summary: gh.String("s"), Annotations: ann(n)}
	}
	cr, _, err := c.Checks.CreateCheckRun(ctx, "o", "r", gh.CreateCheckRunOptions{Name: "mlci", HeadSHA: "head1", Conclusion: gh.String("success"), Output: out(50)})
	if err != nil || cr.GetID() != 1 || cr.GetStatus() != "completed" {
		t.Fatalf("CreateCheckRun = %v, %v", cr, err)
	}
	if _, _, err := c.Checks.UpdateCheckRun(ctx, "o", "r", 1, gh.UpdateCheckRunOptions{Name: "mlci", Output: out(51)}); status(err) != 422 {
		t.Errorf("51 annotations err = %v, want 422", err)
	}
	if _, _, err := c.Checks.UpdateCheckRun(ctx, "o", "r", 1, gh.UpdateCheckRunOptions{Name: "mlci", Output: out(10)}); err != nil {
		t.Fatal(err)
	}
	if runs := s.CheckRuns("o", "r", "head1"); len(runs) != 1 || len(runs[0].Annotations) != 60 || runs[0].Conclusion != "success" {
		t.Errorf("check runs = %+v", runs)
	}

	prs, _, err := c.PullRequests.ListPullRequestsWithCommit(ctx, "o", "r", "head1", nil)
	if err != nil || len(prs) != 2 || prs[0].GetNumber() != 1 || prs[1].GetState() != "closed" || prs[0].GetHead().GetSHA() != "head1" {
		t.Fatalf("ListPullRequestsWithCommit = %v, %v", prs, err)
	}

	cc, _, err := c.Repositories.CreateComment(ctx, "o", "r", "abc", &gh.RepositoryComment{Body: gh.String("x")})
	if err != nil || cc.GetCommitID() != "abc" || !strings.HasSuffix(cc.GetHTMLURL(), "/o/r/commit/abc#commitcomment-1") {
		t.Fatalf("CreateComment = %v, %v", cc, err)
	}
	if _, _, err := c.Repositories.UpdateComment(ctx, "o", "r", 1, &gh.RepositoryComment{Body: gh.String("y")}); err != nil {
		t.Fatal(err)
	}
	list, _, err := c.Repositories.ListCommitComments(ctx, "o", "r", "abc", nil)
	if err != nil || len(list) != 1 || list[0].GetBody() != "y" || s.CommitComments("o", "r", "abc")[0].Body != "y" {
		t.Fatalf("ListCommitComments = %v, %v", list, err)
	}
}

func TestFailNextAndRequests(t *testing.T) {
	s, c := setup(t, writer)
	ctx := context.Background()
	s.FailNext("POST", "/repos/o/r/issues/*/comments", 503, map[string]string{"Retry-After": "1"}, 2)
	for i, want := range []int{503, 503, 0} {
		_, resp, err := c.Issues.CreateComment(ctx, "o", "r", 1, &gh.IssueComment{Body: gh.String("x")})
		if status(err) != want {
			t.Fatalf("call %d: err = %v, want status %d", i, err, want)
		}
		if want != 0 && resp.Header.Get("Retry-After") != "1" {
			t.Errorf("call %d: Retry-After = %q", i, resp.Header.Get("Retry-After"))
		}
	}
	if n := len(s.Comments("o", "r", 1)); n != 1 {
		t.Errorf("%d comments, want 1 (failed calls change nothing)", n)
	}
	want := []string{"POST /repos/o/r/issues/1/comments", "POST /repos/o/r/issues/1/comments", "POST /repos/o/r/issues/1/comments"}
	if diff := cmp.Diff(want, s.Requests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestDelayHonoursCancel(t *testing.T) {
	s, c := setup(t, writer)
	s.Delay(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, _, err := c.Issues.ListComments(ctx, "o", "r", 1, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want DeadlineExceeded", err)
	}
}

// errTB records Errorf instead of failing, to test the loud failure.
type errTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (e *errTB) Errorf(format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.errs = append(e.errs, fmt.Sprintf(format, args...))
}

func TestAbsolutePathFailsLoudly(t *testing.T) {
	tb := &errTB{TB: t}
	s := New(tb)
	resp, err := http.Get(s.ServerURL() + "/repos/o/r/issues/1/comments")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if resp.StatusCode != 404 || len(tb.errs) != 1 || !strings.Contains(tb.errs[0], "outside /api/v3/") {
		t.Errorf("status %d, errors %q", resp.StatusCode, tb.errs)
	}
}
