package github

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	gh "github.com/google/go-github/v62/github"

	"github.com/mlci/mlci/internal/forge/sticky"
)

// comment is a PR or commit comment with its author.
type comment struct {
	sticky.Comment
	login string
}

// thread is a place comments live: a pull request or a commit. Errors are
// go-github's, unwrapped; stickyThread wraps them with the operation.
type thread interface {
	list(ctx context.Context) ([]comment, error) // every page, oldest first
	create(ctx context.Context, body string) (comment, error)
	edit(ctx context.Context, id int64, body string) (comment, error)
	remove(ctx context.Context, id int64) error
	String() string // for messages: o/r#3 or o/r@abc1234
}

// perPage is the most GitHub serves per page; fewer pages, fewer calls.
const perPage = 100

type issueThread struct {
	c           *gh.Client
	owner, repo string
	number      int
}

func (t issueThread) String() string { return fmt.Sprintf("%s/%s#%d", t.owner, t.repo, t.number) }

func (t issueThread) list(ctx context.Context) ([]comment, error) {
	return allPages(func(page int) ([]comment, *gh.Response, error) {
		opts := &gh.IssueListCommentsOptions{ListOptions: gh.ListOptions{PerPage: perPage, Page: page}}
		cs, resp, err := t.c.Issues.ListComments(ctx, t.owner, t.repo, t.number, opts)
		return convert(cs, issueComment), resp, err
	})
}

func (t issueThread) create(ctx context.Context, body string) (comment, error) {
	c, _, err := t.c.Issues.CreateComment(ctx, t.owner, t.repo, t.number, &gh.IssueComment{Body: &body})
	return issueComment(c), err
}

func (t issueThread) edit(ctx context.Context, id int64, body string) (comment, error) {
	c, _, err := t.c.Issues.EditComment(ctx, t.owner, t.repo, id, &gh.IssueComment{Body: &body})
	return issueComment(c), err
}

func (t issueThread) remove(ctx context.Context, id int64) error {
	_, err := t.c.Issues.DeleteComment(ctx, t.owner, t.repo, id)
	return err
}

func issueComment(c *gh.IssueComment) comment {
	return comment{sticky.Comment{ID: c.GetID(), Body: c.GetBody(), URL: c.GetHTMLURL()}, c.GetUser().GetLogin()}
}

// allPages calls list for the first page (0: the API's default) and then
// each next page the API names, and returns every item.
func allPages[T any](list func(page int) ([]T, *gh.Response, error)) ([]T, error) {
	var out []T
	for page := 0; ; {
		items, resp, err := list(page)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if resp.NextPage == 0 {
			return out, nil
		}
		page = resp.NextPage
	}
}

func convert[A, B any](in []A, f func(A) B) []B {
	out := make([]B, len(in))
	for i, a := range in {
		out[i] = f(a)
	}
	return out
}

// commitThread holds the report on a push that no pull request contains.
type commitThread struct {
	c           *gh.Client
	owner, repo string
	sha         string
}

func (t commitThread) String() string {
	return fmt.Sprintf("%s/%s@%s", t.owner, t.repo, t.sha[:min(len(t.sha), 12)])
}

func (t commitThread) list(ctx context.Context) ([]comment, error) {
	return allPages(func(page int) ([]comment, *gh.Response, error) {
		cs, resp, err := t.c.Repositories.ListCommitComments(ctx, t.owner, t.repo, t.sha, &gh.ListOptions{PerPage: perPage, Page: page})
		return convert(cs, commitComment), resp, err
	})
}

func (t commitThread) create(ctx context.Context, body string) (comment, error) {
	c, _, err := t.c.Repositories.CreateComment(ctx, t.owner, t.repo, t.sha, &gh.RepositoryComment{Body: &body})
	return commitComment(c), err
}

func (t commitThread) edit(ctx context.Context, id int64, body string) (comment, error) {
	c, _, err := t.c.Repositories.UpdateComment(ctx, t.owner, t.repo, id, &gh.RepositoryComment{Body: &body})
	return commitComment(c), err
}

