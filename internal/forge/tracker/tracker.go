// Package tracker keeps one forge issue per key (a model's drift) and one
// open pull/merge request per branch, however many jobs run at once; the
// forges supply forge.IssueTracker and forge.ChangeRequester.
package tracker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/mlci/mlci/internal/forge"
)

// DriftLabel is the label of drift issues; it narrows the search for one.
const DriftLabel = "mlci-drift"

// Key names the one issue of a family: Label narrows the search, Name picks
// the issue by the hidden marker in its body.
type Key struct {
	Label string
	Name  string
}

// Drift is the key of model's drift issue.
func Drift(model string) Key { return Key{Label: DriftLabel, Name: model} }

// Marker is the hidden line that identifies the key's issue, e.g.
// "<!-- mlci-drift:churn -->".
func (k Key) Marker() string { return "<!-- " + k.Label + ":" + k.Name + " -->" }

func (k Key) validate() error {
	switch {
	case k.Label == "" || k.Name == "":
		return fmt.Errorf("tracker: key %q:%q needs a label and a name", k.Label, k.Name)
	case strings.ContainsAny(k.Label, ", \t\r\n"):
		// Both forges take a comma-separated label list.
		return fmt.Errorf("tracker: label %q holds a comma or a space; use one word like %s", k.Label, DriftLabel)
	case strings.ContainsAny(k.Name, "\r\n>") || strings.Contains(k.Name, "--"):
		// The name goes inside an HTML comment.
		return fmt.Errorf("tracker: name %q holds a line break, '>' or '--', which would end the hidden marker", k.Name)
	}
	return nil
}

// Action says what Sync or EnsureChange did.
type Action string

const (
	None      Action = "none"      // nothing to do: no open issue to close
	Unchanged Action = "unchanged" // the issue or change already said this
	Created   Action = "created"
	Updated   Action = "updated"
	Reopened  Action = "reopened" // a closed issue came back, with the new body
	Closed    Action = "closed"
)

// Result says what Sync left.
type Result struct {
	Action Action
	// Issue is the key's issue as left; the zero Issue when Action is None.
	Issue forge.Issue
	// Duplicates are the issues this sync closed as duplicates of Issue:
	// another job created one at the same time.
	Duplicates []int64
	// Truncated is set when the body was cut to the forge's limit.
	Truncated bool
}

// URL is the issue's web page, "" when there is none.
func (r Result) URL() string { return r.Issue.URL }

// Sync keeps one issue for key. When open, the body (with the key's marker
// appended) goes on the key's issue: an open one is updated, a closed one
// reopened and updated, and only when none exists, open or closed, is one
// created with the key's label. When not open, an open issue gets body as a
// comment (a default line when body is "") and is closed; without one,
// nothing happens. The title is used only when open.
//
// Two jobs at once: neither forge creates an issue only if absent, so both
// may create one. After creating, Sync lists again and keeps the oldest
// issue with the marker, closing the newer as a duplicate; the job whose
// issue was closed writes its body on the oldest instead. A list that lags
// a create can hide the other job's issue from both; then the next Sync of
// the key closes it, as every Sync keeps the oldest and closes the other
// open ones.
func Sync(ctx context.Context, t forge.IssueTracker, key Key, title, body string, open bool) (Result, error) {
	if err := key.validate(); err != nil {
		return Result{}, err
	}
	marker := key.Marker()
	found, err := find(ctx, t, key)
	if err != nil {
		return Result{}, err
	}
	if !open {
		return closeAll(ctx, t, found, body)
	}
	if strings.TrimSpace(title) == "" {
		return Result{}, errors.New("tracker: the issue needs a title")
	}
	full, cut := fit(body, "\n\n"+marker, t.MaxBodyChars())
	res := Result{Truncated: cut}

	var created forge.Issue
	if len(found) == 0 {
		if created, err = t.CreateIssue(ctx, title, full, []string{key.Label}); err != nil {
			return Result{}, err
		}
		if found, err = find(ctx, t, key); err != nil {
			return Result{}, err
		}
		if !slices.ContainsFunc(found, func(i forge.Issue) bool { return i.ID == created.ID }) {
			// The list lags the create; the issue is there all the same.
			found = append(found, created)
			slices.SortFunc(found, byID)
		}
	}
	keep := found[0]
	if res.Duplicates, err = closeDuplicates(ctx, t, keep, found[1:]); err != nil {
		return res, err
	}
	if keep.ID == created.ID {
		res.Action, res.Issue = Created, created
		return res, nil
	}
	res.Action, res.Issue = Unchanged, keep
	if strings.TrimSpace(keep.Title) != strings.TrimSpace(title) || !sameBody(keep.Body, full) {
		if res.Issue, err = t.UpdateIssue(ctx, keep.ID, title, full); err != nil {
			return res, err
		}
		res.Action = Updated
	}
	if !keep.Open {
		if res.Issue, err = t.ReopenIssue(ctx, keep.ID); err != nil {
			return res, err
		}
		res.Action = Reopened
	}
	return res, nil
}

