package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	gh "github.com/google/go-github/v62/github"

	"github.com/mlci/mlci/internal/forge"
)

var (
	_ forge.IssueTracker    = (*Forge)(nil)
	_ forge.ChangeRequester = (*Forge)(nil)
)

// ActionsBot is the author GitHub shows for what GITHUB_TOKEN creates.
const ActionsBot = "github-actions[bot]"

// NoteActionsToken explains why a refit pull request shows no checks.
const NoteActionsToken = "the pull request was opened with GITHUB_TOKEN, whose events start no workflow: its checks will not run until someone pushes to it; give mlci a GitHub App token or a fine-grained PAT (MLCI_GITHUB_TOKEN) so they do"

// MaxBodyChars is GitHub's limit on an issue, pull request or comment body.
func (f *Forge) MaxBodyChars() int { return MaxCommentLength }

// FindIssues lists the issues with label, open and closed, oldest first,
// and keeps those whose body holds marker. The issues API lists pull
// requests too; they are skipped. Any author counts: labels on GitHub are
// set only by people with triage rights, so label and marker together are
// specific, and a new token (a PAT replacing GITHUB_TOKEN) finds the issue
// the old one opened.
func (f *Forge) FindIssues(ctx context.Context, label, marker string) ([]forge.Issue, error) {
	all, err := allPages(func(page int) ([]*gh.Issue, *gh.Response, error) {
		return f.client.Issues.ListByRepo(ctx, f.owner, f.repo, &gh.IssueListByRepoOptions{
			State: "all", Labels: []string{label}, Sort: "created", Direction: "asc",
			ListOptions: gh.ListOptions{PerPage: perPage, Page: page},
		})
	})
	if err != nil {
		return nil, f.issueErr("list issues labelled "+label, err)
	}
	var out []forge.Issue
	for _, i := range all {
		if !i.IsPullRequest() && strings.Contains(i.GetBody(), marker) {
			out = append(out, issueOf(i))
		}
	}
	slices.SortFunc(out, func(a, b forge.Issue) int { return int(a.ID - b.ID) })
	return out, nil
}

func (f *Forge) CreateIssue(ctx context.Context, title, body string, labels []string) (forge.Issue, error) {
	if err := tooLong("create issue", body); err != nil {
		return forge.Issue{}, err
	}
	i, _, err := f.client.Issues.Create(ctx, f.owner, f.repo, &gh.IssueRequest{Title: &title, Body: &body, Labels: &labels})
	if err != nil {
		return forge.Issue{}, f.issueErr("create issue "+quote(title), err)
	}
	return issueOf(i), nil
}

func (f *Forge) UpdateIssue(ctx context.Context, id int64, title, body string) (forge.Issue, error) {
	op := fmt.Sprintf("update issue #%d", id)
	if err := tooLong(op, body); err != nil {
		return forge.Issue{}, err
	}
	return f.editIssue(ctx, op, id, &gh.IssueRequest{Title: &title, Body: &body})
}

func (f *Forge) CommentIssue(ctx context.Context, id int64, body string) error {
	op := fmt.Sprintf("comment on issue #%d", id)
	if err := tooLong(op, body); err != nil {
		return err
	}
	_, _, err := f.client.Issues.CreateComment(ctx, f.owner, f.repo, int(id), &gh.IssueComment{Body: &body})
	return f.issueErr(op, err)
}

// CloseIssue closes as "completed", or as "not planned" for a duplicate,
// so the issue list tells the two apart.
func (f *Forge) CloseIssue(ctx context.Context, id int64, duplicate bool) (forge.Issue, error) {
	reason := "completed"
	if duplicate {
		reason = "not_planned"
	}
	return f.editIssue(ctx, fmt.Sprintf("close issue #%d", id), id, &gh.IssueRequest{State: gh.String("closed"), StateReason: &reason})
}

func (f *Forge) ReopenIssue(ctx context.Context, id int64) (forge.Issue, error) {
	return f.editIssue(ctx, fmt.Sprintf("reopen issue #%d", id), id, &gh.IssueRequest{State: gh.String("open")})
}

func (f *Forge) editIssue(ctx context.Context, op string, id int64, req *gh.IssueRequest) (forge.Issue, error) {
	i, _, err := f.client.Issues.Edit(ctx, f.owner, f.repo, int(id), req)
	if err != nil {
		return forge.Issue{}, f.issueErr(op, err)
	}
	return issueOf(i), nil
}

func issueOf(i *gh.Issue) forge.Issue {
	out := forge.Issue{ID: int64(i.GetNumber()), Title: i.GetTitle(), Body: i.GetBody(), Open: i.GetState() == "open",
		URL: i.GetHTMLURL(), Author: i.GetUser().GetLogin()}
	for _, l := range i.Labels {
		out.Labels = append(out.Labels, l.GetName())
	}
	return out
}

