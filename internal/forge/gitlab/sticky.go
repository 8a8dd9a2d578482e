package gitlab

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/mlci/mlci/internal/forge"
)

// maxPages stops listing on a server whose pagination never ends.
const maxPages = 1000

// sticky writes body as mode says and returns the note that holds it and
// whether it was left unchanged.
func (f *Forge) sticky(ctx context.Context, mode, marker, body string) (*gl.Note, bool, error) {
	if mode == forge.ModeAppend {
		n, err := f.create(ctx, body)
		return n, false, err
	}
	mine, err := f.stickies(ctx, marker)
	if err != nil {
		return nil, false, err
	}
	if mode == forge.ModeUpdate && len(mine) > 0 {
		keep := mine[0]
		// Extra notes are left by an earlier race that did not finish.
		if err := f.deleteAll(ctx, mine[1:]); err != nil {
			return nil, false, err
		}
		if sameBody(keep.Body, body) {
			return keep, true, nil
		}
		n, err := f.update(ctx, keep.ID, body)
		return n, false, err
	}
	if err := f.deleteAll(ctx, mine); err != nil {
		return nil, false, err
	}
	created, err := f.create(ctx, body)
	if err != nil {
		return nil, false, err
	}
	n, err := f.settle(ctx, marker, body, created)
	return n, false, err
}

// settleAttempts bounds how often settle lists again while concurrent
// posters keep changing the notes.
const settleAttempts = 4

// settle resolves the race where several jobs (a retried job, or pipelines
// of one merge request) post at once: each lists again after its create and
// keeps the oldest note, so all converge on the same one. Because another
// poster's delete may land after that list, a poster that saw contention
// looks once more, and posts again if everything it saw is gone.
func (f *Forge) settle(ctx context.Context, marker, body string, created *gl.Note) (*gl.Note, error) {
	keep := created
	for range settleAttempts {
		mine, err := f.stickies(ctx, marker)
		if err != nil {
			return nil, err
		}
		switch {
		case len(mine) == 0:
			// Deleted under us by a concurrent recreate.
			if created, err = f.create(ctx, body); err != nil {
				return nil, err
			}
			keep = created
			continue
		case len(mine) == 1 && (mine[0].ID == created.ID || sameBody(mine[0].Body, body)):
			return mine[0], nil
		}
		// Update the kept note before deleting the others (ours among
		// them): if it vanishes meanwhile, ours is still there.
		keep = mine[0]
		if keep.ID != created.ID && !sameBody(keep.Body, body) {
			n, err := f.update(ctx, keep.ID, body)
			switch {
			case status(err) == http.StatusNotFound:
				continue
			case err != nil:
				return nil, err
			}
			keep = n
		}
		if err := f.deleteAll(ctx, mine[1:]); err != nil {
			return nil, err
		}
	}
	return keep, nil
}

// stickies lists, oldest first, the non-system notes by the token's user
// that carry marker, over every page: a busy merge request has hundreds.
func (f *Forge) stickies(ctx context.Context, marker string) ([]*gl.Note, error) {
	me, err := f.user(ctx)
	if err != nil {
		return nil, err
	}
	opt := &gl.ListMergeRequestNotesOptions{
		ListOptions: gl.ListOptions{PerPage: 100, Page: 1},
		OrderBy:     gl.Ptr("created_at"),
		Sort:        gl.Ptr("asc"),
	}
	var mine []*gl.Note
	for range maxPages {
		notes, resp, err := f.client.Notes.ListMergeRequestNotes(f.cfg.Project, f.iid, opt, gl.WithContext(ctx))
		if err != nil {
			return nil, f.wrap("list merge request notes", err)
		}
		for _, n := range notes {
			if !n.System && n.Author.ID == me.ID && strings.Contains(n.Body, marker) {
				mine = append(mine, n)
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	// Ids grow with creation, unlike created_at, which can tie.
	slices.SortFunc(mine, func(a, b *gl.Note) int { return cmp.Compare(a.ID, b.ID) })
	return mine, nil
}

// user is the token's user, asked once per Forge.
func (f *Forge) user(ctx context.Context) (*gl.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.me != nil {
		return f.me, nil
	}
	u, _, err := f.client.Users.CurrentUser(gl.WithContext(ctx))
	if err != nil {
		return nil, f.wrap("look up the token's user", err)
	}
	f.me = u
	return u, nil
}

func (f *Forge) create(ctx context.Context, body string) (*gl.Note, error) {
	n, _, err := f.client.Notes.CreateMergeRequestNote(f.cfg.Project, f.iid,
		&gl.CreateMergeRequestNoteOptions{Body: gl.Ptr(body)}, gl.WithContext(ctx))
	if err != nil {
		return nil, f.wrap("create merge request note", err)
	}
	return n, nil
}

func (f *Forge) update(ctx context.Context, id int64, body string) (*gl.Note, error) {
	n, _, err := f.client.Notes.UpdateMergeRequestNote(f.cfg.Project, f.iid, id,
		&gl.UpdateMergeRequestNoteOptions{Body: gl.Ptr(body)}, gl.WithContext(ctx))
	if err != nil {
		return nil, f.wrap("update merge request note", err)
	}
	return n, nil
}

// deleteAll deletes notes; one already gone was deleted by a concurrent
// poster settling the same race, which is what we wanted.
func (f *Forge) deleteAll(ctx context.Context, notes []*gl.Note) error {
	for _, n := range notes {
		_, err := f.client.Notes.DeleteMergeRequestNote(f.cfg.Project, f.iid, n.ID, gl.WithContext(ctx))
		if err != nil && status(err) != http.StatusNotFound {
			return f.wrap("delete duplicate merge request note", err)
		}
	}
	return nil
}

// sameBody ignores the trailing whitespace a forge may trim on save.
func sameBody(a, b string) bool {
	return strings.TrimRight(a, " \t\r\n") == strings.TrimRight(b, " \t\r\n")
}
