package gitlab

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/mlci/mlci/internal/forge"
)

var (
	_ forge.IssueTracker    = (*Forge)(nil)
	_ forge.ChangeRequester = (*Forge)(nil)
)

// MaxBodyChars is GitLab's limit on a note, issue or merge request
// description.
func (f *Forge) MaxBodyChars() int { return maxNoteChars }

// FindIssues lists the project's issues with label, open and closed, oldest
// first, and keeps those whose description holds marker. GitLab's search
// (search=, in=description) matches words, not an HTML comment verbatim,
// so the label narrows the list and the marker is checked here. Any author
// counts, as on GitHub: a new token still finds the issue an old one opened.
func (f *Forge) FindIssues(ctx context.Context, label, marker string) ([]forge.Issue, error) {
	opt := &gl.ListProjectIssuesOptions{
		ListOptions: gl.ListOptions{PerPage: 100, Page: 1},
		Labels:      &gl.LabelOptions{label},
		OrderBy:     gl.Ptr("created_at"),
		Sort:        gl.Ptr("asc"),
	}
	var out []forge.Issue
	for range maxPages {
		is, resp, err := f.client.Issues.ListProjectIssues(f.cfg.Project, opt, gl.WithContext(ctx))
		if err != nil {
			return nil, f.issueErr("list issues labelled "+label, err)
		}
		for _, i := range is {
			if strings.Contains(i.Description, marker) {
				out = append(out, issueOf(i))
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	slices.SortFunc(out, func(a, b forge.Issue) int { return int(a.ID - b.ID) })
	return out, nil
}

func (f *Forge) CreateIssue(ctx context.Context, title, body string, labels []string) (forge.Issue, error) {
	if err := tooLong("create issue", body); err != nil {
		return forge.Issue{}, err
	}
	lo := gl.LabelOptions(labels)
	i, _, err := f.client.Issues.CreateIssue(f.cfg.Project, &gl.CreateIssueOptions{Title: &title, Description: &body, Labels: &lo}, gl.WithContext(ctx))
	if err != nil {
		return forge.Issue{}, f.issueErr(fmt.Sprintf("create issue %q", truncate(title, 60)), err)
	}
	return issueOf(i), nil
}

func (f *Forge) UpdateIssue(ctx context.Context, id int64, title, body string) (forge.Issue, error) {
	op := fmt.Sprintf("update issue #%d", id)
	if err := tooLong(op, body); err != nil {
		return forge.Issue{}, err
	}
	return f.editIssue(ctx, op, id, &gl.UpdateIssueOptions{Title: &title, Description: &body})
}

func (f *Forge) CommentIssue(ctx context.Context, id int64, body string) error {
	op := fmt.Sprintf("comment on issue #%d", id)
	if err := tooLong(op, body); err != nil {
		return err
	}
	_, _, err := f.client.Notes.CreateIssueNote(f.cfg.Project, id, &gl.CreateIssueNoteOptions{Body: &body}, gl.WithContext(ctx))
	if err != nil {
		return f.issueErr(op, err)
	}
	return nil
}

// CloseIssue closes the issue; GitLab records no reason, so a duplicate
// closes like any other (the comment before it says why).
func (f *Forge) CloseIssue(ctx context.Context, id int64, _ bool) (forge.Issue, error) {
	return f.editIssue(ctx, fmt.Sprintf("close issue #%d", id), id, &gl.UpdateIssueOptions{StateEvent: gl.Ptr("close")})
}

func (f *Forge) ReopenIssue(ctx context.Context, id int64) (forge.Issue, error) {
	return f.editIssue(ctx, fmt.Sprintf("reopen issue #%d", id), id, &gl.UpdateIssueOptions{StateEvent: gl.Ptr("reopen")})
}

func (f *Forge) editIssue(ctx context.Context, op string, id int64, opt *gl.UpdateIssueOptions) (forge.Issue, error) {
	i, _, err := f.client.Issues.UpdateIssue(f.cfg.Project, id, opt, gl.WithContext(ctx))
	if err != nil {
		return forge.Issue{}, f.issueErr(op, err)
	}
	return issueOf(i), nil
}

func issueOf(i *gl.Issue) forge.Issue {
	out := forge.Issue{ID: i.IID, Title: i.Title, Body: i.Description, Open: i.State == "opened",
		Labels: slices.Clone([]string(i.Labels)), URL: i.WebURL}
	if i.Author != nil {
		out.Author = i.Author.Username
	}
	return out
}

// FindOpenChange asks for the opened merge requests from head to base;
// there is at most one, as GitLab refuses a second.
func (f *Forge) FindOpenChange(ctx context.Context, head, base string) (forge.Change, bool, error) {
	opt := &gl.ListProjectMergeRequestsOptions{
		ListOptions:  gl.ListOptions{PerPage: 100, Page: 1},
		State:        gl.Ptr("opened"),
		SourceBranch: &head,
		TargetBranch: &base,
	}
	mrs, _, err := f.client.MergeRequests.ListProjectMergeRequests(f.cfg.Project, opt, gl.WithContext(ctx))
	if err != nil {
		return forge.Change{}, false, f.changeErr(fmt.Sprintf("list open merge requests from %s to %s", head, base), err)
	}
	if len(mrs) == 0 {
		return forge.Change{}, false, nil
	}
	oldest := slices.MinFunc(mrs, func(a, b *gl.BasicMergeRequest) int { return int(a.IID - b.IID) })
	return changeOf(oldest), true, nil
}

// OpenChange opens a merge request. GitLab's 409 "Another open merge
// request already exists" comes back as forge.ErrChangeExists too.
func (f *Forge) OpenChange(ctx context.Context, head, base, title, body string) (forge.Change, error) {
	op := fmt.Sprintf("open merge request from %s to %s", head, base)
	if err := tooLong(op, body); err != nil {
		return forge.Change{}, err
	}
	mr, _, err := f.client.MergeRequests.CreateMergeRequest(f.cfg.Project, &gl.CreateMergeRequestOptions{
		Title: &title, Description: &body, SourceBranch: &head, TargetBranch: &base}, gl.WithContext(ctx))
	if err != nil {
		err = f.changeErr(op, err)
		if Status(err) == http.StatusConflict {
			return forge.Change{}, fmt.Errorf("%w: %w", forge.ErrChangeExists, err)
		}
		return forge.Change{}, err
	}
	return changeOf(&mr.BasicMergeRequest), nil
}

func (f *Forge) UpdateChange(ctx context.Context, id int64, title, body string) (forge.Change, error) {
	op := fmt.Sprintf("update merge request !%d", id)
	if err := tooLong(op, body); err != nil {
		return forge.Change{}, err
	}
	mr, _, err := f.client.MergeRequests.UpdateMergeRequest(f.cfg.Project, id, &gl.UpdateMergeRequestOptions{
		Title: &title, Description: &body}, gl.WithContext(ctx))
	if err != nil {
		return forge.Change{}, f.changeErr(op, err)
	}
	return changeOf(&mr.BasicMergeRequest), nil
}

func changeOf(mr *gl.BasicMergeRequest) forge.Change {
	c := forge.Change{ID: mr.IID, Title: mr.Title, Body: mr.Description, Head: mr.SourceBranch, Base: mr.TargetBranch, URL: mr.WebURL}
	if mr.Author != nil {
		c.Author = mr.Author.Username
	}
	return c
}

// tooLong is the safety net for a body over GitLab's limit: forge/tracker
// cuts bodies to MaxBodyChars before they get here.
func tooLong(op, body string) error {
	if n := utf8.RuneCountInString(body); n > maxNoteChars {
		return &Error{Op: op, Kind: ErrRejected,
			Hint: fmt.Sprintf("the text is %d characters, more than GitLab's %d; shorten it", n, maxNoteChars)}
	}
	return nil
}

// issueErr wraps err with what to do about the answers particular to
// issues.
func (f *Forge) issueErr(op string, err error) error {
	err = f.wrap(op, err)
	var e *Error
	if errors.As(err, &e) {
		switch e.Kind {
		case ErrForbidden:
			e.Hint = "the token may not write issues (HTTP 403): use a project access token with api scope and at least the Reporter role"
		case ErrNotFound:
			e.Hint = "project or issue not found (HTTP 404) — does the token have access, and are issues turned on for the project?"
		}
	}
	return err
}

// changeErr wraps err with what to do about the answers particular to
// merge requests.
func (f *Forge) changeErr(op string, err error) error {
	err = f.wrap(op, err)
	var e *Error
	if errors.As(err, &e) {
		switch {
		case e.Kind == ErrForbidden:
			e.Hint = "the token may not open merge requests (HTTP 403): use a project access token with api scope and at least the Developer role"
		case e.Status == http.StatusConflict:
			e.Hint = "GitLab refused a second merge request for the branch (HTTP 409); one is open already"
		case e.Status == http.StatusUnprocessableEntity || e.Status == http.StatusBadRequest:
			e.Hint = fmt.Sprintf("GitLab refused the merge request (HTTP %d): is the source branch pushed, and does it differ from the target?", e.Status)
		}
	}
	return err
}
