package github

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	gh "github.com/google/go-github/v62/github"

	"github.com/mlci/mlci/internal/forge"
)

// comment is what the sticky logic needs of a PR or commit comment.
type comment struct {
	id          int64
	login, body string
	url         string
}

// thread is a place comments live: a pull request or a commit. Errors are
// go-github's, unwrapped; the sticky logic wraps them with the operation.
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
	return comment{id: c.GetID(), login: c.GetUser().GetLogin(), body: c.GetBody(), url: c.GetHTMLURL()}
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
	return comment{id: c.GetID(), login: c.GetUser().GetLogin(), body: c.GetBody(), url: c.GetHTMLURL()}
}

// posted is what one sticky post did.
type posted struct {
	url       string
	unchanged bool
}

// sticky applies mode to th. Update and recreate converge on one comment:
// after creating, they re-list and keep the oldest marked comment, so two
// jobs racing on the same PR leave exactly one.
func (f *Forge) sticky(ctx context.Context, th thread, mode, marker, body string) (posted, error) {
	if mode == forge.ModeAppend {
		c, err := th.create(ctx, body)
		if err != nil {
			return posted{}, f.wrap("create comment on "+th.String(), err)
		}
		return posted{url: c.url}, nil
	}
	found, err := f.find(ctx, th, marker)
	if err != nil {
		return posted{}, err
	}
	if mode == forge.ModeUpdate && len(found) > 0 {
		keep := found[0]
		unchanged := sameBody(keep.body, body)
		if !unchanged {
			edited, err := th.edit(ctx, keep.id, body)
			switch {
			case status(err) == http.StatusNotFound:
				// Deleted under us (a racing recreate): post afresh.
				return f.createAndSettle(ctx, th, marker, body)
			case err != nil:
				return posted{}, f.wrap(fmt.Sprintf("edit comment %d on %s", keep.id, th), err)
			}
			keep = edited
		}
		if err := f.removeAll(ctx, th, found[1:]); err != nil {
			return posted{}, err
		}
		return posted{url: keep.url, unchanged: unchanged}, nil
	}
	if mode == forge.ModeRecreate {
		if err := f.removeAll(ctx, th, found); err != nil {
			return posted{}, err
		}
	}
	return f.createAndSettle(ctx, th, marker, body)
}

// createAndSettle creates the comment, then resolves a race with another
// job: the oldest marked comment wins and carries our body; the rest go.
func (f *Forge) createAndSettle(ctx context.Context, th thread, marker, body string) (posted, error) {
	created, err := th.create(ctx, body)
	if err != nil {
		return posted{}, f.wrap("create comment on "+th.String(), err)
	}
	for attempt := 1; ; attempt++ {
		found, err := f.find(ctx, th, marker)
		if err != nil {
			return posted{}, err
		}
		switch len(found) {
		case 0: // a list that lags the create
			return posted{url: created.url}, nil
		case 1: // ours, or a racing recreate's that replaced ours
			return posted{url: found[0].url}, nil
		}
		keep := found[0]
		f.log.InfoContext(ctx, "another job posted the same report; keeping the oldest comment",
			"thread", th.String(), "kept", keep.id, "removing", len(found)-1)
		if keep.id != created.id && !sameBody(keep.body, body) {
			edited, err := th.edit(ctx, keep.id, body)
			if status(err) == http.StatusNotFound && attempt < settleAttempts {
				// A concurrent recreate deleted it between list and edit.
				continue
			}
			if err != nil {
				return posted{}, f.wrap(fmt.Sprintf("edit comment %d on %s", keep.id, th), err)
			}
			keep = edited
		}
		if err := f.removeAll(ctx, th, found[1:]); err != nil {
			return posted{}, err
		}
		return posted{url: keep.url}, nil
	}
}

// settleAttempts bounds how often createAndSettle re-lists after the
// comment it chose vanished under a concurrent recreate.
const settleAttempts = 3

// find lists th and returns our comments holding marker, oldest first.
func (f *Forge) find(ctx context.Context, th thread, marker string) ([]comment, error) {
	mine, err := f.identity(ctx)
	if err != nil {
		return nil, err
	}
	all, err := th.list(ctx)
	if err != nil {
		return nil, f.wrap("list comments on "+th.String(), err)
	}
	var out []comment
	for _, c := range all {
		if mine(c.login) && strings.Contains(c.body, marker) {
			out = append(out, c)
		}
	}
	return out, nil
}

// removeAll deletes cs; one already gone (a racing job deleted it) is fine.
func (f *Forge) removeAll(ctx context.Context, th thread, cs []comment) error {
	for _, c := range cs {
		if err := th.remove(ctx, c.id); err != nil && status(err) != http.StatusNotFound {
			return f.wrap(fmt.Sprintf("delete comment %d on %s", c.id, th), err)
		}
	}
	return nil
}

// sameBody compares as GitHub stores bodies: it may hand back CRLF.
func sameBody(a, b string) bool {
	return strings.ReplaceAll(a, "\r\n", "\n") == strings.ReplaceAll(b, "\r\n", "\n")
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
		switch st := status(err); {
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
