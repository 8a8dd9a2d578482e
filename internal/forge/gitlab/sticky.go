package gitlab

import (
	"context"
	"fmt"
	"net/http"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/mlci/mlci/internal/forge/sticky"
)

// maxPages stops listing on a server whose pagination never ends.
const maxPages = 1000

// sticky writes body as mode says (see sticky.Post) and returns the note
// that holds it and whether it was left unchanged.
func (f *Forge) sticky(ctx context.Context, mode, marker, body string) (*gl.Note, bool, error) {
	res, err := sticky.Post(ctx, mrNotes{f}, mode, marker, body)
	if err != nil {
		return nil, false, err
	}
	if res.Contended {
		f.log.InfoContext(ctx, "another job posted the same report at the same time; kept the newest note", "note", res.Comment.ID)
	}
	return &gl.Note{ID: res.Comment.ID, Body: res.Comment.Body}, res.Unchanged, nil
}

// mrNotes is the merge request's notes as sticky.Post sees them. Comment
// URLs are left empty: Post links the note from its id.
type mrNotes struct{ f *Forge }

// List returns the non-system notes by the token's user, over every page:
// a busy merge request has hundreds.
func (m mrNotes) List(ctx context.Context) ([]sticky.Comment, error) {
	f := m.f
	me, err := f.user(ctx)
	if err != nil {
		return nil, err
	}
	opt := &gl.ListMergeRequestNotesOptions{
		ListOptions: gl.ListOptions{PerPage: 100, Page: 1},
		OrderBy:     gl.Ptr("created_at"),
		Sort:        gl.Ptr("asc"),
	}
	var mine []sticky.Comment
	for range maxPages {
		notes, resp, err := f.client.Notes.ListMergeRequestNotes(f.cfg.Project, f.iid, opt, gl.WithContext(ctx))
		if err != nil {
			return nil, f.wrap("list merge request notes", err)
		}
		for _, n := range notes {
			if !n.System && n.Author.ID == me.ID {
				mine = append(mine, sticky.Comment{ID: n.ID, Body: n.Body})
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opt.Page = resp.NextPage
	}
	return mine, nil
}

func (m mrNotes) Create(ctx context.Context, body string) (sticky.Comment, error) {
	f := m.f
	n, _, err := f.client.Notes.CreateMergeRequestNote(f.cfg.Project, f.iid,
		&gl.CreateMergeRequestNoteOptions{Body: gl.Ptr(body)}, gl.WithContext(ctx))
	if err != nil {
		return sticky.Comment{}, f.wrap("create merge request note", err)
	}
	return sticky.Comment{ID: n.ID, Body: n.Body}, nil
}

func (m mrNotes) Edit(ctx context.Context, id int64, body string) (sticky.Comment, error) {
	f := m.f
	n, _, err := f.client.Notes.UpdateMergeRequestNote(f.cfg.Project, f.iid, id,
		&gl.UpdateMergeRequestNoteOptions{Body: gl.Ptr(body)}, gl.WithContext(ctx))
	if err != nil {
		return sticky.Comment{}, m.gone(fmt.Sprintf("update merge request note %d", id), err)
	}
	return sticky.Comment{ID: n.ID, Body: n.Body}, nil
}

func (m mrNotes) Delete(ctx context.Context, id int64) error {
	f := m.f
	_, err := f.client.Notes.DeleteMergeRequestNote(f.cfg.Project, f.iid, id, gl.WithContext(ctx))
	if err != nil {
		return m.gone(fmt.Sprintf("delete merge request note %d", id), err)
	}
	return nil
}

// gone wraps err, marking a 404 as sticky.ErrNotFound: the note was deleted
// by a concurrent job.
func (m mrNotes) gone(op string, err error) error {
	if Status(err) == http.StatusNotFound {
		return fmt.Errorf("%w: %w", sticky.ErrNotFound, m.f.wrap(op, err))
	}
	return m.f.wrap(op, err)
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
