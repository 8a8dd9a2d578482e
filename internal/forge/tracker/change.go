package tracker

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/mlci/mlci/internal/forge"
)

// ChangeResult says what EnsureChange left.
type ChangeResult struct {
	Action Action // Created, Updated or Unchanged
	Change forge.Change
	// Truncated is set when the body was cut to the forge's limit.
	Truncated bool
	// Notes are the forge's one-line explanations (forge.Change.Notes).
	Notes []string
}

// EnsureChange keeps one open pull/merge request from head to base: it
// updates the open one, or opens one. When another job opens it between
// the look and the open, the forge refuses a second (forge.ErrChangeExists)
// and EnsureChange updates that one instead, so there are never two.
// Pushing head is the caller's, before this.
func EnsureChange(ctx context.Context, c forge.ChangeRequester, head, base, title, body string) (ChangeResult, error) {
	switch {
	case head == "" || base == "":
		return ChangeResult{}, fmt.Errorf("tracker: a pull/merge request needs a head and a base branch (got %q and %q)", head, base)
	case head == base:
		return ChangeResult{}, fmt.Errorf("tracker: head and base are both %q; push the refit to a branch of its own", head)
	case strings.TrimSpace(title) == "":
		return ChangeResult{}, errors.New("tracker: the pull/merge request needs a title")
	}
	full, cut := fit(body, "", c.MaxBodyChars())
	res := ChangeResult{Truncated: cut}

	cur, ok, err := c.FindOpenChange(ctx, head, base)
	if err != nil {
		return res, err
	}
	if !ok {
		opened, err := c.OpenChange(ctx, head, base, title, full)
		switch {
		case err == nil:
			res.Action, res.Change, res.Notes = Created, opened, opened.Notes
			return res, nil
		case !errors.Is(err, forge.ErrChangeExists):
			return res, err
		}
		if cur, ok, err = c.FindOpenChange(ctx, head, base); err != nil {
			return res, err
		}
		if !ok {
			return res, fmt.Errorf("tracker: the forge says a pull/merge request from %s to %s exists, but none is listed open: %w", head, base, forge.ErrChangeExists)
		}
	}
	res.Action, res.Change = Unchanged, cur
	if strings.TrimSpace(cur.Title) != strings.TrimSpace(title) || !sameBody(cur.Body, full) {
		if res.Change, err = c.UpdateChange(ctx, cur.ID, title, full); err != nil {
			return res, err
		}
		res.Action = Updated
	}
	res.Notes = res.Change.Notes
	return res, nil
}