// FindOpenChange asks for the open pull requests from head (a branch of
// this repository) to base; there is at most one, as GitHub refuses a
// second.
func (f *Forge) FindOpenChange(ctx context.Context, head, base string) (forge.Change, bool, error) {
	prs, err := allPages(func(page int) ([]*gh.PullRequest, *gh.Response, error) {
		return f.client.PullRequests.List(ctx, f.owner, f.repo, &gh.PullRequestListOptions{
			State: "open", Head: f.owner + ":" + head, Base: base,
			ListOptions: gh.ListOptions{PerPage: perPage, Page: page},
		})
	})
	if err != nil {
		return forge.Change{}, false, f.changeErr(fmt.Sprintf("list open pull requests from %s to %s", head, base), err)
	}
	if len(prs) == 0 {
		return forge.Change{}, false, nil
	}
	oldest := slices.MinFunc(prs, func(a, b *gh.PullRequest) int { return a.GetNumber() - b.GetNumber() })
	return changeOf(oldest), true, nil
}

// OpenChange opens a pull request. GitHub's 422 "A pull request already
// exists" comes back as forge.ErrChangeExists too.
func (f *Forge) OpenChange(ctx context.Context, head, base, title, body string) (forge.Change, error) {
	op := fmt.Sprintf("open pull request from %s to %s", head, base)
	if err := tooLong(op, body); err != nil {
		return forge.Change{}, err
	}
	pr, _, err := f.client.PullRequests.Create(ctx, f.owner, f.repo, &gh.NewPullRequest{Title: &title, Head: &head, Base: &base, Body: &body})
	if err != nil {
		err = f.changeErr(op, err)
		var e *Error
		if errors.As(err, &e) && e.Status == http.StatusUnprocessableEntity && strings.Contains(e.Message, "already exists") {
			return forge.Change{}, fmt.Errorf("%w: %w", forge.ErrChangeExists, err)
		}
		return forge.Change{}, err
	}
	return changeOf(pr), nil
}

func (f *Forge) UpdateChange(ctx context.Context, id int64, title, body string) (forge.Change, error) {
	op := fmt.Sprintf("update pull request #%d", id)
	if err := tooLong(op, body); err != nil {
		return forge.Change{}, err
	}
	pr, _, err := f.client.PullRequests.Edit(ctx, f.owner, f.repo, int(id), &gh.PullRequest{Title: &title, Body: &body})
	if err != nil {
		return forge.Change{}, f.changeErr(op, err)
	}
	return changeOf(pr), nil
}

func changeOf(pr *gh.PullRequest) forge.Change {
	c := forge.Change{ID: int64(pr.GetNumber()), Title: pr.GetTitle(), Body: pr.GetBody(),
		Head: pr.GetHead().GetRef(), Base: pr.GetBase().GetRef(), URL: pr.GetHTMLURL(), Author: pr.GetUser().GetLogin()}
	if c.Author == ActionsBot {
		c.Notes = append(c.Notes, NoteActionsToken)
	}
	return c
}

// tooLong is the safety net for a body over GitHub's limit: forge/tracker
// cuts bodies to MaxBodyChars before they get here.
func tooLong(op, body string) error {
	if n := utf8.RuneCountInString(body); n > MaxCommentLength {
		return &Error{Op: op, Kind: ErrTooLong,
			Hint: fmt.Sprintf("the text is %d characters, more than GitHub's %d; shorten it", n, MaxCommentLength)}
	}
	return nil
}

// issueErr wraps err with what to do about the answers particular to
// issues.
func (f *Forge) issueErr(op string, err error) error {
	err = f.wrap(op, err)
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	switch {
	case e.Kind == ErrForbidden:
		e.Hint = "the token may not write issues (HTTP 403); give the job `permissions: issues: write`"
	case e.Status == http.StatusGone:
		e.Hint = fmt.Sprintf("issues are turned off for %s/%s (HTTP 410); turn them on in the repository's settings", f.owner, f.repo)
	case e.Kind == ErrNotFound:
		e.Hint = fmt.Sprintf("repository or issue not found (HTTP 404) — does the token have access to %s/%s?", f.owner, f.repo)
	}
	return e
}

// changeErr wraps err with what to do about the answers particular to
// opening pull requests.
func (f *Forge) changeErr(op string, err error) error {
	err = f.wrap(op, err)
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	switch {
	case e.Kind == ErrForbidden && strings.Contains(e.Message, "not permitted to create or approve pull requests"):
		e.Hint = "GITHUB_TOKEN may not open pull requests here (HTTP 403): allow it in Settings → Actions → General → \"Allow GitHub Actions to create and approve pull requests\", or give mlci an App token or PAT (MLCI_GITHUB_TOKEN), whose pull requests also start workflows"
	case e.Kind == ErrForbidden:
		e.Hint = "the token may not open pull requests (HTTP 403); give the job `permissions: pull-requests: write, contents: write`"
	case e.Status == http.StatusUnprocessableEntity && strings.Contains(e.Message, "already exists"):
		e.Hint = "GitHub refused a second pull request for the branch (HTTP 422); one is open already"
	case e.Status == http.StatusUnprocessableEntity:
		e.Hint = "GitHub refused the pull request (HTTP 422): is the head branch pushed, and does it differ from the base?"
	}
	return e
}

// quote is s shortened for a message.
func quote(s string) string { return fmt.Sprintf("%q", truncate(s, 60)) }