// defaultResolved is the closing comment when Sync is given none.
const defaultResolved = "Resolved: mlci closed this issue."

// closeAll closes every open issue of the key, the oldest with comment, the
// others as its duplicates.
func closeAll(ctx context.Context, t forge.IssueTracker, found []forge.Issue, comment string) (Result, error) {
	var res Result
	i := slices.IndexFunc(found, func(i forge.Issue) bool { return i.Open })
	if i < 0 {
		res.Action = None
		if len(found) > 0 {
			res.Issue = found[0]
		}
		return res, nil
	}
	keep := found[i]
	if strings.TrimSpace(comment) == "" {
		comment = defaultResolved
	}
	comment, _ = fit(comment, "", t.MaxBodyChars())
	if err := t.CommentIssue(ctx, keep.ID, comment); err != nil {
		return res, err
	}
	closed, err := t.CloseIssue(ctx, keep.ID, false)
	if err != nil {
		return res, err
	}
	res.Action, res.Issue = Closed, closed
	res.Duplicates, err = closeDuplicates(ctx, t, keep, found[i+1:])
	return res, err
}

// closeDuplicates closes the open issues of dups, saying which one they
// repeat. Another job settling the same race may close them too; closing
// a closed issue is harmless on both forges.
func closeDuplicates(ctx context.Context, t forge.IssueTracker, keep forge.Issue, dups []forge.Issue) ([]int64, error) {
	var out []int64
	for _, d := range dups {
		if !d.Open {
			continue
		}
		msg := fmt.Sprintf("Duplicate of %s: two mlci jobs opened this issue at once; the older one is kept.", ref(keep))
		if err := t.CommentIssue(ctx, d.ID, msg); err != nil {
			return out, err
		}
		if _, err := t.CloseIssue(ctx, d.ID, true); err != nil {
			return out, err
		}
		out = append(out, d.ID)
	}
	return out, nil
}

// ref names an issue in a comment; both forges link "#N" to the issue of
// the same repository or project.
func ref(i forge.Issue) string { return fmt.Sprintf("#%d", i.ID) }

// find lists the key's issues, oldest first, checking the marker and label
// again: the interface promises it, but a forge's search is no contract.
func find(ctx context.Context, t forge.IssueTracker, key Key) ([]forge.Issue, error) {
	all, err := t.FindIssues(ctx, key.Label, key.Marker())
	if err != nil {
		return nil, err
	}
	var out []forge.Issue
	for _, i := range all {
		if strings.Contains(i.Body, key.Marker()) {
			out = append(out, i)
		}
	}
	slices.SortFunc(out, byID)
	return out, nil
}

func byID(a, b forge.Issue) int {
	switch {
	case a.ID < b.ID:
		return -1
	case a.ID > b.ID:
		return 1
	}
	return 0
}

// cutNote ends a body cut to the forge's limit.
const cutNote = "\n\n_mlci cut this text to the forge's limit of %d characters; the full report is in the job's output._"

// fit returns body+tail, cutting body so that the whole stays within limit
// characters (0: no limit) and saying so in the text. The tail (the marker)
// always survives, or the next run could not find the issue.
func fit(body, tail string, limit int) (string, bool) {
	if limit <= 0 || utf8.RuneCountInString(body)+utf8.RuneCountInString(tail) <= limit {
		return body + tail, false
	}
	note := fmt.Sprintf(cutNote, limit)
	keep := max(limit-utf8.RuneCountInString(note)-utf8.RuneCountInString(tail), 0)
	return string([]rune(body)[:keep]) + note + tail, true
}

// sameBody ignores what forges change on save: GitHub may hand back CRLF
// line ends, GitLab trims trailing whitespace.
func sameBody(a, b string) bool {
	norm := func(s string) string { return strings.TrimRight(strings.ReplaceAll(s, "\r\n", "\n"), " \t\r\n") }
	return norm(a) == norm(b)
}
