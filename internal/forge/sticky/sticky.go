// Package sticky keeps one report comment per pull/merge request, found by
// its hidden marker, however many jobs post at once; forges supply a Thread.
package sticky

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/mlci/mlci/internal/forge"
)

// ErrNotFound is what Thread.Edit and Thread.Delete return (wrapped or not)
// for a comment that is gone: a concurrent poster deleted it.
var ErrNotFound = errors.New("comment not found")

// Comment is a comment on a thread. IDs grow in the order comments are
// created, as GitHub's and GitLab's do: the algorithm keeps the newest.
type Comment struct {
	ID   int64
	Body string
	URL  string // the web address to report; "" when unknown
}

// Thread is where a sticky comment lives: a pull request, a merge request
// or a commit. Errors other than ErrNotFound reach Post's caller as they are,
// so they should already say what failed and where.
type Thread interface {
	// List returns the comments written by the token's own identity, from
	// every page, in any order.
	List(ctx context.Context) ([]Comment, error)
	Create(ctx context.Context, body string) (Comment, error)
	Edit(ctx context.Context, id int64, body string) (Comment, error)
	Delete(ctx context.Context, id int64) error
}

// Result says what Post left.
type Result struct {
	// Comment holds the report; the zero Comment in forge.ModeOff.
	Comment Comment
	// Unchanged is set when the comment already held the body and nothing
	// was written.
	Unchanged bool
	// Contended is set when another poster was seen changing the thread's
	// marked comments during this post.
	Contended bool
}

// maxPasses bounds how often a post lists the thread again while other
// posters keep changing it. That one comment is left does not depend on
// it (see Post); the passes make a poster's own answer current.
const maxPasses = 5

// Post writes body, which must contain marker, on th as mode says:
//
//   - forge.ModeUpdate edits the marked comment in place, writing nothing
//     when it already holds body, and creates one when there is none;
//   - forge.ModeRecreate creates a new comment and deletes the older ones;
//   - forge.ModeAppend creates a new comment and deletes nothing;
//   - forge.ModeOff does nothing.
//
// When several posters run at once, in update or recreate mode or a mix of
// the two, they leave exactly one marked comment: the newest. A poster
// deletes a marked comment only when it knows a newer one (listed, or the
// one it just created), so the newest ever created is never deleted; and
// every poster that creates one lists afterwards and deletes the older ones
// it sees, so no older one outlives them. Both need IDs that grow with
// creation and a list that shows every comment; a paginated list that a
// concurrent delete shifts can miss one, and then a duplicate may stay
// until the next post, but never none.
func Post(ctx context.Context, th Thread, mode, marker, body string) (Result, error) {
	if marker == "" || !strings.Contains(body, marker) {
		return Result{}, fmt.Errorf("sticky: the body does not carry its marker %q", marker)
	}
	p := &poster{th: th, marker: marker, body: body}
	switch mode {
	case forge.ModeOff:
		return Result{}, nil
	case forge.ModeAppend:
		c, err := th.Create(ctx, body)
		return Result{Comment: c}, err
	case forge.ModeRecreate:
		if err := p.create(ctx); err != nil {
			return Result{}, err
		}
		return p.settle(ctx)
	case forge.ModeUpdate:
		return p.settle(ctx)
	}
	return Result{}, fmt.Errorf("sticky: unknown comment mode %q: use one of %s", mode, strings.Join(forge.Modes(), ", "))
}

// poster is one Post in progress.
type poster struct {
	th           Thread
	marker, body string

	created Comment // the comment this post created; zero when none
	edited  int64   // the comment this post edited; 0 when none
	// base is the newest marked comment update mode found before writing:
	// newer ones are concurrent posters' reports. 0 when none.
	base      int64
	wrote     bool
	contended bool
}

func (p *poster) create(ctx context.Context) error {
	c, err := p.th.Create(ctx, p.body)
	if err != nil {
		return err
	}
	p.created, p.wrote = c, true
	return nil
}

// settle lists the marked comments, keeps the newest (giving it the body
// when it predates this post) and deletes the rest, until a list shows one.
func (p *poster) settle(ctx context.Context) (Result, error) {
	var keep Comment
	for pass := range maxPasses {
		listed, err := p.find(ctx)
		if err != nil {
			return Result{}, err
		}
		if pass == 0 && p.created.ID == 0 && len(listed) > 0 {
			p.base = listed[len(listed)-1].ID
		}
		if len(listed) == 0 {
			// Update's first post, or everything this poster created was
			// deleted and the list missed the newer one: posting again
			// risks a duplicate that the next post removes, never none.
			p.contended = p.contended || p.created.ID != 0
			if err := p.create(ctx); err != nil {
				return Result{}, err
			}
			keep = p.created
			continue
		}
		found := p.withCreated(listed)
		keep = found[len(found)-1]
		if keep.ID <= p.base && keep.ID != p.edited && !sameBody(keep.Body, p.body) {
			// A comment from before this post: it gets the body. One
			// created during it holds a concurrent poster's report, as
			// new as ours, and is left as it is.
			c, err := p.th.Edit(ctx, keep.ID, p.body)
			switch {
			case errors.Is(err, ErrNotFound):
				p.contended = true
				continue
			case err != nil:
				return Result{}, err
			}
			keep, p.edited, p.wrote = c, c.ID, true
		}
		older := found[:len(found)-1]
		if len(older) == 0 {
			break
		}
		if keep.ID != p.created.ID && p.created.ID != 0 {
			p.contended = true
		}
		if err := p.delete(ctx, older); err != nil {
			return Result{}, err
		}
	}
	return Result{Comment: keep, Unchanged: !p.wrote && sameBody(keep.Body, p.body), Contended: p.contended}, nil
}

// withCreated adds the comment this post created when the list shows only
// older ones: a list may lag a create, and if the comment was deleted
// instead, deleting the others is still justified by it. When the list
// shows a newer one, ours is gone or about to go and is left out.
func (p *poster) withCreated(listed []Comment) []Comment {
	if p.created.ID == 0 || p.created.ID <= listed[len(listed)-1].ID {
		return listed
	}
	return append(slices.Clip(listed), p.created)
}

// find lists the thread's marked comments, oldest first.
func (p *poster) find(ctx context.Context) ([]Comment, error) {
	all, err := p.th.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []Comment
	for _, c := range all {
		if strings.Contains(c.Body, p.marker) {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, byID)
	return out, nil
}

// delete deletes cs; one already gone was deleted by a concurrent poster
// settling the same race, which is what this one wanted too.
func (p *poster) delete(ctx context.Context, cs []Comment) error {
	for _, c := range cs {
		err := p.th.Delete(ctx, c.ID)
		switch {
		case errors.Is(err, ErrNotFound):
			p.contended = true
		case err != nil:
			return err
		}
	}
	return nil
}

func byID(a, b Comment) int { return cmp.Compare(a.ID, b.ID) }

// sameBody ignores what forges change on save: GitHub may hand back CRLF
// line ends, GitLab trims trailing whitespace.
func sameBody(a, b string) bool {
	norm := func(s string) string { return strings.TrimRight(strings.ReplaceAll(s, "\r\n", "\n"), " \t\r\n") }
	return norm(a) == norm(b)
}