func (t commitThread) remove(ctx context.Context, id int64) error {
	_, err := t.c.Repositories.DeleteComment(ctx, t.owner, t.repo, id)
	return err
}

func commitComment(c *gh.RepositoryComment) comment {
	return comment{sticky.Comment{ID: c.GetID(), Body: c.GetBody(), URL: c.GetHTMLURL()}, c.GetUser().GetLogin()}
}

// posted is what one sticky post did.
type posted struct {
	url       string
	unchanged bool
}

// sticky applies mode to th; see sticky.Post.
func (f *Forge) sticky(ctx context.Context, th thread, mode, marker, body string) (posted, error) {
	res, err := sticky.Post(ctx, stickyThread{f: f, th: th}, mode, marker, body)
	if err != nil {
		return posted{}, err
	}
	if res.Contended {
		f.log.InfoContext(ctx, "another job posted the same report at the same time; kept the newest comment",
			"thread", th.String(), "kept", res.Comment.ID)
	}
	return posted{url: res.Comment.URL, unchanged: res.Unchanged}, nil
}

// stickyThread is th as sticky.Post sees it: only the token's own comments,
// errors wrapped into *Error, a 404 on one comment also sticky.ErrNotFound.
type stickyThread struct {
	f  *Forge
	th thread
}

func (s stickyThread) List(ctx context.Context) ([]sticky.Comment, error) {
	mine, err := s.f.identity(ctx)
	if err != nil {
		return nil, err
	}
	all, err := s.th.list(ctx)
	if err != nil {
		return nil, s.f.wrap("list comments on "+s.th.String(), err)
	}
	var out []sticky.Comment
	for _, c := range all {
		if mine(c.login) {
			out = append(out, c.Comment)
		}
	}
	return out, nil
}

func (s stickyThread) Create(ctx context.Context, body string) (sticky.Comment, error) {
	c, err := s.th.create(ctx, body)
	return c.Comment, s.f.wrap("create comment on "+s.th.String(), err)
}

func (s stickyThread) Edit(ctx context.Context, id int64, body string) (sticky.Comment, error) {
	c, err := s.th.edit(ctx, id, body)
	return c.Comment, s.gone(fmt.Sprintf("edit comment %d on %s", id, s.th), err)
}

func (s stickyThread) Delete(ctx context.Context, id int64) error {
	return s.gone(fmt.Sprintf("delete comment %d on %s", id, s.th), s.th.remove(ctx, id))
}

// gone wraps err, marking a 404 as sticky.ErrNotFound: the comment was
// deleted by a concurrent job.
func (s stickyThread) gone(op string, err error) error {
	if Status(err) == http.StatusNotFound {
		return fmt.Errorf("%w: %w", sticky.ErrNotFound, s.f.wrap(op, err))
	}
	return s.f.wrap(op, err)
}

// identity says which comment authors are us. A user token knows its login
// (GET /user). An App installation token, GITHUB_TOKEN included, gets
// 403/404 there; then any "[bot]" author counts, github-actions[bot] among
// them: the marker is specific enough that no other bot carries it, and
// an App cannot learn its own bot login without another token.
func (f *Forge) identity(ctx context.Context) (func(login string) bool, error) {
	f.idMu.Lock()
	defer f.idMu.Unlock()
	if !f.idKnown {
		u, _, err := f.client.Users.Get(ctx, "")
		switch st := Status(err); {
		case err == nil:
			f.login = u.GetLogin()
		case st == http.StatusForbidden || st == http.StatusNotFound:
			f.log.DebugContext(ctx, "token has no user (an App installation token); treating [bot] authors as us")
		default:
			return nil, f.wrap("get the token's user", err)
		}
		f.idKnown = true
	}
	if login := f.login; login != "" {
		return func(l string) bool { return strings.EqualFold(l, login) }, nil
	}
	return func(l string) bool { return l == "github-actions[bot]" || strings.HasSuffix(l, "[bot]") }, nil
}
